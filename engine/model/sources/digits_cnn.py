"""digits-cnn: the zoo's small CNN trained on scikit-learn's digits, with weights that ship with
Neuroscape (weights/digits_cnn.safetensors, trained by scripts/train_digits_cnn.py) -- the default
scene's model, so the first thing a user sees has learned something."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from engine.model import zoo
from engine.model.errors import ModelImportError, first_line
from engine.model.example import generator
from engine.model.inputs import ExampleInputs
from engine.model.source import Built, ModelInfo, ModelSource, register_source, seeded, shipped_file

__all__ = ["WEIGHTS", "build_untrained", "CLASSES"]

WEIGHTS = Path(__file__).resolve().parents[3] / "weights" / "digits_cnn.safetensors"
CLASSES = [str(d) for d in range(10)]


def build_untrained() -> tuple[nn.Module, ExampleInputs]:
    """The architecture with seeded random weights and its example input (the training script starts here)."""
    model = seeded(zoo.SmallCNN)
    return model, ExampleInputs((torch.randn(1, 3, 32, 32, generator=generator(0)),), {}, "image")


def build_digits_cnn() -> Built:
    path = shipped_file(WEIGHTS, "engine.weights")
    if path is None:
        raise ModelImportError(f"digits-cnn's weights {WEIGHTS.name} are missing; reinstall neuroscape "
                               f"(pip install -e .) or train them: python scripts/train_digits_cnn.py")
    from safetensors.torch import load_file
    model, example = build_untrained()
    try:
        model.load_state_dict(load_file(str(path)))
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file
        raise ModelImportError(f"digits-cnn's weights {path} cannot be read ({first_line(e)}); reinstall "
                               f"neuroscape or run scripts/train_digits_cnn.py") from e
    return model.eval(), example, "image"


class DigitsCNNSource(ModelSource):
    kind = "digits-cnn"
    catalog = (ModelInfo("digits-cnn", "small CNN (2 conv blocks) trained on scikit-learn's digits; real weights, "
                                       "the default scene", aliases=("digits_cnn", "digitscnn")),)

    def build(self, name: str) -> Built:
        return build_digits_cnn()


register_source(DigitsCNNSource())
