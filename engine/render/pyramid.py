"""Mean pyramid of a layer's mosaic straight from tensor-order values (no GL).

Far slabs sample it instead of the neurons, so every neuron is averaged into the pixels it
covers. Level k is the 2x2 mean of level k-1 with GL's sizes (max(1, n >> k)), level 0 being the
mosaic itself, which is never built: a far slab needs no level finer than its pixels, so the
first level wanted (``first``) is pooled from the neurons in one go -- inside the tiles when
their size allows (blocks never straddle two feature maps), else after putting the values in
mosaic order -- and only the coarser levels are derived from it. torch does the pooling.
"""
from __future__ import annotations

import numpy as np
import torch

from engine.layout.mosaic import Mosaic


def level_sizes(rows: int, cols: int) -> list[tuple[int, int]]:
    """(h, w) of levels 1.. down to 1x1 (empty for a 1x1 mosaic)."""
    out, h, w = [], rows, cols
    while h > 1 or w > 1:
        h, w = max(1, h // 2), max(1, w // 2)
        out.append((h, w))
    return out


def _block(n: int, k: int) -> tuple[int, int]:
    """(output size, block size) along a side of n texels at level k: the block level k's
    texel averages when levels are built by repeated 2x2 means with floor sizes."""
    if n <= 1:
        return 1, 1
    return max(1, n >> k), min(1 << k, 1 << (n.bit_length() - 1))


def _pool(img: torch.Tensor, k: int) -> torch.Tensor:
    """Level-k means of the last two dims of ``img`` (as level 0) in two strided sums."""
    h, w = img.shape[-2:]
    if k == 1 and h > 1 and w > 1:        # pairwise adds: ~3x faster than strided sums here
        rows = img[..., : h // 2 * 2, :].unflatten(-2, (h // 2, 2))
        img = rows[..., 0, :] + rows[..., 1, :]
        cols = img[..., : w // 2 * 2].unflatten(-1, (w // 2, 2))
        return (cols[..., 0] + cols[..., 1]) * 0.25
    (oh, by), (ow, bx) = _block(h, k), _block(w, k)
    out = img[..., : oh * by, :]
    if by > 1:
        out = out.unflatten(-2, (oh, by)).sum(-2)
    out = out[..., : ow * bx]
    if bx > 1:
        out = out.unflatten(-1, (ow, bx)).sum(-1)
    return out * (1.0 / (by * bx)) if by * bx > 1 else out


def _padded(values: torch.Tensor, n: int) -> torch.Tensor:
    if values.numel() == n:
        return values
    out = values.new_zeros(n)
    out[: min(n, values.numel())] = values[:n]
    return out


def mean_pyramid(values: np.ndarray, m: Mosaic, first: int = 1) -> list[np.ndarray]:
    """Levels ``first``.. of the mosaic's mean pyramid as C-contiguous float32 (h, w) arrays;
    padding texels count as 0. ``values``: the layer's neurons in tensor order."""
    sizes = level_sizes(m.rows, m.cols)
    if not sizes:
        return []
    first = max(1, min(int(first), len(sizes)))
    t = torch.from_numpy(np.ascontiguousarray(values).reshape(-1))
    if t.dtype != torch.float32:
        t = t.float()
    if m.per_tile:               # each tile's neurons, then its padding
        flat = t.new_zeros(m.tiles_r * m.tiles_c, m.th * m.tw)
        flat[: m.ntiles, : m.per_tile] = _padded(t, m.ntiles * m.per_tile).view(m.ntiles, m.per_tile)
        t = flat.view(-1)
    tiles = _padded(t, m.rows * m.cols).view(m.tiles_r, m.tiles_c, m.th, m.tw)
    s = 1 << first
    if m.tiles_r == 1 and m.tiles_c == 1:
        level = _pool(tiles[0, 0], first)
    elif m.th % s == 0 and m.tw % s == 0:
        level = _pool(tiles, first).permute(0, 2, 1, 3).reshape(sizes[first - 1])
    else:
        level = _pool(tiles.permute(0, 2, 1, 3).reshape(m.rows, m.cols), first)
    level = level.contiguous().numpy()
    levels = [level]
    while level.shape[0] > 1 or level.shape[1] > 1:   # small from here on: numpy's per-op cost is lower
        level = _pool_np(level)
        levels.append(level)
    return levels


def _pool_np(a: np.ndarray) -> np.ndarray:
    """2x2 mean with GL's floor sizes for a small float32 level; a side of 1 stays 1."""
    h, w = a.shape
    if h > 1:
        a = a[0: h // 2 * 2: 2] + a[1: h // 2 * 2: 2]
    if w > 1:
        a = a[:, 0: w // 2 * 2: 2] + a[:, 1: w // 2 * 2: 2]
    return np.ascontiguousarray(a * np.float32(0.5 ** ((h > 1) + (w > 1))), dtype=np.float32)
