"""Overlays drawn over a frame: highlighted segments (a picked neuron's strongest inputs) and an
RGBA image panel in the bottom-right corner (a picked conv layer's kernels).

Owned by the Renderer, which calls ``draw_lines`` and ``draw_panel`` at the end of a frame with
premultiplied-alpha blending on; both leave the depth test enabled as they found it.
"""
from __future__ import annotations

import ctypes

import numpy as np
from OpenGL import GL

from engine.render.shaders import Program

PANEL_MARGIN = 12            # pixels from the bottom-right corner
PANEL_MAX_FRACTION = 0.45    # of the framebuffer's width / height; larger panels are scaled down
_FLOAT = ctypes.sizeof(ctypes.c_float)
_CORNERS = np.array([[0, -1], [0, 1], [1, 1], [0, -1], [1, 1], [1, -1]], np.float32)  # (t, side) per vertex


def highlight_vertices(positions: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """(6N, 9) float32 quad vertices (from xyz, to xyz, t, side, weight) of N segments given as
    (2N, 3) endpoints and (2N,) weights (a segment takes its first endpoint's weight; None: 1)."""
    pos = np.asarray(positions, np.float32).reshape(-1, 3)
    n = len(pos) // 2
    w = np.ones(2 * n, np.float32) if weights is None else np.asarray(weights, np.float32).reshape(-1)
    if len(w) < 2 * n:
        raise ValueError(f"{len(w)} highlight weights for {2 * n} endpoints")
    v = np.empty((n, 6, 9), np.float32)
    v[:, :, 0:3] = pos[0:2 * n:2, None]
    v[:, :, 3:6] = pos[1:2 * n:2, None]
    v[:, :, 6:8] = _CORNERS
    v[:, :, 8] = w[0:2 * n:2, None]
    return v.reshape(-1, 9)


class Overlay:
    """Highlight segments + image panel; needs the renderer's HUD program (a textured rect)."""

    def __init__(self, hud_prog: Program, empty_vao: int, image_unit: int) -> None:
        self.prog = Program("highlight.vert", "highlight.frag")
        self.hud_prog, self.empty_vao, self.image_unit = hud_prog, empty_vao, image_unit
        self._loc_width = self.prog.loc("u_width")
        self._loc_rect = hud_prog.loc("u_rect")
        self.vao = int(GL.glGenVertexArrays(1))
        self.vbo = int(GL.glGenBuffers(1))
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        for loc, size, off in ((0, 3, 0), (1, 3, 3), (2, 2, 6), (3, 1, 8)):
            GL.glEnableVertexAttribArray(loc)
            GL.glVertexAttribPointer(loc, size, GL.GL_FLOAT, GL.GL_FALSE, 9 * _FLOAT, ctypes.c_void_p(off * _FLOAT))
        GL.glBindVertexArray(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
        self.vertices = 0
        self.tex = int(GL.glGenTextures(1))
        self.panel_size = (0, 0)         # (w, h) pixels; 0: no panel
        self.width_px: float | None = None

    def set_highlight(self, positions: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Segments to draw bright on top: (2N, 3) endpoints, optional (2N,) weights in [-1, 1]
        (sign: warm positive, cold negative; |w| opacity)."""
        verts = highlight_vertices(positions, weights)
        self.vertices = len(verts)
        if not self.vertices:
            return
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, verts.nbytes, verts, GL.GL_DYNAMIC_DRAW)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

    def clear_highlight(self) -> None:
        """Stop drawing highlighted segments."""
        self.vertices = 0

    def set_panel(self, image: np.ndarray | None) -> None:
        """(H, W, 4) uint8 straight-alpha RGBA (or (H, W, 3)) image for the bottom-right panel;
        None hides it."""
        if image is None:
            self.panel_size = (0, 0)
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
        self.panel_size = (w, h)

    def panel_rect(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) framebuffer pixels of the panel (origin bottom-left), fitted into
        PANEL_MAX_FRACTION of the frame (an integer shrink keeps kernels crisp when possible)."""
        W, H = size
        pw, ph = self.panel_size
        s = min(1.0, PANEL_MAX_FRACTION * W / pw, PANEL_MAX_FRACTION * H / ph)
        w, h = max(1, int(pw * s)), max(1, int(ph * s))
        x1, y0 = W - PANEL_MARGIN, PANEL_MARGIN
        return x1 - w, y0, x1, y0 + h

    def draw_lines(self, size: tuple[int, int]) -> None:
        """Draw the highlighted segments over the frame (depth test off) in a ``size`` framebuffer."""
        if not self.vertices:
            return
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glUseProgram(self.prog.id)
        width = self.width_px if self.width_px is not None else float(np.clip(size[1] / 240.0, 2.0, 6.0))
        GL.glUniform1f(self._loc_width, width)
        GL.glBindVertexArray(self.vao)
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, self.vertices)
        GL.glEnable(GL.GL_DEPTH_TEST)

    def draw_panel(self, size: tuple[int, int]) -> None:
        """Draw the panel image at :meth:`panel_rect` of a ``size`` framebuffer."""
        if not self.panel_size[0]:
            return
        W, H = size
        x0, y0, x1, y1 = self.panel_rect(size)
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glUseProgram(self.hud_prog.id)
        GL.glUniform4f(self._loc_rect, 2.0 * x0 / W - 1, 2.0 * y0 / H - 1, 2.0 * x1 / W - 1, 2.0 * y1 / H - 1)
        GL.glActiveTexture(GL.GL_TEXTURE0 + self.image_unit)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.tex)
        GL.glBindVertexArray(self.empty_vao)
        GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        GL.glEnable(GL.GL_DEPTH_TEST)

    def release(self) -> None:
        """Delete the GL objects (context current; idempotent)."""
        if self.vao:
            GL.glDeleteVertexArrays(1, [self.vao])
            GL.glDeleteBuffers(1, [self.vbo])
            GL.glDeleteTextures([self.tex])
            self.vao = self.vbo = self.tex = 0
        self.prog.release()
