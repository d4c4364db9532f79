"""The built-in models of engine/model/zoo.py: seeded random weights and fixed example inputs."""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from engine.model import zoo
from engine.model.example import generator
from engine.model.inputs import ExampleInputs
from engine.model.source import Built, ModelInfo, ModelSource, register_source, seeded

VOCAB = 1000  # token ids of "transformer"


def _randn(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=generator(0))


def _tokens(*shape: int) -> torch.Tensor:
    return torch.randint(0, VOCAB, shape, generator=generator(0), dtype=torch.int64)


# name -> (model builder, example input maker)
_BUILDERS: dict[str, tuple[Callable[[], nn.Module], Callable[[], ExampleInputs]]] = {
    "mlp": (zoo.MLP, lambda: ExampleInputs((_randn(1, 64),), {}, "tabular")),
    "cnn": (zoo.SmallCNN, lambda: ExampleInputs((_randn(1, 3, 32, 32),), {}, "image")),
    "lstm": (lambda: zoo.RNNClassifier("lstm"), lambda: ExampleInputs((_randn(1, 16, 32),), {}, "sequence")),
    "gru": (lambda: zoo.RNNClassifier("gru"), lambda: ExampleInputs((_randn(1, 16, 32),), {}, "sequence")),
    "transformer": (lambda: zoo.TinyTransformer(vocab=VOCAB),
                    lambda: ExampleInputs((_tokens(1, 16),), {}, "language")),
    "branchy": (zoo.Branchy, lambda: ExampleInputs((_randn(1, 32),), {}, "tabular")),
}


class ZooSource(ModelSource):
    random = True                       # seeded random weights
    kind = "zoo"
    catalog = (
        ModelInfo("mlp", "MLP 64-128-64-10 on 1x64"),
        ModelInfo("cnn", "small CNN on 1x3x32x32"),
        ModelInfo("lstm", "2-layer LSTM on 1x16x32 + linear head"),
        ModelInfo("gru", "2-layer GRU on 1x16x32 + linear head"),
        ModelInfo("transformer", "2-layer nn.TransformerEncoder on 1x16 token ids", vocab_size=VOCAB),
        ModelInfo("branchy", "MLP with a value-dependent branch (if x.mean() > 0)"),
    )

    def build(self, name: str) -> Built:
        make_model, make_input = _BUILDERS[name]
        model = seeded(make_model).eval()
        inputs = make_input()
        return model, inputs, inputs.family


register_source(ZooSource())
