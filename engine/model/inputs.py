"""Example inputs of a model and the parsing of --input-shape / --input-dtype (no torch import)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from engine.model.errors import InputSpecError

DTYPES = {
    "float32": "float32", "float": "float32", "f32": "float32", "fp32": "float32",
    "float16": "float16", "half": "float16", "f16": "float16", "fp16": "float16",
    "bfloat16": "bfloat16", "bf16": "bfloat16",
    "float64": "float64", "double": "float64", "f64": "float64",
    "int64": "int64", "long": "int64", "int": "int64", "i64": "int64",
    "int32": "int32", "i32": "int32", "int16": "int16", "int8": "int8", "uint8": "uint8",
    "bool": "bool",
}


@dataclass
class ExampleInputs:
    """Positional and keyword arguments of one forward call. ``family`` optionally names the data
    family ("image", "language", "sequence", "tabular", "generic"); None means infer from the inputs."""

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    family: str | None = None

    def __iter__(self):  # allows ``args, kwargs = inputs``
        yield self.args
        yield self.kwargs

    def tensors(self) -> list[Any]:
        out: list[Any] = []
        _collect(self.args, out)
        _collect(self.kwargs, out)
        return out


def _collect(obj, out: list) -> None:
    if hasattr(obj, "shape") and hasattr(obj, "dtype") and hasattr(obj, "dim"):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _collect(o, out)
    elif isinstance(obj, dict):
        for o in obj.values():
            _collect(o, out)


MAX_DIM = 2 ** 31 - 1                 # the largest size of one tensor dimension worth trying


def parse_input_shape(text: str) -> list[tuple[int, ...]]:
    """``"1x3x224x224"`` -> ``[(1, 3, 224, 224)]``; several inputs separated by ``;``.
    Also accepts ``1,3,224,224`` and ``(1, 3, 224, 224)``."""
    if not isinstance(text, str) or not text.strip():
        raise InputSpecError(f"bad --input-shape {text!r}: expected sizes like 1x3x224x224 (several inputs: 1x16;1x16)")
    shapes = []
    for part in text.split(";"):
        p = part.strip().strip("()[] ")
        dims = [d.strip() for d in re.split(r"[xX×,*]", p)]
        if len(dims) > 1 and dims[-1] == "":  # "(1, 3,)"
            dims.pop()
        try:
            shape = tuple(int(d) for d in dims)
        except ValueError:
            shape = ()
        if not shape or any(d <= 0 for d in shape):
            raise InputSpecError(f"bad --input-shape {text!r}: expected positive integer sizes like 1x3x224x224 "
                                 f"(several inputs: 1x16;1x16)")
        if any(d > MAX_DIM for d in shape):
            raise InputSpecError(f"bad --input-shape {text!r}: a size of {max(shape):,} is more than a tensor "
                                 f"dimension can hold here ({MAX_DIM:,}); e.g. 1x3x224x224")
        shapes.append(shape)
    need = sum(math.prod(sh) for sh in shapes) * 4
    from engine.model.structure import available_memory
    have = available_memory()
    if have and need > have:
        raise InputSpecError(f"--input-shape {text}: the input alone needs {need / 1e9:,.1f} GB (float32) and "
                             f"{have / 1e9:.1f} GB are available; choose smaller sizes, e.g. 1x3x224x224")
    return shapes


def parse_input_dtype(text: str | None) -> str | None:
    """Normalise a dtype name (``float32``, ``int64``, ``long`` ...); None stays None."""
    if text is None:
        return None
    key = str(text).strip().lower().removeprefix("torch.")
    if key not in DTYPES:
        raise InputSpecError(f"bad --input-dtype {text!r}: use one of float32, float16, bfloat16, float64, int64, "
                             f"int32, uint8, bool")
    return DTYPES[key]


def shape_text(shape) -> str:
    return "x".join(str(int(d)) for d in shape) if len(shape) else "scalar"
