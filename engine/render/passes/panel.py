"""An RGBA image panel in the bottom-right corner (a picked conv layer's kernels), scaled down to
fit. Fed through Renderer.set_panel."""
from __future__ import annotations

import numpy as np
from OpenGL import GL

from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shared import ImageRect
from engine.render.text import premultiply

MARGIN = 12                  # pixels from the bottom-right corner
MAX_FRACTION = 0.45          # of the framebuffer's width / height; larger panels are scaled down


@register_pass
class PanelPass(Pass):
    stage = Stage.OVERLAY
    order = 2

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.image = ImageRect(shared, GL.GL_LINEAR, GL.GL_NEAREST)
        self.shown = False

    @property
    def size(self) -> tuple[int, int]:
        """(w, h) pixels of the image; (0, 0): no panel."""
        return self.image.size if self.shown else (0, 0)

    def set(self, image: np.ndarray | None) -> None:
        """(H, W, 4) uint8 straight-alpha RGBA (or (H, W, 3)) image; None hides the panel."""
        if image is None:
            self.shown = False
            return
        img = np.asarray(image, np.uint8)
        if img.ndim != 3 or img.shape[2] not in (3, 4) or img.shape[0] < 1 or img.shape[1] < 1:
            raise ValueError(f"panel image must be (H, W, 3|4) uint8, got shape {img.shape}")
        if img.shape[2] == 3:
            img = np.concatenate([img, np.full(img.shape[:2] + (1,), 255, np.uint8)], axis=2)
        self.image.upload(np.ascontiguousarray(premultiply(img)))
        self.shown = True

    def rect(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) framebuffer pixels of the panel (origin bottom-left), fitted into
        MAX_FRACTION of the frame (an integer shrink keeps kernels crisp when possible)."""
        W, H = size
        pw, ph = self.image.size
        s = min(1.0, MAX_FRACTION * W / pw, MAX_FRACTION * H / ph)
        w, h = max(1, int(pw * s)), max(1, int(ph * s))
        x1, y0 = W - MARGIN, MARGIN
        return x1 - w, y0, x1, y0 + h

    def draw(self, frame, scene) -> None:
        if not self.shown:
            return
        W, H = frame.size
        x0, y0, x1, y1 = self.rect(frame.size)
        self.image.draw((2.0 * x0 / W - 1, 2.0 * y0 / H - 1, 2.0 * x1 / W - 1, 2.0 * y1 / H - 1))

    def release(self) -> None:
        self.image.release()
