"""PointCloud nodes as point sprites (cloud.vert/cloud.frag). Each cloud is one vertex buffer sorted by
chunk with its aggregated levels after the points (engine/scene/cloud_lod.py); each frame draws the
ranges the level of detail chooses in one glMultiDrawArrays."""
from __future__ import annotations

import ctypes

from OpenGL import GL

from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shaders import Program
from engine.render.shared import FLOAT, delete
from engine.scene.cloud_lod import HARDWARE_BUDGET, SOFTWARE_BUDGET, VERTEX_FLOATS, CloudDraw, CloudLevels
from engine.scene.nodes.cloud import PointCloud

ATTRIBUTES = ((0, 3, 0), (1, 3, 3), (2, 1, 6), (3, 1, 7))     # location, floats, offset: position, colour, count, voxel


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
        self.clouds: list[tuple[int, int, CloudLevels, PointCloud]] = []
        self.last: list[CloudDraw] = []                                    # what the last frame drew
        self.budget = SOFTWARE_BUDGET if shared.software else HARDWARE_BUDGET

    def _free(self) -> None:
        delete(vaos=[c[0] for c in self.clouds], buffers=[c[1] for c in self.clouds])
        self.clouds = []

    def build(self, scene) -> None:
        self._free()
        for c in scene.nodes_of(PointCloud):
            if not c.count:
                continue
            levels = CloudLevels(c.positions, c.colors)
            data = levels.vertices
            vao, vbo = int(GL.glGenVertexArrays(1)), int(GL.glGenBuffers(1))
            GL.glBindVertexArray(vao)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
            GL.glBufferData(GL.GL_ARRAY_BUFFER, data.nbytes, data, GL.GL_STATIC_DRAW)
            for loc, n, off in ATTRIBUTES:
                GL.glEnableVertexAttribArray(loc)
                GL.glVertexAttribPointer(loc, n, GL.GL_FLOAT, GL.GL_FALSE, VERTEX_FLOATS * FLOAT,
                                         ctypes.c_void_p(off * FLOAT))
            GL.glBindVertexArray(0)
            GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
            self.clouds.append((vao, vbo, levels, c))

    def draw(self, frame, scene) -> None:
        self.last = []
        if not self.clouds:
            return
        GL.glEnable(GL.GL_PROGRAM_POINT_SIZE)
        GL.glUseProgram(self.prog.id)
        loc = self.prog.loc("u_size")
        for vao, _vbo, levels, cloud in self.clouds:
            choice = levels.choose(frame.camera, frame.size, frame.vp, cloud.lod_px, self.budget)
            self.last.append(choice)
            if not len(choice.first):
                continue
            GL.glUniform1f(loc, cloud.size)
            GL.glBindVertexArray(vao)
            GL.glMultiDrawArrays(GL.GL_POINTS, choice.first, choice.count, len(choice.first))
        GL.glBindVertexArray(0)

    def release(self) -> None:
        self._free()
