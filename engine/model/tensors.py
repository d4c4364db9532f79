"""Tensors in nested model inputs and outputs: finding them, moving them, batch item 0, and what
kind of data they are."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from engine.model.errors import ModelError
from engine.model.inputs import ExampleInputs

__all__ = ["flat_tensors", "to_device", "to_example_inputs", "infer_family", "item0", "item0_numpy"]


def flat_tensors(obj, out: list, depth: int = 0) -> list:
    """Tensors in obj (tensor, list/tuple/namedtuple, dict/ModelOutput, and the attributes of small
    plain objects such as torchvision's ImageList), depth-first, in order, appended to ``out``."""
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            flat_tensors(o, out, depth)
    elif isinstance(obj, dict):
        for o in obj.values():
            flat_tensors(o, out, depth)
    elif depth < 1 and not isinstance(obj, (str, bytes, int, float, nn.Module, type)) and obj is not None:
        d = getattr(obj, "__dict__", None)
        if type(d) is dict and len(d) <= 16:
            for o in d.values():
                flat_tensors(o, out, depth + 1)
    return out


def to_device(obj, device):
    """obj with its tensors (in tuples, lists, plain dicts) moved to ``device``."""
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(to_device(o, device) for o in obj)
    if isinstance(obj, list):
        return [to_device(o, device) for o in obj]
    if isinstance(obj, dict) and type(obj) is dict:
        return {k: to_device(v, device) for k, v in obj.items()}
    return obj


def item0(t: Tensor) -> Tensor:
    """Batch item 0 of t, detached, on its device: no copy (whole tensor if it has no batch dim)."""
    t = t.detach()
    return t[0] if t.dim() > 1 else t


def item0_numpy(t: Tensor) -> np.ndarray:
    """Batch item 0 of t as a float32 numpy copy (whole tensor if it has no batch dim)."""
    t = t.detach()
    if t.dim() > 1:
        t = t[0]
    if t.is_complex():
        t = t.abs()
    return t.to("cpu", torch.float32, copy=True).numpy()


def to_example_inputs(example_inputs) -> ExampleInputs:
    """Accept a tensor, a tuple (positional args), a dict (keyword args) or ExampleInputs."""
    if isinstance(example_inputs, ExampleInputs):
        return example_inputs
    if example_inputs is None:
        raise ModelError("no example input given; pass a tensor, a tuple of args, a dict of kwargs or "
                         "ExampleInputs (CLI: --input-shape)")
    if isinstance(example_inputs, tuple) and len(example_inputs) == 2 and isinstance(example_inputs[0], tuple) \
            and isinstance(example_inputs[1], dict):
        return ExampleInputs(example_inputs[0], example_inputs[1])
    if isinstance(example_inputs, tuple):
        return ExampleInputs(example_inputs, {})
    if isinstance(example_inputs, dict):
        return ExampleInputs((), dict(example_inputs))
    return ExampleInputs((example_inputs,), {})


def infer_family(tensors: list) -> str:
    """The data family of the first tensor: 4D float "image", 3D float "sequence", integer ids "language",
    else "generic"."""
    if not tensors:
        return "generic"
    t = tensors[0]
    if t.is_floating_point():
        return {4: "image", 3: "sequence"}.get(t.dim(), "generic")
    if t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        return "language"
    return "generic"

