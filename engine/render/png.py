"""Frames to PNG files (screenshots, `neuroscape render`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def save_png(img: np.ndarray, path) -> Path:
    """Write an (H, W, 3|4) uint8 image as PNG; returns the path."""
    from PIL import Image
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(img)).save(p, format="PNG")
    return p
