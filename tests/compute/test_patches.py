"""A vision transformer's tokens are the input's patches: thumbnails cut from the (de-normalized)
input, after a [CLS] token when the model has one, found from the token count alone."""
from __future__ import annotations

import numpy as np
import torch

from engine.compute.images import IMAGENET_MEAN, IMAGENET_STD
from engine.compute.patches import patch_tokens


def test_patches_of_a_vit_input():
    rgb = np.random.default_rng(0).uniform(0, 1, (3, 224, 224)).astype(np.float32)
    norm = (rgb - np.array(IMAGENET_MEAN, np.float32)[:, None, None]) / np.array(IMAGENET_STD, np.float32)[:, None, None]
    names, pics = patch_tokens(torch.from_numpy(norm)[None], 197)             # ViT-B/16: [CLS] + 14 x 14
    assert len(names) == len(pics) == 197 and names[0] == "[CLS]" and pics[0] is None
    assert names[1] == "patch 0,0" and names[15] == "patch 1,0"
    want = (rgb[:, 16:32, 32:48].transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8)   # row 1, column 2
    np.testing.assert_allclose(pics[1 + 14 + 2].astype(int), want.astype(int), atol=1)
    names, pics = patch_tokens(torch.from_numpy(norm), 49)                    # 32 px patches, no [CLS]
    assert names[0] == "patch 0,0" and pics[0].shape == (32, 32, 3)
    assert patch_tokens(torch.from_numpy(norm), 50 + 7) is None                # no patch size fits
    assert patch_tokens(torch.zeros(1, 16), 4) is None
