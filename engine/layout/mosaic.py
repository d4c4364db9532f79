"""How a layer's output tensor maps onto a 2D mosaic of texels (one texel per neuron).

Feature maps [C, H, W] become a grid of C tiles of H x W; token planes [T, D] stay T x D;
vectors [N] become a near-square single tile. The same mapping places neurons in 3D (layout),
fills textures (compute) and picks neurons (app), so it lives in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import ceil, prod, sqrt

import numpy as np

MAX_COLS = 4096  # keep textures far below GL_MAX_TEXTURE_SIZE and slabs readable
MAX_TILE_ASPECT = 4.0   # taller tiles are cut into stacked pieces laid side by side (memory order kept)
STEPS_PER_ROW = 32      # a recurrent state's time steps per row of planes before it wraps


@dataclass(frozen=True)
class Mosaic:
    count: int      # neurons
    ntiles: int
    th: int         # tile height (texels)
    tw: int         # tile width
    tiles_r: int
    tiles_c: int

    @property
    def rows(self) -> int:
        return self.tiles_r * self.th

    @property
    def cols(self) -> int:
        return self.tiles_c * self.tw

    def texel(self, index: int | np.ndarray) -> tuple:
        """(col, row) of flattened neuron ``index`` (tensor order)."""
        index = np.asarray(index)
        t, local = np.divmod(index, self.th * self.tw)
        y, x = np.divmod(local, self.tw)
        tr, tc = np.divmod(t, self.tiles_c)
        return tc * self.tw + x, tr * self.th + y

    def index(self, col: int, row: int) -> int:
        """Flattened neuron index of texel (col, row); may be >= count on padding."""
        tr, y = divmod(row, self.th)
        tc, x = divmod(col, self.tw)
        return (tr * self.tiles_c + tc) * self.th * self.tw + y * self.tw + x

    def tile_center(self, t: int) -> tuple[float, float]:
        tr, tc = divmod(t, self.tiles_c)
        return tc * self.tw + self.tw / 2, tr * self.th + self.th / 2


def _grid(n: int, aspect: float = 1.0) -> tuple[int, int]:
    """rows, cols for n cells of aspect h/w so the grid is near-square."""
    cols = max(1, ceil(sqrt(n * aspect)))
    return ceil(n / cols), cols


def _fold(h: int, w: int) -> int:
    """Pieces to cut an h x w tile into (a divisor of h) so that each is at most MAX_TILE_ASPECT
    times taller than wide: rows stay whole and in order, so the mosaic still follows memory."""
    if h <= MAX_TILE_ASPECT * w:
        return 1
    need = ceil(h / (MAX_TILE_ASPECT * w))
    for k in range(need, h + 1):
        if h % k == 0:
            return k
    return 1


def mosaic_for(shape: tuple[int, ...]) -> Mosaic:
    """Mosaic of one sample's output (``shape`` without the batch dim). Tiles much taller than wide
    (per-head outputs 12 x 1024 x 64, long sequences of narrow features) are cut into pieces of
    consecutive rows laid side by side, so no layer stands as a needle."""
    shape = tuple(int(s) for s in shape) or (1,)
    count = prod(shape)
    if count == 0:
        return Mosaic(1, 1, 1, 1, 1, 1)
    if len(shape) == 1:
        r, c = _grid(count)
        return Mosaic(count, 1, r, c, 1, 1)
    if len(shape) == 2:
        t, d = shape
        if d <= MAX_COLS and t <= MAX_COLS:
            k = _fold(t, d)
            if k == 1:
                return Mosaic(count, 1, t, d, 1, 1)
            tr, tc = _grid(k, (t // k) / d)
            return Mosaic(count, k, t // k, d, tr, tc)
        th, tw = _grid(d)          # very wide rows (vocab logits): each token its own tile
        tr, tc = _grid(t, th / tw)
        return Mosaic(count, t, th, tw, tr, tc)
    h, w = shape[-2], shape[-1]
    k = _fold(h, w)
    h, c = h // k, prod(shape[:-2]) * k
    tr, tc = _grid(c, h / w)
    return Mosaic(count, c, h, w, tr, tc)


def _near_square(n: int) -> tuple[int, int]:
    """(h, w) with h * w == n exactly, h <= w, as close to square as n's divisors allow."""
    h = max(d for d in range(1, int(sqrt(n)) + 1) if n % d == 0)
    return h, n // h


def time_mosaic(steps: int, width: int) -> Mosaic:
    """A recurrent state (steps x width) unrolled in time: one near-square plane per step, the steps
    left to right like an unrolled RNN in a textbook, wrapping after STEPS_PER_ROW steps (or fewer,
    within MAX_COLS). A width with no near-square shape (a prime) keeps one row per step."""
    if steps * width == 0:
        return mosaic_for((steps, width))
    th, tw = _near_square(width)
    if th * 4 < tw and width > 16:
        return mosaic_for((steps, width))
    tc = max(1, min(steps, STEPS_PER_ROW, MAX_COLS // tw))
    return Mosaic(steps * width, steps, th, tw, ceil(steps / tc), tc)


def to_mosaic(values: np.ndarray, m: Mosaic | None = None) -> np.ndarray:
    """(rows, cols) float32 texture image of one sample's values; padding is 0."""
    values = np.asarray(values, dtype=np.float32)
    m = m or mosaic_for(values.shape)
    flat = values.reshape(-1)
    out = np.zeros((m.tiles_r * m.tiles_c, m.th, m.tw), dtype=np.float32)
    out.reshape(-1)[: flat.size] = flat
    out = out.reshape(m.tiles_r, m.tiles_c, m.th, m.tw).transpose(0, 2, 1, 3)
    return np.ascontiguousarray(out.reshape(m.rows, m.cols))


def from_mosaic(image: np.ndarray, m: Mosaic, *, prescale: float = 1.0, log: bool = False) -> np.ndarray:
    """Flat float32 values (tensor order, ``m.count`` long) of a (rows, cols) mosaic image: the
    inverse of ``to_mosaic``. ``prescale`` and ``log`` undo an encoding (texel = value * prescale,
    or sign(v) * log1p(|v|) when log is on)."""
    img = np.asarray(image)
    if img.shape != (m.rows, m.cols):
        raise ValueError(f"mosaic image is {img.shape}, expected {(m.rows, m.cols)}")
    tiles = img.reshape(m.tiles_r, m.th, m.tiles_c, m.tw).transpose(0, 2, 1, 3)
    flat = tiles.reshape(-1)[: m.count].astype(np.float32)
    if log:
        flat = np.sign(flat) * np.expm1(np.abs(flat))
    if prescale not in (0.0, 1.0):
        flat = flat / np.float32(prescale)
    return flat
