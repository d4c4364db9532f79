"""Mean pyramids of layers' mosaics straight from tensor-order values (no GL).

Far slabs sample them instead of the neurons, so every neuron is averaged into the pixels it
covers. Level k is the 2x2 mean of level k-1 with GL's sizes (max(1, n >> k)), level 0 being the
mosaic itself, which is never built: a far slab needs no level finer than its pixels, so the
first level wanted (``first``) is pooled from the neurons in one go and only the coarser levels
are derived from it.

How, and why this way (CPU, torch): halvings are adds of neighbouring rows (contiguous) and of
neighbouring columns (stride 2), which run near the speed of one read -- torch's sum over a short
axis is ~10x slower. Halvings happen inside the tiles while their sides are even (blocks never
straddle two feature maps), on the much smaller result in mosaic order after that. Slabs with the
same mosaic are pooled as one batch (a layer of a small model costs more in per-call overhead
than in arithmetic), and every intermediate lives in one scratch buffer kept across frames: fresh
buffers of this size cost more in page faults than the adds do.
"""
from __future__ import annotations

from math import prod

import numpy as np
import torch

from engine.layout.mosaic import Mosaic

SCRATCH_FLOATS = 1 << 22          # 16 MB kept between frames; bigger batches are split


def level_sizes(rows: int, cols: int) -> list[tuple[int, int]]:
    """(h, w) of levels 1.. down to 1x1 (empty for a 1x1 mosaic)."""
    out, h, w = [], rows, cols
    while h > 1 or w > 1:
        h, w = max(1, h // 2), max(1, w // 2)
        out.append((h, w))
    return out


def _twos(n: int) -> int:
    """How many times n halves evenly."""
    return (n & -n).bit_length() - 1


def _halvings(n: int, k: int) -> int:
    """Halvings of a side of n that average anything in k levels (a side of 1 stays 1)."""
    return min(k, n.bit_length() - 1)


class _Scratch:
    """Consecutive pieces of one reused float32 buffer (fresh tensors past its end)."""

    def __init__(self) -> None:
        self.buf = torch.empty(0)
        self.pos = 0

    def reserve(self, n: int) -> None:
        n = min(n, SCRATCH_FLOATS)
        if self.buf.numel() < n:
            self.buf = torch.empty(n)
        self.pos = 0

    def take(self, shape: tuple[int, ...]) -> torch.Tensor:
        n = prod(shape)
        if self.pos + n > self.buf.numel():
            return torch.empty(shape)
        out = self.buf[self.pos: self.pos + n].view(shape)
        self.pos += n
        return out


class PyramidBuilder:
    """Builds far levels for batches of slabs that share a mosaic; keeps its scratch memory."""

    def __init__(self) -> None:
        self._scratch = _Scratch()

    def build(self, arrays: list[np.ndarray], m: Mosaic, first: int = 1) -> list[list[np.ndarray]]:
        """For each array (a layer's neurons in tensor order, float32/float16): levels ``first``..
        of its mosaic's mean pyramid as C-contiguous float32 (h, w) arrays, padding texels
        counting as 0. The arrays are valid until the next call."""
        sizes = level_sizes(m.rows, m.cols)
        if not sizes or not arrays:
            return [[] for _ in arrays]
        first = max(1, min(int(first), len(sizes)))
        slots = m.tiles_r * m.tiles_c
        plain = not m.per_tile and m.count == m.ntiles * m.th * m.tw   # tensor order == tile order
        kr, kc = min(first, _twos(m.th)), min(first, _twos(m.tw))      # halvings inside the tiles
        pre = 1 if (kr and plain) else 0            # the first row halving reads the values themselves
        per = slots * (m.th >> pre) * m.tw
        chunk = max(1, SCRATCH_FLOATS // (3 * per))     # the tiles, their halvings, the mosaic
        out: list[list[np.ndarray]] = []
        for at in range(0, len(arrays), chunk):
            part = arrays[at: at + chunk]
            self._scratch.reserve(3 * per * len(part))
            level = self._first_level(part, m, first, kr, kc, pre)
            if at + chunk < len(arrays):
                level = level.copy()           # the next part reuses the scratch
            out.extend(_coarser(level))
        return out

    def _first_level(self, arrays: list[np.ndarray], m: Mosaic, first: int, kr: int, kc: int,
                     pre: int) -> np.ndarray:
        """(B, h, w) level ``first`` of each array's mosaic."""
        take = self._scratch.take
        b, slots, th, tw = len(arrays), m.tiles_r * m.tiles_c, m.th, m.tw
        tiles = take((b, slots, th >> pre, tw))
        if slots > m.ntiles:
            tiles[:, m.ntiles:] = 0
        for j, a in enumerate(arrays):
            t = torch.from_numpy(np.ascontiguousarray(a).reshape(-1))
            if t.dtype != torch.float32:
                t = t.float()
            if pre:
                pairs = t.view(m.ntiles, th // 2, 2, tw)
                torch.add(pairs[:, :, 0], pairs[:, :, 1], out=tiles[j, : m.ntiles])
            elif m.per_tile:             # each tile's neurons, then its padding
                dst = tiles[j].view(slots, th * tw)
                dst[:, m.per_tile:] = 0
                dst[: m.ntiles, : m.per_tile].copy_(_padded(t, m.ntiles * m.per_tile).view(m.ntiles, m.per_tile))
            else:
                dst = tiles[j].view(-1)
                n = min(t.numel(), dst.numel())
                dst[:n].copy_(t[:n])
                dst[n:] = 0
        tiles = _halve(tiles, kr - pre, kc, take)
        h, w = tiles.shape[-2:]
        img = take((b, m.tiles_r * h, m.tiles_c * w))
        img.view(b, m.tiles_r, h, m.tiles_c, w).copy_(tiles.view(b, m.tiles_r, m.tiles_c, h, w).permute(0, 1, 3, 2, 4))
        img = _halve(img, first - kr, first - kc, take)
        img.mul_(0.5 ** (_halvings(m.rows, first) + _halvings(m.cols, first)))
        return img.numpy()


def _halve(x: torch.Tensor, rows: int, cols: int, take) -> torch.Tensor:
    """Sums of ``rows`` halvings of dim -2, then ``cols`` of dim -1 (floor sizes, a side of 1
    stays 1), each into a piece of scratch."""
    for _ in range(rows):
        h = x.shape[-2]
        if h > 1:
            pairs = x[..., : h // 2 * 2, :].unflatten(-2, (h // 2, 2))
            x = torch.add(pairs[..., 0, :], pairs[..., 1, :], out=take((*x.shape[:-2], h // 2, x.shape[-1])))
    for _ in range(cols):
        w = x.shape[-1]
        if w > 1:
            x = torch.add(x[..., 0: w // 2 * 2: 2], x[..., 1: w // 2 * 2: 2], out=take((*x.shape[:-1], w // 2)))
    return x


def _padded(values: torch.Tensor, n: int) -> torch.Tensor:
    if values.numel() == n:
        return values
    out = values.new_zeros(n)
    out[: min(n, values.numel())] = values[:n]
    return out


def _coarser(first: np.ndarray) -> list[list[np.ndarray]]:
    """Per batch item: ``first`` and every coarser level, built in numpy (small from here on:
    its per-call cost is lower than torch's)."""
    levels = [first]
    a = first
    while a.shape[-2] > 1 or a.shape[-1] > 1:
        h, w = a.shape[-2:]
        if h > 1:
            a = a[..., 0: h // 2 * 2: 2, :] + a[..., 1: h // 2 * 2: 2, :]
        if w > 1:
            a = a[..., 0: w // 2 * 2: 2] + a[..., 1: w // 2 * 2: 2]
        a *= np.float32(0.5 ** ((h > 1) + (w > 1)))
        levels.append(a)
    return [[lv[j] for lv in levels] for j in range(first.shape[0])]


def mean_pyramid(values: np.ndarray, m: Mosaic, first: int = 1) -> list[np.ndarray]:
    """Levels ``first``.. of one layer's mosaic mean pyramid (own copies)."""
    return [lv.copy() for lv in PyramidBuilder().build([values], m, first)[0]]
