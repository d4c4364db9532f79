"""pydoc-gpt: a small causal language model with real weights that ship with Neuroscape.

GPT-2 architecture (Hugging Face GPT2LMHeadModel, default SDPA attention, KV cache for --generate),
4 layers x 4 heads, 128 wide, 256-token context, byte-level vocabulary (token = UTF-8 byte + 3, the
encoding of engine/compute/text.py), trained by scripts/train_pydoc_gpt.py on the Python language
reference that ships with Python. The training figures are in the weights file's metadata
(``neuroscape inspect pydoc-gpt`` does not need them; docs/pydoc-gpt.md lists them)."""
from __future__ import annotations

from pathlib import Path

import torch

from engine.model.errors import ModelImportError, first_line
from engine.model.example import BYTE_OFFSET
from engine.model.inputs import ExampleInputs
from engine.model.source import Built, ModelInfo, ModelSource, register_source, shipped_file

__all__ = ["CONFIG", "WEIGHTS", "PROMPT", "BYTE_OFFSET", "build_config", "weights_path"]

CONFIG = {"vocab_size": 256 + BYTE_OFFSET, "n_positions": 256, "n_embd": 128, "n_layer": 4, "n_head": 4,
          "bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 0, "tie_word_embeddings": True,
          "use_cache": False}          # scenes show no cache; --generate asks for it per call
WEIGHTS = Path(__file__).resolve().parents[3] / "weights" / "pydoc_gpt.safetensors"
PROMPT = 'The "while" statement is used for repeated execution as long as an expression is true'


def build_config(dropout: float = 0.0):
    """The GPT2Config of pydoc-gpt (dropout only while training)."""
    from transformers import GPT2Config
    return GPT2Config(**CONFIG, resid_pdrop=dropout, embd_pdrop=dropout, attn_pdrop=dropout)


def weights_path() -> Path:
    """The shipped weights: weights/ of a checkout or editable install, else the engine.weights package data."""
    path = shipped_file(WEIGHTS, "engine.weights")
    if path is not None:
        return path
    raise ModelImportError(f"pydoc-gpt's weights {WEIGHTS.name} are missing; reinstall neuroscape "
                           f"(pip install -e .) or train them: python scripts/train_pydoc_gpt.py")


def build_pydoc_gpt() -> Built:
    """The model with its shipped weights, in eval mode, and the prompt's byte tokens as example input."""
    from engine.model.sources.huggingface import import_transformers
    tf = import_transformers()
    from safetensors.torch import load_file
    path = weights_path()
    try:
        state = load_file(str(path))
    except Exception as e:  # noqa: BLE001 - a truncated or foreign file
        raise ModelImportError(f"pydoc-gpt's weights {path} cannot be read ({first_line(e)}); "
                               f"reinstall neuroscape or run scripts/train_pydoc_gpt.py") from e
    model = tf.GPT2LMHeadModel(build_config())
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if k != "lm_head.weight"]:
        raise ModelImportError(f"pydoc-gpt's weights {path} do not fit its architecture "
                               f"({len(missing)} missing, {len(unexpected)} unexpected tensors)")
    model.tie_weights()
    ids = torch.tensor([list(PROMPT.encode("utf-8"))], dtype=torch.int64) + BYTE_OFFSET
    return model.eval(), ExampleInputs((), {"input_ids": ids, "attention_mask": torch.ones_like(ids)},
                                       "language"), "language"


class PydocGPTSource(ModelSource):
    kind = "pydoc-gpt"
    catalog = (ModelInfo("pydoc-gpt", "small GPT-2 (4 layers x 4 heads) trained on Python's own docs; real "
                                      "weights, byte-level tokens, --generate writes text",
                         aliases=("pydoc_gpt", "pydocgpt"), vocab_size=CONFIG["vocab_size"]),)

    def build(self, name: str) -> Built:
        return build_pydoc_gpt()


register_source(PydocGPTSource())
