"""Structure without weights: models built on the meta device (no memory for weights) and recorded
with the shapes, parameter counts and data edges a real run gives.

A model on the meta device runs its forward on shapes alone, until its code reads a value: masks
checked with ``torch.all(mask == 1)``, positions from ``.item()``, MoE routing with ``.nonzero()``.
``MetaShadow`` keeps such values: the example inputs stay real, and every op whose inputs all have
values (token ids, masks, positions, ``arange`` on the meta device) is also computed for real on the
CPU -- a *shadow* carried by the meta result -- as long as it is small. Reads of a meta tensor then
read its shadow. What depends on weights has no shadow: there a data-dependent read takes the
widest answer (``nonzero`` / one-argument ``where``: every position; a truth test: true), so a
mixture of experts routes every token to every expert -- the structure of all of them.
"""
from __future__ import annotations

import os
from math import prod

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten, tree_map

__all__ = ["MetaShadow", "is_structure_only", "parameter_bytes", "available_memory", "fits_in_memory",
           "on_meta", "structure_note"]

META = torch.device("meta")
SHADOW_MAX = 1 << 22            # elements: larger results keep no shadow (weights, activations)
MEMORY_SHARE = 0.6              # of the memory available, the most a model's weights may take
_READS = {Tensor.item, Tensor.__bool__, Tensor.tolist, Tensor.__int__, Tensor.__float__, Tensor.__index__,
          Tensor.numpy}
_INDEXING = {Tensor.__getitem__, Tensor.__setitem__}
_EVERYWHERE = {torch.nonzero, Tensor.nonzero, torch.argwhere, Tensor.argwhere}


def is_structure_only(model: nn.Module) -> bool:
    """Whether ``model`` holds no weights (its parameters and buffers are on the meta device)."""
    tensors = list(model.parameters()) + list(model.buffers())
    return bool(tensors) and any(t.is_meta for t in tensors)


def parameter_bytes(model: nn.Module) -> int:
    """Bytes its parameters take (or would take, on the meta device), shared ones once."""
    seen, total = set(), 0
    for p in model.parameters():
        if id(p) not in seen:
            seen.add(id(p))
            total += p.numel() * p.element_size()
    return total


def available_memory() -> int:
    """Bytes of memory available now (MemAvailable; the cgroup limit when lower)."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(path).read().strip()
        except OSError:
            continue
        if text.isdigit():
            avail = min(avail, int(text))
    return avail


def fits_in_memory(nbytes: int) -> bool:
    """Whether weights of ``nbytes`` leave room for the activations and the scene."""
    return nbytes <= MEMORY_SHARE * available_memory()


def structure_note(graph) -> str:
    """The one line that says a graph was recorded without weights, and why."""
    why = ("" if fits_in_memory(graph.weight_bytes) else
           f" (more than {MEMORY_SHARE:.0%} of the {available_memory() / 1e9:.1f} GB of memory available)")
    return (f"{graph.model_name}: structure only -- {graph.weight_bytes / 1e9:.1f} GB of weights not loaded{why}; "
            f"shapes and parameter counts, no values")


def on_meta(build, *args, **kwargs):
    """``build(*args, **kwargs)`` with new tensors on the meta device (no memory for weights)."""
    with torch.device(META):
        return build(*args, **kwargs)


def _shadow(t) -> Tensor | None:
    return getattr(t, "_neuroscape_shadow", None) if isinstance(t, Tensor) else None


def _is_meta_device(a) -> bool:
    return (isinstance(a, torch.device) and a.type == "meta") or (isinstance(a, str) and a == "meta")


def _to_cpu(a):
    if isinstance(a, Tensor) and a.is_meta:
        return a._neuroscape_shadow
    if _is_meta_device(a):
        return torch.device("cpu") if isinstance(a, torch.device) else "cpu"
    return a


def _to_meta(a):
    return a.to(META) if isinstance(a, Tensor) and not a.is_meta and a.dim() > 0 else a


def _twin(real: Tensor) -> Tensor:
    """A meta tensor like ``real``, carrying it as its shadow."""
    with torch._C.DisableTorchFunction():
        m = torch.empty_strided(real.shape, real.stride(), dtype=real.dtype, device=META)
    m._neuroscape_shadow = real
    return m


def _everywhere(x: Tensor) -> Tensor:
    """nonzero(x) as if every element were non-zero (a meta tensor with its real indices)."""
    with torch._C.DisableTorchFunction():
        idx = torch.ones(tuple(x.shape), dtype=torch.bool).nonzero()
    return _twin(idx)


class MetaShadow(TorchFunctionMode):
    """Runs a model on the meta device with real values where they can be had (module docstring)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        flat, _ = tree_flatten((args, kwargs))
        metas = [t for t in flat if isinstance(t, Tensor) and t.is_meta]
        if not metas and not any(_is_meta_device(a) for a in flat):
            return func(*args, **kwargs)                     # all real: as it is
        if getattr(func, "__name__", "") == "__get__":       # an attribute: the meta tensor's own (.device,
            out = func(*args, **kwargs)                      # .shape), a view's shadow from the shadow's (.T)
            if isinstance(out, Tensor) and out.is_meta and _shadow(args[0]) is not None:
                with torch._C.DisableTorchFunction():
                    out._neuroscape_shadow = func(args[0]._neuroscape_shadow, *args[1:])
            return out
        if all(_shadow(t) is not None for t in metas):
            got = self._on_shadows(func, args, kwargs)
            if got is not None:
                return got
        elif func in _READS:
            if func is Tensor.__bool__:
                return True                                  # a check on weights' values: the usual answer
            raise RuntimeError(f"{getattr(func, '__name__', func)}() of a value computed from the weights, "
                               f"which a structure-only model does not have")
        elif func in _EVERYWHERE or (func is torch.where and len(args) + len(kwargs) == 1):
            idx = _everywhere(metas[0])
            if func is torch.where:
                return tuple(_twin(idx._neuroscape_shadow[:, d].contiguous()) for d in range(metas[0].dim()))
            return idx
        if func in _INDEXING:             # a meta index of one element would be read (.item()): its value
            args = tree_map(lambda a: a._neuroscape_shadow.item() if _shadow(a) is not None and a.dim() == 0
                            else a, args)
        args, kwargs = tree_map(_to_meta, (args, kwargs))
        out = func(*args, **kwargs)
        if args and _shadow(args[0]) is not None and any(o is args[0] for o in tree_flatten(out)[0]):
            args[0]._neuroscape_shadow = None                # written in place from values it has not
        return out

    @staticmethod
    def _on_shadows(func, args, kwargs):
        """The op on the shadows; its meta twin (or the read value). None: too big or it failed."""
        sargs, skw = tree_map(_to_cpu, (args, kwargs))
        try:
            with torch._C.DisableTorchFunction():
                real = func(*sargs, **skw)
        except Exception:  # noqa: BLE001 - the meta op alone decides what happens then
            return None
        outs, _ = tree_flatten(real)
        if any(isinstance(o, Tensor) and prod(o.shape) > SHADOW_MAX for o in outs):
            return None
        first = sargs[0] if sargs else None

        def twin(o):
            if not isinstance(o, Tensor):
                return o
            if first is not None and o is first and isinstance(args[0], Tensor):
                return args[0]                               # in place: the same meta tensor, shadow updated
            return _twin(o)
        return tree_map(twin, real)
