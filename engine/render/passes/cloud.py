"""PointCloud nodes as point sprites (cloud.vert/cloud.frag): one VBO of position + colour per cloud,
one draw each. A million points is one draw call."""
from __future__ import annotations

import ctypes

import numpy as np
from OpenGL import GL

from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shaders import Program
from engine.render.shared import FLOAT, delete
from engine.scene.nodes.cloud import PointCloud


@register_pass
class CloudPass(Pass):
    node_type = PointCloud
    stage = Stage.OPAQUE
    order = 5

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.prog = Program("cloud.vert", "cloud.frag")
        GL.glUseProgram(self.prog.id)
        GL.glUniform1f(self.prog.loc("u_max_point"), shared.max_point)
        GL.glUseProgram(0)
        self.clouds: list[tuple[int, int, int, float]] = []      # vao, vbo, points, size

    def _free(self) -> None:
        delete(vaos=[c[0] for c in self.clouds], buffers=[c[1] for c in self.clouds])
        self.clouds = []

    def build(self, scene) -> None:
        self._free()
        for c in scene.nodes_of(PointCloud):
            if not c.count:
                continue
            data = np.ascontiguousarray(np.c_[np.asarray(c.positions, np.float32).reshape(-1, 3),
                                              np.asarray(c.colors, np.float32).reshape(-1, 3)], np.float32)
            vao, vbo = int(GL.glGenVertexArrays(1)), int(GL.glGenBuffers(1))
            GL.glBindVertexArray(vao)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
            GL.glBufferData(GL.GL_ARRAY_BUFFER, data.nbytes, data, GL.GL_STATIC_DRAW)
            for loc, off in ((0, 0), (1, 3)):
                GL.glEnableVertexAttribArray(loc)
                GL.glVertexAttribPointer(loc, 3, GL.GL_FLOAT, GL.GL_FALSE, 6 * FLOAT, ctypes.c_void_p(off * FLOAT))
            GL.glBindVertexArray(0)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
            self.clouds.append((vao, vbo, c.count, float(c.size)))

    def draw(self, frame, scene) -> None:
        if not self.clouds:
            return
        GL.glEnable(GL.GL_PROGRAM_POINT_SIZE)
        GL.glUseProgram(self.prog.id)
        loc = self.prog.loc("u_size")
        for vao, _vbo, n, size in self.clouds:
            GL.glUniform1f(loc, size)
            GL.glBindVertexArray(vao)
            GL.glDrawArrays(GL.GL_POINTS, 0, n)
        GL.glBindVertexArray(0)

    def release(self) -> None:
        self._free()
