"""Slab outlines: four line segments a slab, all slabs in one draw (edges.vert/edges.frag)."""
from __future__ import annotations

import numpy as np
from OpenGL import GL

from engine.colormaps import palette
from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shaders import Program
from engine.render.shared import UNIT_CMAP, delete, line_vertex_array, sampler_units
from engine.scene.nodes import Slab

KIND, ALPHA = 3, 0.30          # edges.frag kind "slab frame"


@register_pass
class FramePass(Pass):
    node_type = Slab
    stage = Stage.TRANSPARENT
    order = 0

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.prog = Program("edges.vert", "edges.frag")
        sampler_units(self.prog, {"u_colormaps": UNIT_CMAP})
        self.vao = self.vbo = self.count = 0

    def build(self, scene) -> None:
        slabs = scene.slabs
        verts = np.zeros((max(1, len(slabs)) * 8, 4), np.float32)
        for i, s in enumerate(slabs):
            verts[i * 8:(i + 1) * 8, :3] = s.corners[[0, 1, 1, 2, 2, 3, 3, 0]]
            verts[i * 8:(i + 1) * 8, 3] = 1.0
        self.count = 8 * len(slabs)
        delete(vaos=[self.vao], buffers=[self.vbo])
        self.vao, self.vbo = line_vertex_array(verts)

    def draw(self, frame, scene) -> None:
        if not self.count:
            return
        if self.shared.smooth_lines:
            GL.glEnable(GL.GL_LINE_SMOOTH)
        GL.glUseProgram(self.prog.id)
        GL.glUniform1i(self.prog.loc("u_kind"), KIND)
        GL.glUniform1f(self.prog.loc("u_alpha"), ALPHA)
        GL.glUniform3f(self.prog.loc("u_color"), *palette.SLAB_FRAME)
        GL.glBindVertexArray(self.vao)
        GL.glDrawArrays(GL.GL_LINES, 0, self.count)
        GL.glDisable(GL.GL_LINE_SMOOTH)

    def release(self) -> None:
        delete(vaos=[self.vao], buffers=[self.vbo])
        self.vao = self.vbo = 0
        self.prog.release()
