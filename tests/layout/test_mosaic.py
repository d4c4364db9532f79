"""Mosaics: every tensor becomes a near-square grid of tiles -- tall tiles (per-head outputs
12 x 1024 x 64, long sequences of few features) are cut into pieces of consecutive rows side by side --
and the texels still follow memory order (to_mosaic / from_mosaic round trip, texel <-> index)."""
from __future__ import annotations

import numpy as np
import pytest

from engine.layout.mosaic import MAX_TILE_ASPECT, from_mosaic, mosaic_for, to_mosaic


@pytest.mark.parametrize("shape", [(12, 1024, 64), (1024, 64), (12, 197, 64), (197, 3), (1023, 2), (2, 7, 14),
                                   (64, 56, 56), (16, 50257), (12, 16, 16), (16, 384), (1000,)])
def test_near_square_and_memory_order(shape):
    m = mosaic_for(shape)
    assert m.th <= MAX_TILE_ASPECT * m.tw or shape[-2] % 2      # tall tiles cut where rows divide
    if len(shape) > 1 and shape[-1] <= 4096 and shape[-2] * shape[-1] > 64:
        assert 1 / 6 <= m.rows / m.cols <= 6 or shape == (16, 384)   # wide token planes stay wide (placement)
    values = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    img = to_mosaic(values, m)
    np.testing.assert_array_equal(from_mosaic(img, m), values.reshape(-1))
    idx = np.arange(0, m.count, max(1, m.count // 97))
    cols, rows = m.texel(idx)
    assert [m.index(int(c), int(r)) for c, r in zip(cols, rows)] == idx.tolist()


def test_per_head_outputs_are_no_needle():
    m = mosaic_for((12, 1024, 64))
    assert (m.th, m.tw) == (256, 64) and m.ntiles == 48
    assert m.rows / m.cols < 1.5


def test_every_shape_lays_out_within_gl_limits_and_round_trips():
    """Property test: random shapes of rank 0..6 with up to 2^28 elements all get a mosaic no side of
    which passes 16384 texels (GL_MAX_TEXTURE_SIZE on llvmpipe) nor 256:1, every neuron has its own
    texel inside it, texel -> index -> texel round-trips, and padding texels map to no neuron."""
    from math import prod

    from engine.layout.mosaic import MAX_SIDE, mosaic_for
    rng = np.random.default_rng(0)
    for _ in range(1500):
        shape, budget = [], 2 ** 28
        for _ in range(int(rng.integers(0, 7))):
            d = max(1, int(np.exp(rng.uniform(0, np.log(min(budget, 2 ** 20))))))
            shape.append(d)
            budget //= d
        m = mosaic_for(tuple(shape))
        n = prod(shape)
        assert m.rows <= MAX_SIDE and m.cols <= MAX_SIDE, shape
        assert max(m.rows, m.cols) <= 256 * min(m.rows, m.cols), shape
        assert m.ntiles * m.tile_count >= n and m.tiles_r * m.tiles_c >= m.ntiles, shape
        idx = rng.integers(0, n, 64)
        col, row = m.texel(idx)
        assert (col < m.cols).all() and (row < m.rows).all(), shape
        assert [m.index(int(c), int(r)) for c, r in zip(col, row)] == idx.tolist(), shape
        if m.per_tile:                    # the end of a tile past its neurons is padding
            assert m.index(m.tw - 1, m.th - 1) >= m.count


def test_rows_longer_than_a_tile_start_their_own_tile():
    """Vocab logits (16 tokens x 50257): each token's row fills one square tile from its top-left,
    the texture image and the flat values convert both ways."""
    from engine.layout.mosaic import from_mosaic, mosaic_for, to_mosaic
    m = mosaic_for((16, 50257))
    assert m.ntiles == 16 and m.per_tile == 50257 and m.th * m.tw > 50257
    for t in range(16):
        col, row = m.texel(t * 50257)
        assert (col, row) == ((t % m.tiles_c) * m.tw, (t // m.tiles_c) * m.th)
    v = np.random.default_rng(1).standard_normal(16 * 50257).astype(np.float32)
    img = to_mosaic(v, m)
    np.testing.assert_array_equal(from_mosaic(img, m), v)
    c, r = m.texel(np.arange(v.size))
    np.testing.assert_array_equal(img[r, c], v)
