"""Kernel panel images of conv layers: shape, layout and the normalized weights they show."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from engine.compute.kernels import GAP_RGBA, MAX_IN, MAX_OUT, kernel_images, kernel_summary, normalize_rgb
from engine.model.graph import Layer


def conv_layer(name="c"):
    return Layer(1, name, "conv", "Conv2d", (1, 1, 1, 1))


def test_first_layer_rgb_kernels_match_normalized_weights():
    torch.manual_seed(0)
    model = nn.Sequential()
    model.add_module("c", nn.Conv2d(3, 5, 3))
    img = kernel_images(model, conv_layer(), max_px=200)
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 4
    assert (img[..., 3] == 255).all()
    # 5 kernels: 2 rows x 3 columns, gap 2 px, kernels 3*scale px
    H, W = img.shape[:2]
    scale = (W - 4 * 2) // (3 * 3)
    assert (H, W) == (2 * 3 * scale + 3 * 2, 3 * 3 * scale + 4 * 2) and 1 <= scale <= 16
    assert tuple(img[0, 0]) == GAP_RGBA
    w = model.c.weight.detach().numpy()
    for o in range(5):
        y0 = 2 + (o // 3) * (3 * scale + 2)
        x0 = 2 + (o % 3) * (3 * scale + 2)
        tile = img[y0:y0 + 3 * scale:scale, x0:x0 + 3 * scale:scale, :3].astype(float) / 255
        assert np.allclose(tile, normalize_rgb(w[o]), atol=1 / 255 + 1e-6)
        # nearest upscaling: each weight is a scale x scale block of one colour
        block = img[y0:y0 + scale, x0:x0 + scale, :3]
        assert (block == block[0, 0]).all()
        t = normalize_rgb(w[o])
        assert t.min() == 0.0 and t.max() == 1.0
    assert "RGB" in kernel_summary(model, conv_layer())


def test_deeper_kernels_are_capped_diverging_blocks():
    torch.manual_seed(1)
    model = nn.Sequential()
    model.add_module("c", nn.Conv2d(40, 100, 3))
    img = kernel_images(model, conv_layer(), max_px=480)
    assert max(img.shape[:2]) <= 480 and img.shape[2] == 4
    # 64 blocks of 16 kernels (4x4, 1px apart), 8x8 blocks 3px apart
    H, W = img.shape[:2]
    scale = (W - 9 * 3 - 8 * 3) // (8 * 4 * 3)
    assert scale >= 1 and W == 8 * (4 * 3 * scale + 3) + 9 * 3 and H == W
    w = model.c.weight.detach().numpy()
    # the strongest weight of block 0 is full orange or full blue
    o = 0
    i, y, x = np.unravel_index(np.abs(w[o, :MAX_IN]).argmax(), w[o, :MAX_IN].shape)
    py = 3 + (i // 4) * (3 * scale + 1) + y * scale
    px = 3 + (i % 4) * (3 * scale + 1) + x * scale
    rgb = img[py, px, :3].astype(int)
    assert tuple(rgb) in {(255, 140, 38), (51, 140, 255)}
    assert (rgb[0] > rgb[2]) == (w[o, i, y, x] > 0)
    s = kernel_summary(model, conv_layer())
    assert f"{MAX_OUT} of 100" in s and f"{MAX_IN} of 40" in s


def test_not_a_conv_is_a_clear_error():
    model = nn.Sequential()
    model.add_module("c", nn.Linear(3, 3))
    with pytest.raises(ValueError, match="not a Conv2d"):
        kernel_images(model, conv_layer())
    assert kernel_summary(model, conv_layer()) == ""
