"""The overview strip (engine/scene/overview.py) over the frame at its own pixel rectangle, bottom left.
Fed through Renderer.set_strip; uploaded only when the picture changes (the marker moved)."""
from __future__ import annotations

import numpy as np
from OpenGL import GL

from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shared import ImageRect
from engine.render.text import premultiply


@register_pass
class StripPass(Pass):
    stage = Stage.OVERLAY
    order = 3

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.image = ImageRect(shared, GL.GL_NEAREST, GL.GL_NEAREST)
        self.rect: tuple[int, int, int, int] | None = None

    def set(self, image: np.ndarray | None, rect: tuple[int, int, int, int] | None = None) -> None:
        """(H, W, 4) straight-alpha RGBA uint8 at ``rect`` = (x0, y0, x1, y1) framebuffer pixels, origin
        top-left; None hides the strip."""
        if image is None:
            self.rect = None
            return
        img = np.asarray(image, np.uint8)
        if img.ndim != 3 or img.shape[2] != 4 or rect is None:
            raise ValueError(f"strip image must be (H, W, 4) uint8 with a rect, got shape {img.shape}")
        self.image.upload(np.ascontiguousarray(premultiply(img)))
        self.rect = tuple(int(v) for v in rect)

    def draw(self, frame, scene) -> None:
        if self.rect is None:
            return
        W, H = frame.size
        x0, y0, x1, y1 = self.rect
        self.image.draw((2.0 * x0 / W - 1, 1 - 2.0 * y1 / H, 2.0 * x1 / W - 1, 1 - 2.0 * y0 / H))

    def release(self) -> None:
        self.image.release()
