"""HUD: text lines on a translucent panel in the top-left corner, re-rendered with Pillow only
when the lines or the font size (which follows the framebuffer height) change. Fed through
Renderer.set_hud."""
from __future__ import annotations

import numpy as np
from OpenGL import GL

from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shared import ImageRect
from engine.render.text import render_panel

MARGIN = 12                  # pixels from the top-left corner


def font_px(size: tuple[int, int]) -> int:
    return int(np.clip(round(size[1] / 54), 12, 28))


@register_pass
class HudPass(Pass):
    stage = Stage.OVERLAY
    order = 1

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.image = ImageRect(shared, GL.GL_NEAREST, GL.GL_NEAREST)
        self.lines: list[str] | None = None
        self.font = 0
        self.centered = False        # a loading screen's panel sits in the middle of the window

    @property
    def size(self) -> tuple[int, int]:
        """Pixels of the text panel; (0, 0) when there is none."""
        return self.image.size if self.lines else (0, 0)

    def set(self, lines: list[str] | None, target: tuple[int, int], centered: bool = False) -> None:
        """Show ``lines`` in a ``target``-sized framebuffer (top-left, or in the middle)."""
        lines = list(lines or [])
        self.centered = centered
        font = font_px(target)
        if lines == self.lines and font == self.font:
            return
        self.lines, self.font = lines, font
        if lines:
            self.image.upload(render_panel(lines, font))

    def draw(self, frame, scene) -> None:
        if not self.lines:
            return
        w, h = frame.size
        tw, th = self.image.size
        x0 = -1.0 + 2.0 * MARGIN / w
        y1 = 1.0 - 2.0 * MARGIN / h
        if self.centered:
            x0, y1 = -tw / w, th / h
        self.image.draw((x0, y1 - 2.0 * th / h, x0 + 2.0 * tw / w, y1))

    def release(self) -> None:
        self.image.release()
