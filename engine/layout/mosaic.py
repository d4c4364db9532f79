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
MAX_MOSAIC_ASPECT = 256.0   # flatter mosaics (2 rows of 4000) lay each row out as a square tile instead
MAX_SIDE = 16384        # GL_MAX_TEXTURE_SIZE on llvmpipe: no mosaic side is longer
STEPS_PER_ROW = 32      # a recurrent state's time steps per row of planes before it wraps


@dataclass(frozen=True)
class Mosaic:
    count: int      # neurons
    ntiles: int
    th: int         # tile height (texels)
    tw: int         # tile width
    tiles_r: int
    tiles_c: int
    per_tile: int = 0   # neurons in a tile when fewer than th * tw (a long row in a square tile; the rest pads)

    @property
    def tile_count(self) -> int:
        """Neurons per tile."""
        return self.per_tile or self.th * self.tw

    @property
    def rows(self) -> int:
        return self.tiles_r * self.th

    @property
    def cols(self) -> int:
        return self.tiles_c * self.tw

    def texel(self, index: int | np.ndarray) -> tuple:
        """(col, row) of flattened neuron ``index`` (tensor order)."""
        index = np.asarray(index)
        t, local = np.divmod(index, self.tile_count)
        y, x = np.divmod(local, self.tw)
        tr, tc = np.divmod(t, self.tiles_c)
        return tc * self.tw + x, tr * self.th + y

    def index(self, col: int, row: int) -> int:
        """Flattened neuron index of texel (col, row); >= count on padding."""
        tr, y = divmod(row, self.th)
        tc, x = divmod(col, self.tw)
        local = y * self.tw + x
        if local >= self.tile_count:
            return self.count
        return (tr * self.tiles_c + tc) * self.tile_count + local

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


def _square_tiles(n: int, length: int, count: int) -> Mosaic:
    """``n`` runs of ``length`` consecutive neurons, each in a near-square tile of its own (padded)."""
    th, tw = _grid(length)
    tr, tc = _grid(n, th / tw)
    return Mosaic(count, n, th, tw, tr, tc, length if th * tw != length else 0)


def _fits(m: Mosaic) -> bool:
    return m.rows <= MAX_SIDE and m.cols <= MAX_SIDE and max(m.rows, m.cols) <= MAX_MOSAIC_ASPECT * min(m.rows, m.cols)


def mosaic_for(shape: tuple[int, ...]) -> Mosaic:
    """Mosaic of one sample's output (``shape`` without the batch dim), for any shape: feature maps
    [.., H, W] as tiles of H x W; tiles much taller than wide (per-head outputs 12 x 1024 x 64, long
    sequences of narrow features) cut into pieces of consecutive rows laid side by side, so no layer
    stands as a needle; rows wider than MAX_COLS (vocab logits, long signals) each in a square tile of
    their own; whatever would still be too flat or longer than MAX_SIDE, as square tiles or one vector."""
    shape = tuple(int(s) for s in shape) or (1,)
    count = prod(shape)
    if count == 0:
        return Mosaic(1, 1, 1, 1, 1, 1)
    if len(shape) == 1:
        r, c = _grid(count)
        return Mosaic(count, 1, r, c, 1, 1)
    lead, h, w = prod(shape[:-2]), shape[-2], shape[-1]
    if w > MAX_COLS:
        m = _square_tiles(lead * h, w, count)
    else:
        k = _fold(h, w)
        tr, tc = _grid(lead * k, (h // k) / w)
        m = Mosaic(count, lead * k, h // k, w, tr, tc)
    if not _fits(m):
        m = _square_tiles(lead * h, w, count)         # each row a tile
    if not _fits(m):
        m = _square_tiles(lead, h * w, count)         # each H x W map a tile
    if not _fits(m):
        r, c = _grid(count)
        m = Mosaic(count, 1, r, c, 1, 1)
    return m


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
    if m.per_tile:
        n = m.ntiles * m.per_tile
        padded = np.zeros(n, np.float32)
        padded[: min(n, flat.size)] = flat[:n]
        out.reshape(m.tiles_r * m.tiles_c, -1)[: m.ntiles, : m.per_tile] = padded.reshape(m.ntiles, m.per_tile)
    else:
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
    if m.per_tile:
        tiles = tiles.reshape(m.tiles_r * m.tiles_c, -1)[: m.ntiles, : m.per_tile]
    flat = tiles.reshape(-1)[: m.count].astype(np.float32)
    if log:
        flat = np.sign(flat) * np.expm1(np.abs(flat))
    if prescale not in (0.0, 1.0):
        flat = flat / np.float32(prescale)
    return flat
