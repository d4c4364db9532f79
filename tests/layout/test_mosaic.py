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
