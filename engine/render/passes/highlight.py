"""Highlighted segments drawn bright and wide over the frame (a picked neuron's strongest inputs,
the playground's weights): screen-space quads, since GL core has no wide lines (highlight.vert/.frag).
Fed through Renderer.set_highlight; premultiplied output, depth test off."""
from __future__ import annotations

import ctypes

import numpy as np
from OpenGL import GL

from engine.colormaps import palette
from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shaders import Program
from engine.render.shared import FLOAT, delete

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


@register_pass
class HighlightPass(Pass):
    stage = Stage.OVERLAY
    order = 0

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.prog = Program("highlight.vert", "highlight.frag")
        self.vao = int(GL.glGenVertexArrays(1))
        self.vbo = int(GL.glGenBuffers(1))
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        for loc, size, off in ((0, 3, 0), (1, 3, 3), (2, 2, 6), (3, 1, 8)):
            GL.glEnableVertexAttribArray(loc)
            GL.glVertexAttribPointer(loc, size, GL.GL_FLOAT, GL.GL_FALSE, 9 * FLOAT, ctypes.c_void_p(off * FLOAT))
        GL.glBindVertexArray(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
        self.vertices = 0
        self.width_px: float | None = None      # None: follows the framebuffer height

    def set(self, positions: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Segments to draw bright on top: (2N, 3) endpoints, optional (2N,) weights in [-1, 1]
        (sign: warm positive, cold negative; |w| opacity)."""
        verts = highlight_vertices(positions, weights)
        self.vertices = len(verts)
        if not self.vertices:
            return
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, verts.nbytes, verts, GL.GL_DYNAMIC_DRAW)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

    def clear(self) -> None:
        self.vertices = 0

    def draw(self, frame, scene) -> None:
        if not self.vertices:
            return
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glUseProgram(self.prog.id)
        width = self.width_px if self.width_px is not None else float(np.clip(frame.size[1] / 240.0, 2.0, 6.0))
        GL.glUniform1f(self.prog.loc("u_width"), width)
        GL.glUniform3f(self.prog.loc("u_positive"), *palette.HIGHLIGHT_POSITIVE)
        GL.glUniform3f(self.prog.loc("u_negative"), *palette.HIGHLIGHT_NEGATIVE)
        GL.glBindVertexArray(self.vao)
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, self.vertices)
        GL.glEnable(GL.GL_DEPTH_TEST)

    def release(self) -> None:
        delete(vaos=[self.vao], buffers=[self.vbo])
        self.vao = self.vbo = 0
        self.prog.release()
