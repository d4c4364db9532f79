"""Decision fields: a classifier's class probabilities over a dense grid, evaluated on the model's
device in chunks under inference mode and handed out as texture data.

Grid: ``res`` cells per axis over the box [lo, hi]^dims; cell i's point is its centre
``lo + (i + 0.5) * (hi - lo) / res`` (so texture coordinate (i + 0.5) / res is that point: the
texture maps exactly onto the box). Layout: x fastest, then y, then z, i.e. (H, W) in 2D and
(D, H, W) in 3D, the order glTexImage2D/3D reads.

Channels: 2 classes -> one: p(class 1) = sigmoid(z1 - z0) (a (N, 1) logit output: sigmoid(z));
more classes -> two: p(class of interest), argmax class id. Dtype: float16 on CUDA (half the bytes
to the GPU), float32 on the CPU (host memory is the device; quantizing would add a pass).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from engine.errors import NeuroscapeError

DEFAULT_RES = {2: 512, 3: 128}
CHUNK = 1 << 16


class FieldError(NeuroscapeError):
    """A bad field parameter or a classifier whose output cannot be read as class scores."""


@dataclass
class Field:
    """One evaluation: ``data`` is (H, W[, C]) or (D, H, W[, C]) float16/float32, C = channels."""

    data: np.ndarray
    dims: int
    res: int
    lo: float
    hi: float
    classes: int
    interest: int
    version: int = 0

    @property
    def channels(self) -> int:
        return 1 if self.data.ndim == self.dims else int(self.data.shape[-1])

    @property
    def prob(self) -> np.ndarray:
        """p(class of interest) per grid cell, float32, (H, W) or (D, H, W)."""
        return np.asarray(self.data if self.channels == 1 else self.data[..., 0], np.float32)

    def point(self, index: tuple[int, ...]) -> np.ndarray:
        """Data coordinates of grid cell ``index`` given as (x, y[, z]) cell indices."""
        step = (self.hi - self.lo) / self.res
        return self.lo + (np.asarray(index, np.float64) + 0.5) * step

    def sample(self, x: np.ndarray) -> np.ndarray:
        """p(class of interest) at data points (N, dims), nearest cell (CPU, for picking/tests)."""
        step = (self.hi - self.lo) / self.res
        idx = np.clip(((np.asarray(x) - self.lo) / step).astype(np.int64), 0, self.res - 1)
        p = self.prob
        return p[tuple(idx[:, k] for k in reversed(range(self.dims)))]


def grid_points(dims: int, res: int, lo: float, hi: float, device: torch.device | str = "cpu") -> torch.Tensor:
    """(res**dims, dims) float32 cell centres, x fastest."""
    c = lo + (torch.arange(res, dtype=torch.float32, device=device) + 0.5) * ((hi - lo) / res)
    axes = torch.meshgrid(*([c] * dims), indexing="ij")        # axes[k] varies along dim k
    # want x fastest: the last meshgrid axis varies fastest, so x must be the last axis
    return torch.stack([axes[dims - 1 - k].reshape(-1) for k in range(dims)], dim=1).contiguous()


def binary_head(model: torch.nn.Module):
    """(body, w_diff, b_diff) when ``model`` is a Sequential (or has one as ``.net``) ending in a
    2-output Linear: then p(class 1) = sigmoid(body(x) @ w_diff + b_diff) exactly, one output
    column instead of two and no subtraction pass. None otherwise."""
    seq = model if isinstance(model, torch.nn.Sequential) else getattr(model, "net", None)
    if not isinstance(seq, torch.nn.Sequential) or len(seq) < 1 or type(model).forward not in (
            torch.nn.Sequential.forward, getattr(type(model), "_plain_forward", None)):
        return None
    last = seq[-1]
    if not isinstance(last, torch.nn.Linear) or last.out_features != 2:
        return None
    w = (last.weight[1] - last.weight[0]).detach()
    b = ((last.bias[1] - last.bias[0]) if last.bias is not None else torch.zeros((), device=w.device)).detach()
    return seq[:-1], w, b


def _device_of(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


class FieldEvaluator:
    """Evaluates ``model`` over the grid; the grid lives on the model's device, built once."""

    def __init__(self, dims: int, res: int | None = None, *, lo: float = -1.0, hi: float = 1.0,
                 classes: int = 2, interest: int = 1, dtype: str = "auto", chunk: int = CHUNK,
                 device: torch.device | str = "cpu") -> None:
        if dims not in (2, 3):
            raise FieldError(f"a field needs 2 or 3 inputs, the data has {dims}: use a 2D or 3D dataset")
        res = int(res or DEFAULT_RES[dims])
        limit = 2048 if dims == 2 else 256
        if not 8 <= res <= limit:
            raise FieldError(f"field resolution {res} is outside 8..{limit} for {dims}D: choose e.g. "
                             f"{DEFAULT_RES[dims]}")
        if not hi > lo:
            raise FieldError(f"field box [{lo}, {hi}] is empty: use lo < hi")
        self.dims, self.res, self.lo, self.hi, self.chunk = dims, res, float(lo), float(hi), int(chunk)
        self.device = torch.device(device)
        if dtype == "auto":
            dtype = "float16" if self.device.type == "cuda" else "float32"
        self.dtype = getattr(torch, dtype)
        self.points = grid_points(dims, res, self.lo, self.hi, self.device)
        self.classes = int(classes)
        self.interest = int(interest)
        self.set_classes(classes, interest)
        self.version = 0
        self.seconds = 0.0

    @property
    def count(self) -> int:
        return int(self.points.shape[0])

    def set_classes(self, classes: int, interest: int | None = None) -> None:
        self.classes = int(classes)
        if interest is not None:
            self.interest = int(interest)
        if not 0 <= self.interest < self.classes:
            raise FieldError(f"class of interest {self.interest} is outside 0..{self.classes - 1}")
        ch = 1 if self.classes == 2 else 2
        self._out = torch.empty((self.count, ch), dtype=self.dtype, device=self.device)
        self._host = self._out if self.device.type == "cpu" else \
            torch.empty_like(self._out, device="cpu").pin_memory()

    @torch.inference_mode()
    def evaluate(self, model: torch.nn.Module) -> Field:
        """Class probabilities of ``model`` over the grid (model put in eval mode for the pass)."""
        import time
        t0 = time.perf_counter()
        was_training = model.training
        model.eval()
        try:
            out, pts, ch = self._out, self.points, self._out.shape[1]
            head = binary_head(model) if ch == 1 else None
            if head is not None:
                body, w, bias = head
                flat = out.view(-1)
                for a in range(0, self.count, self.chunk):
                    b = min(a + self.chunk, self.count)
                    h = body(pts[a:b])
                    if flat.dtype == h.dtype:
                        torch.addmv(bias, h, w, out=flat[a:b]).sigmoid_()
                    else:
                        flat[a:b] = torch.sigmoid(torch.addmv(bias, h, w))
                return self._finish(out, ch, t0)
            for a in range(0, self.count, self.chunk):
                b = min(a + self.chunk, self.count)
                z = model(pts[a:b])
                if not isinstance(z, torch.Tensor) or z.dim() != 2 or z.shape[0] != b - a:
                    shape = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
                    raise FieldError(f"the classifier returned {shape} for {b - a} points: return (N, classes) "
                                     f"logits")
                if z.shape[1] == 1:
                    out[a:b, 0] = torch.sigmoid(z[:, 0])
                elif z.shape[1] == 2 and ch == 1:
                    out[a:b, 0] = torch.sigmoid(z[:, 1] - z[:, 0])
                elif z.shape[1] == self.classes:
                    p = torch.softmax(z, dim=1)
                    out[a:b, 0] = p[:, self.interest]
                    out[a:b, 1] = p.argmax(dim=1)
                else:
                    raise FieldError(f"the classifier returned {z.shape[1]} scores per point, the data has "
                                     f"{self.classes} classes: match its output size to the classes")
        finally:
            model.train(was_training)
        return self._finish(out, ch, t0)

    def _finish(self, out: torch.Tensor, ch: int, t0: float) -> Field:
        import time
        host = self._host
        if host is not out:
            host.copy_(out)
        shape = (self.res,) * self.dims + ((ch,) if ch > 1 else ())
        self.version += 1
        self.seconds = time.perf_counter() - t0
        return Field(host.numpy().reshape(shape), self.dims, self.res, self.lo, self.hi, self.classes,
                     self.interest, self.version)


__all__ = ["Field", "FieldEvaluator", "FieldError", "grid_points", "DEFAULT_RES"]
