"""Strongest incoming weights per unit of Linear/Conv layers (Layer.top_in / top_w), computed on
first access for big weights so that recording costs about one forward pass."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from engine.model.graph import Layer

__all__ = ["RecordedLayer", "LazyTop", "make_top", "EAGER_TOP_ELEMENTS"]

# Weights with at most this many elements get top_in computed during record(); bigger ones lazily.
EAGER_TOP_ELEMENTS = 4096


def _top_spec(mod: nn.Module):
    """(weight, mode, groups) for modules that get top_in: Linear, HF Conv1D, non-transposed ConvNd."""
    params = mod._parameters
    w = params.get("weight") if type(params) is dict else None
    if not isinstance(w, Tensor) or w.dim() < 2 or w.is_meta:
        return None
    if isinstance(mod, nn.Linear):
        return w, "linear", 1
    if type(mod).__name__ == "Conv1D" and hasattr(mod, "nf"):  # Hugging Face: weight [in, out]
        return w, "linear_t", 1
    if isinstance(mod, nn.modules.conv._ConvNd) and not mod.transposed:
        return w, "conv", int(mod.groups)
    return None


def _top_compute(w: Tensor, mode: str, groups: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Strongest inputs per output unit: Linear by |w|; Conv by kernel L2 norm, signed by the kernel sum."""
    with torch.no_grad():
        w = w.detach()
        if w.dtype not in (torch.float32, torch.float64):
            w = w.float()
        if mode in ("linear", "linear_t"):
            if mode == "linear_t":
                w = w.t()
            idx = torch.topk(w.abs(), min(k, w.shape[1]), dim=1, sorted=True).indices
            return idx.to(torch.int32).cpu().numpy(), torch.gather(w, 1, idx).to(torch.float32).cpu().numpy()
        w3 = w.flatten(2)  # conv: [out, in/groups, kernel]
        norms = torch.linalg.vector_norm(w3, dim=2)
        val, idx = torch.topk(norms, min(k, norms.shape[1]), dim=1, sorted=True)
        signed = torch.where(torch.gather(w3.sum(dim=2), 1, idx) < 0, -val, val)
        if groups > 1:
            per_out = w.shape[0] // groups
            offset = (torch.arange(w.shape[0], device=idx.device) // per_out) * norms.shape[1]
            idx = idx + offset[:, None]
        return idx.to(torch.int32).cpu().numpy(), signed.to(torch.float32).cpu().numpy()


class LazyTop:
    """top_in/top_w computed on first use from a numpy view of the weights (no copy, no torch object)."""

    __slots__ = ("args", "value")

    def __init__(self, w_np: np.ndarray, mode: str, groups: int, k: int):
        self.args = (w_np, mode, groups, k)
        self.value = None

    def get(self):
        if self.value is None:
            w_np, mode, groups, k = self.args
            self.value = _top_compute(torch.from_numpy(w_np), mode, groups, k)
            self.args = None
        return self.value


def _resolved(key: str) -> property:
    """A field of RecordedLayer stored under ``key``, computed first if it is still pending."""
    def get(self):
        self._resolve()
        return self.__dict__.get(key)

    def set(self, v):
        self._resolve()
        self.__dict__[key] = v
    return property(get, set)


class RecordedLayer(Layer):
    """A Layer whose ``top_in``/``top_w`` of big Linear/Conv layers are computed on first access, so
    recording costs about one forward pass. Behaves exactly like Layer (same fields, pickles plainly)."""

    def _resolve(self) -> None:
        d = self.__dict__
        lazy = d.get("_lazy_top")
        if lazy is not None:
            d["_top_in"], d["_top_w"] = lazy.get()
            d["_lazy_top"] = None

    top_in = _resolved("_top_in")
    top_w = _resolved("_top_w")

    def set_top(self, top: tuple[np.ndarray, np.ndarray] | LazyTop | None) -> None:
        """Attach what make_top() gave: a (top_in, top_w) pair, or a LazyTop resolved on first access."""
        if isinstance(top, LazyTop):
            self.__dict__["_lazy_top"] = top
        elif top is not None:
            self.top_in, self.top_w = top

    @property
    def top_pending(self) -> bool:
        """True while top_in/top_w have not been computed yet."""
        return self.__dict__.get("_lazy_top") is not None

    def __getstate__(self):
        self._resolve()
        return dict(self.__dict__)

    def __repr__(self) -> str:  # arrays shown by shape, not by value
        def arr(a):
            return None if a is None else f"<{a.dtype} {'x'.join(map(str, a.shape))}>"
        top = "<pending>" if self.top_pending else arr(self.__dict__.get("_top_in"))
        return (f"Layer(id={self.id}, name={self.name!r}, kind={self.kind!r}, op={self.op!r}, shape={self.shape}, "
                f"params={self.params}, dtype={self.dtype!r}, attrs={self.attrs}, top_in={top}, "
                f"values={arr(self.values)})")


def make_top(mod: nn.Module, k: int) -> tuple[np.ndarray, np.ndarray] | LazyTop | None:
    """(top_in, top_w) of a Linear/Conv module now, a LazyTop for big CPU weights, or None."""
    spec = _top_spec(mod)
    if spec is None:
        return None
    w, mode, groups = spec
    if w.device.type == "cpu" and w.dtype in (torch.float32, torch.float64) and w.numel() > EAGER_TOP_ELEMENTS:
        try:
            return LazyTop(w.detach().numpy(), mode, groups, k)
        except (RuntimeError, TypeError):
            pass
    return _top_compute(w, mode, groups, k)
