"""Slabs drawn near: one round point sprite per neuron (neurons.vert/neurons.frag), reading its
value from the layer's buffer texture; rims antialiased by alpha-to-coverage (MSAA) or blending."""
from __future__ import annotations

from OpenGL import GL

from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shaders import Program
from engine.render.shared import UNIT_CMAP, UNIT_PARAMS, UNIT_VALUES, sampler_units
from engine.render.slabdata import SlabData
from engine.scene.nodes import Slab


@register_pass
class NeuronPass(Pass):
    node_type = Slab
    stage = Stage.OPAQUE
    order = 1

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.prog = Program("neurons.vert", "neurons.frag")
        sampler_units(self.prog, {"u_values": UNIT_VALUES, "u_colormaps": UNIT_CMAP, "u_params": UNIT_PARAMS})
        GL.glUseProgram(self.prog.id)
        GL.glUniform1f(self.prog.loc("u_max_point"), shared.max_point)
        GL.glUseProgram(0)
        self.loc_slab = self.prog.loc("u_slab")
        self.data = shared.resource(SlabData)

    def build(self, scene) -> None:
        self.data.build(scene.slabs)

    def prepare(self, frame, scene) -> None:
        self.data.prepare(frame, scene.lod_px)

    def draw(self, frame, scene) -> None:
        d = self.data
        if not d.as_points:
            return
        gl = d.values.gl
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_CMAP)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.shared.cmap_tex)
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_PARAMS)
        GL.glBindTexture(GL.GL_TEXTURE_BUFFER, d.params_tex)
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_VALUES)
        GL.glBindVertexArray(self.shared.empty_vao)
        GL.glEnable(GL.GL_PROGRAM_POINT_SIZE)
        if self.shared.samples:
            GL.glEnable(GL.GL_SAMPLE_ALPHA_TO_COVERAGE)
        else:       # smooth rims by blending (the gap behind shows the background)
            GL.glEnable(GL.GL_BLEND)
            GL.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)
        GL.glUseProgram(self.prog.id)
        loc = self.loc_slab
        for i in d.as_points:
            gl.bind_texture(GL.GL_TEXTURE_BUFFER, d.values.tex[i])
            gl.uniform1i(loc, i)
            gl.draw_arrays(GL.GL_POINTS, 0, d.counts[i])
        GL.glDisable(GL.GL_SAMPLE_ALPHA_TO_COVERAGE)
        GL.glDisable(GL.GL_BLEND)

    def release(self) -> None:
        self.prog.release()
