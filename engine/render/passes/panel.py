"""An RGBA image panel in the bottom-right corner (a picked conv layer's kernels), scaled down to
fit, drawn with the HUD's textured-rectangle program. Fed through Renderer.set_panel."""
from __future__ import annotations

import numpy as np
from OpenGL import GL

from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shaders import Program
from engine.render.shared import UNIT_IMAGE, delete, sampler_units

MARGIN = 12                  # pixels from the bottom-right corner
MAX_FRACTION = 0.45          # of the framebuffer's width / height; larger panels are scaled down


@register_pass
class PanelPass(Pass):
    stage = Stage.OVERLAY
    order = 2

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.prog = Program("hud.vert", "hud.frag")
        sampler_units(self.prog, {"u_image": UNIT_IMAGE})
        self.tex = int(GL.glGenTextures(1))
        self.size = (0, 0)         # (w, h) pixels of the image; 0: no panel

    def set(self, image: np.ndarray | None) -> None:
        """(H, W, 4) uint8 straight-alpha RGBA (or (H, W, 3)) image; None hides the panel."""
        if image is None:
            self.size = (0, 0)
            return
        img = np.asarray(image, np.uint8)
        if img.ndim != 3 or img.shape[2] not in (3, 4) or img.shape[0] < 1 or img.shape[1] < 1:
            raise ValueError(f"panel image must be (H, W, 3|4) uint8, got shape {img.shape}")
        if img.shape[2] == 3:
            img = np.concatenate([img, np.full(img.shape[:2] + (1,), 255, np.uint8)], axis=2)
        a = img[..., 3:4].astype(np.uint16)
        pre = np.ascontiguousarray(np.concatenate([(img[..., :3] * a + 127) // 255, a], axis=2).astype(np.uint8))
        h, w = pre.shape[:2]
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, w, h, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, pre)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_NEAREST)
        for p in (GL.GL_TEXTURE_WRAP_S, GL.GL_TEXTURE_WRAP_T):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, p, GL.GL_CLAMP_TO_EDGE)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        self.size = (w, h)

    def rect(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) framebuffer pixels of the panel (origin bottom-left), fitted into
        MAX_FRACTION of the frame (an integer shrink keeps kernels crisp when possible)."""
        W, H = size
        pw, ph = self.size
        s = min(1.0, MAX_FRACTION * W / pw, MAX_FRACTION * H / ph)
        w, h = max(1, int(pw * s)), max(1, int(ph * s))
        x1, y0 = W - MARGIN, MARGIN
        return x1 - w, y0, x1, y0 + h

    def draw(self, frame, scene) -> None:
        if not self.size[0]:
            return
        W, H = frame.size
        x0, y0, x1, y1 = self.rect(frame.size)
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glUseProgram(self.prog.id)
        GL.glUniform4f(self.prog.loc("u_rect"), 2.0 * x0 / W - 1, 2.0 * y0 / H - 1, 2.0 * x1 / W - 1, 2.0 * y1 / H - 1)
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_IMAGE)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.tex)
        GL.glBindVertexArray(self.shared.empty_vao)
        GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        GL.glEnable(GL.GL_DEPTH_TEST)

    def release(self) -> None:
        delete(textures=[self.tex])
        self.tex = 0
        self.prog.release()
