"""Frames to PNG: files (screenshots, `neuroscape render`) and bytes (pictures in notebooks)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def encode_png(img: np.ndarray) -> bytes:
    """An (H, W, 3|4) uint8 image as PNG bytes (a notebook's picture of a frame)."""
    import io

    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(img)).save(buf, format="PNG")
    return buf.getvalue()


def save_png(img: np.ndarray, path) -> Path:
    """Write an (H, W, 3|4) uint8 image as PNG (under a temporary name, renamed when complete, so a full
    disk leaves no broken file); returns the path."""
    from PIL import Image

    from engine.render.errors import RenderError
    p = Path(path)
    tmp = p.with_name(p.name + ".partial.png")
    try:
        if p.parent and not p.parent.exists():
            p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.ascontiguousarray(img)).save(tmp, format="PNG")
        tmp.replace(p)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise RenderError(f"cannot write {p} ({e.strerror or e}): free some disk space or choose another "
                          f"-o") from None
    return p
