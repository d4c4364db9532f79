"""Example inputs made up for a model: deterministic tensors of given shapes, a guess from the
model's first leaf module, and the --input-shape / --input-dtype override of a default input."""
from __future__ import annotations

import torch
from torch import nn

from engine.model.errors import InputSpecError
from engine.model.inputs import ExampleInputs
from engine.model.tensors import infer_family

__all__ = ["SEQ_LEN", "BYTE_OFFSET", "BYTE_PAD", "generator", "vocab_size", "make_inputs", "guess_inputs", "override_inputs"]

SEQ_LEN = 16  # tokens / time steps of made-up sequence inputs
# The byte-level encoding of text for models without a tokenizer (engine/compute/text.py): token id =
# UTF-8 byte + BYTE_OFFSET; ids below it stay free, BYTE_PAD pads. pydoc-gpt was trained on it.
BYTE_OFFSET = 3
BYTE_PAD = 0


def generator(seed: int = 0) -> torch.Generator:
    """A CPU generator with a fixed seed: the same example input every run."""
    return torch.Generator().manual_seed(seed)


def vocab_size(model: nn.Module) -> int | None:
    """The model's vocabulary size (config.vocab_size, .vocab_size or its first nn.Embedding), or None."""
    cfg = getattr(model, "config", None)
    v = getattr(cfg, "vocab_size", None) or getattr(model, "vocab_size", None)
    if isinstance(v, int) and v > 0:
        return v
    for m in model.modules():
        if isinstance(m, nn.Embedding):
            return int(m.num_embeddings)
    return None


def make_inputs(shapes: list[tuple[int, ...]], dtype: str, model: nn.Module | None = None) -> list[torch.Tensor]:
    """Deterministic tensors of the given shapes: floats ~ N(0,1); integers are token ids within the
    model's vocabulary (or 0..9); bools are ones."""
    out = []
    tdtype = getattr(torch, dtype)
    for i, shape in enumerate(shapes):
        if tdtype.is_floating_point:
            out.append(torch.randn(*shape, generator=generator(i)).to(tdtype))
        elif tdtype == torch.bool:
            out.append(torch.ones(*shape, dtype=torch.bool))
        else:
            high = (vocab_size(model) if model is not None else None) or 10
            if tdtype == torch.uint8:
                high = min(high, 256)
            out.append(torch.randint(0, high, shape, generator=generator(i)).to(tdtype))
    return out


def guess_inputs(model: nn.Module) -> ExampleInputs | None:
    """An example input from the model's first leaf module (Conv/Linear/Embedding/RNN), or None."""
    for m in model.modules():
        if isinstance(m, nn.Embedding):
            return ExampleInputs((make_inputs([(1, SEQ_LEN)], "int64", model)[0],), {}, "language")
        if isinstance(m, (nn.RNNBase,)):
            shape = (1, SEQ_LEN, m.input_size) if m.batch_first else (SEQ_LEN, 1, m.input_size)
            return ExampleInputs((make_inputs([shape], "float32")[0],), {}, "sequence")
        if isinstance(m, nn.modules.conv._ConvNd) and not m.transposed:
            c = m.in_channels
            n = len(m.kernel_size)
            side = 28 if c == 1 else 224
            shape = {1: (1, c, 64), 2: (1, c, side, side), 3: (1, c, 16, 112, 112)}.get(n)
            if shape is None:
                return None
            return ExampleInputs((make_inputs([shape], "float32")[0],), {}, "image" if n == 2 else "generic")
        if isinstance(m, nn.Linear):
            return ExampleInputs((make_inputs([(1, m.in_features)], "float32")[0],), {}, "tabular")
    return None


def override_inputs(model: nn.Module, default: ExampleInputs | None, shapes: list[tuple[int, ...]] | None,
                    dtype: str | None, spec: str) -> ExampleInputs:
    """The example input with --input-shape (``shapes``) and/or --input-dtype (``dtype``) applied; Hugging Face
    text models keep their input_ids / attention_mask keywords."""
    default_tensors = default.tensors() if default is not None else []
    if shapes is None:  # only the dtype changes: keep the default shapes
        if not default_tensors:
            guessed = guess_inputs(model)
            default_tensors = guessed.tensors() if guessed is not None else []
        if not default_tensors:
            raise InputSpecError(f"--input-dtype without --input-shape needs a default input for {spec!r}; "
                                 f"pass --input-shape too")
        shapes = [tuple(t.shape) for t in default_tensors[:1]] if default is not None and default.kwargs \
            else [tuple(t.shape) for t in default_tensors]
    if dtype is None:
        first = default_tensors[0] if default_tensors else None
        dtype = "int64" if first is not None and not first.is_floating_point() else "float32"
    tensors = make_inputs(shapes, dtype, model)
    if default is not None and default.kwargs and "input_ids" in default.kwargs:  # Hugging Face text models
        kwargs: dict[str, torch.Tensor] = {"input_ids": tensors[0]}
        if "attention_mask" in default.kwargs and not tensors[0].is_floating_point():
            kwargs["attention_mask"] = torch.ones(tensors[0].shape[:2], dtype=torch.int64)
        return ExampleInputs((), kwargs, infer_family(tensors))
    return ExampleInputs(tuple(tensors), {}, infer_family(tensors))
