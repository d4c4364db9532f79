"""HUD: text lines on a translucent panel in the top-left corner (hud.vert/hud.frag), re-rendered
with Pillow only when the lines or the font size (which follows the framebuffer height) change."""
from __future__ import annotations

import numpy as np
from OpenGL import GL

from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shaders import Program
from engine.render.shared import UNIT_IMAGE, delete, sampler_units
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
        self.prog = Program("hud.vert", "hud.frag")
        sampler_units(self.prog, {"u_image": UNIT_IMAGE})
        self.tex = int(GL.glGenTextures(1))
        self.lines: list[str] | None = None
        self.font = 0
        self.size = (0, 0)           # pixels of the text image; 0: nothing to draw

    def set(self, lines: list[str] | None, target: tuple[int, int]) -> None:
        """Show ``lines`` in a ``target``-sized framebuffer."""
        lines = list(lines or [])
        font = font_px(target)
        if lines == self.lines and font == self.font:
            return
        self.lines, self.font = lines, font
        if not lines:
            self.size = (0, 0)
            return
        img = render_panel(lines, font)
        h, w = img.shape[:2]
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        if (w, h) == self.size:
            GL.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, 0, w, h, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, img)
        else:
            GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, w, h, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, img)
            GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_NEAREST)
            GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_NEAREST)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        self.size = (w, h)

    def draw(self, frame, scene) -> None:
        if not self.size[0]:
            return
        w, h = frame.size
        tw, th = self.size
        x0 = -1.0 + 2.0 * MARGIN / w
        y1 = 1.0 - 2.0 * MARGIN / h
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glUseProgram(self.prog.id)
        GL.glUniform4f(self.prog.loc("u_rect"), x0, y1 - 2.0 * th / h, x0 + 2.0 * tw / w, y1)
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_IMAGE)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.tex)
        GL.glBindVertexArray(self.shared.empty_vao)
        GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        GL.glEnable(GL.GL_DEPTH_TEST)

    def release(self) -> None:
        delete(textures=[self.tex])
        self.tex = 0
        self.prog.release()
