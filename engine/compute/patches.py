"""Image patches as tokens: a vision transformer's token rows are the input image cut into p x p
patches (after a [CLS] token when there is one); their thumbnails label those rows in the scene, as
words label a language model's (engine/scene/tokens.py)."""
from __future__ import annotations

import numpy as np

from engine.compute.images import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["patch_tokens", "PATCH_SIZES"]

PATCH_SIZES = (32, 16, 14, 8)


def patch_tokens(image, n: int) -> tuple[list[str], list[np.ndarray | None]] | None:
    """(names, thumbnails) of ``n`` tokens for a (3, H, W) (or (1, 3, H, W)) ImageNet-normalized image
    tensor, when the image cut into square patches gives n tokens (or n - 1 plus a [CLS]); else None."""
    a = np.asarray(image.detach().float().cpu() if hasattr(image, "detach") else image, np.float32)
    a = a.reshape(a.shape[-3:]) if a.ndim == 4 and a.shape[0] == 1 else a
    if a.ndim != 3 or a.shape[0] != 3:
        return None
    _, h, w = a.shape
    for p in PATCH_SIZES:
        if h % p or w % p:
            continue
        gh, gw = h // p, w // p
        cls = n - gh * gw
        if cls not in (0, 1):
            continue
        rgb = a * np.array(IMAGENET_STD, np.float32)[:, None, None] + np.array(IMAGENET_MEAN, np.float32)[:, None, None]
        rgb = (np.clip(np.nan_to_num(rgb), 0.0, 1.0) * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)
        names = ["[CLS]"] * cls + [f"patch {r},{c}" for r in range(gh) for c in range(gw)]
        pics: list[np.ndarray | None] = [None] * cls
        pics += [np.ascontiguousarray(rgb[r * p:(r + 1) * p, c * p:(c + 1) * p]) for r in range(gh) for c in range(gw)]
        return names, pics
    return None
