"""A conv layer's kernels as one RGBA image (a grid of small pictures), for the viewer's panel.

- 3 input channels (a first layer on RGB images): each output channel's kernel is one small RGB
  picture, min-max normalized per kernel (its smallest weight black, largest white, per channel
  colour as the weights say), tiled in a near-square grid.
- Other convs: per output channel a block of its input channels' kernels, each a diverging
  tile normalized by the block's largest |weight| (negative blue, zero dark, positive orange,
  like the scene's icefire map), the blocks tiled in a near-square grid.
  Capped at the first ``max_out`` (64) output x ``max_in`` (16) input channels.

Every kernel is upscaled with nearest-neighbour by the largest integer factor (<= MAX_SCALE) that
keeps the image within ``max_px`` (320) a side, so 3x3 kernels stay visible. Gaps are the dark background.
"""
from __future__ import annotations

from math import ceil, sqrt

import numpy as np
import torch
from torch import nn

from engine.colormaps import palette
from engine.compute.contrib import module_of
from engine.model.graph import Layer

MAX_OUT, MAX_IN = 64, 16
MAX_SCALE = 16
NEG = np.array(palette.KERNEL_NEGATIVE)     # diverging ends: negative, positive; zero is DARK
POS = np.array(palette.KERNEL_POSITIVE)
DARK = np.array(palette.KERNEL_ZERO)
GAP_RGBA = palette.KERNEL_GAP


def _grid(n: int) -> tuple[int, int]:
    cols = max(1, ceil(sqrt(n)))
    return ceil(n / cols), cols


def normalize_rgb(k: np.ndarray) -> np.ndarray:
    """(3, kh, kw) weights -> (kh, kw, 3) in [0, 1], min-max over the whole kernel."""
    k = np.asarray(k, np.float64)
    lo, hi = float(k.min()), float(k.max())
    t = (k - lo) / (hi - lo) if hi > lo else np.full_like(k, 0.5)
    return t.transpose(1, 2, 0)


def diverging_rgb(k: np.ndarray, scale: float) -> np.ndarray:
    """(kh, kw) weights -> (kh, kw, 3): |w| * scale picks between DARK and NEG / POS."""
    t = np.clip(np.asarray(k, np.float64) * scale, -1.0, 1.0)[..., None]
    return np.where(t >= 0, DARK + t * (POS - DARK), DARK - t * (NEG - DARK))


def _tiles(model: nn.Module | None, layer: Layer, max_out: int, max_in: int) -> tuple[np.ndarray, int, bool]:
    """(cells, cells per block, rgb) where cells is (n_blocks, per_block, kh, kw, 3) in [0, 1]."""
    m = module_of(model, layer)
    if not isinstance(m, nn.Conv2d):
        raise ValueError(f"layer {layer.name!r} is not a Conv2d (it is {type(m).__name__})")
    with torch.no_grad():
        w = m.weight.detach().to("cpu", torch.float64).numpy()[:max_out]
    n_out, n_in, kh, kw = w.shape
    if n_in == 3:
        return np.stack([normalize_rgb(k) for k in w])[:, None], 1, True
    w = w[:, :max_in]
    cells = np.empty((n_out, w.shape[1], kh, kw, 3))
    for o in range(n_out):
        peak = float(np.abs(w[o]).max())
        cells[o] = diverging_rgb(w[o], 1.0 / peak if peak > 0 else 1.0)
    return cells, w.shape[1], False


def kernel_images(model: nn.Module | None, layer: Layer, *, max_out: int = MAX_OUT, max_in: int = MAX_IN,
                  max_px: int = 320) -> np.ndarray:
    """(H, W, 4) uint8 RGBA grid of a Conv2d layer's kernels (see the module docstring).

    Raises ValueError when the layer is not a Conv2d of ``model``."""
    cells, per, _rgb = _tiles(model, layer, max_out, max_in)
    n_blocks, _, kh, kw, _ = cells.shape
    br, bc = _grid(per)               # cells inside a block
    gr, gc = _grid(n_blocks)          # blocks in the image
    inner, outer = (0, 2) if per == 1 else (1, 3)

    def size(scale: int) -> tuple[int, int]:
        bh = br * kh * scale + (br - 1) * inner
        bw = bc * kw * scale + (bc - 1) * inner
        return gr * bh + (gr + 1) * outer, gc * bw + (gc + 1) * outer

    scale = 1
    while scale < MAX_SCALE and max(size(scale + 1)) <= max_px:
        scale += 1
    H, W = size(scale)
    img = np.empty((H, W, 4), np.uint8)
    img[:] = GAP_RGBA
    bh = br * kh * scale + (br - 1) * inner
    bw = bc * kw * scale + (bc - 1) * inner
    up = np.clip(np.round(cells * 255.0), 0, 255).astype(np.uint8)
    up = up.repeat(scale, axis=2).repeat(scale, axis=3)       # nearest-neighbour upscaling
    for b in range(n_blocks):
        y0 = outer + (b // gc) * (bh + outer)
        x0 = outer + (b % gc) * (bw + outer)
        for i in range(per):
            y = y0 + (i // bc) * (kh * scale + inner)
            x = x0 + (i % bc) * (kw * scale + inner)
            img[y:y + kh * scale, x:x + kw * scale, :3] = up[b, i]
    return img


def kernel_summary(model: nn.Module | None, layer: Layer, max_out: int = MAX_OUT, max_in: int = MAX_IN) -> str:
    """One HUD line saying what the kernel panel shows."""
    m = module_of(model, layer)
    if not isinstance(m, nn.Conv2d):
        return ""
    o, i, kh, kw = m.weight.shape
    if i == 3:
        return f"kernels of {layer.name}: {min(o, max_out)} of {o} as RGB {kh}x{kw} (min-max per kernel)"
    return (f"kernels of {layer.name}: {min(o, max_out)} of {o} out x {min(i, max_in)} of {i} in, {kh}x{kw} "
            "(blue -, orange +)")
