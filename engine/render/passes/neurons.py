"""Slabs drawn near: one round point sprite per neuron (neurons.vert/neurons.frag), reading its
value from the layer's buffer texture; rims antialiased by alpha-to-coverage (MSAA) or blending. Only
the texels in the picture are drawn (SlabData.point_ranges)."""
from __future__ import annotations

from OpenGL import GL

from engine.render.passes.base import register_pass
from engine.render.passes.slabs import SlabProgramPass


@register_pass
class NeuronPass(SlabProgramPass):
    order = 1
    shaders = ("neurons.vert", "neurons.frag")

    def __init__(self, shared) -> None:
        super().__init__(shared)
        GL.glUseProgram(self.prog.id)
        GL.glUniform1f(self.prog.loc("u_max_point"), shared.max_point)
        GL.glUseProgram(0)

    def draw(self, frame, scene) -> None:
        d = self.data
        if not d.as_points:
            return
        gl = d.values.gl
        GL.glEnable(GL.GL_PROGRAM_POINT_SIZE)
        if self.shared.samples:
            GL.glEnable(GL.GL_SAMPLE_ALPHA_TO_COVERAGE)
        else:       # smooth rims by blending (the gap behind shows the background)
            GL.glEnable(GL.GL_BLEND)
            GL.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)
        self.bind()
        loc = self.loc_slab
        for i in d.as_points:
            ranges = d.point_ranges.get(i)
            if ranges is not None and not len(ranges[0]):
                continue
            gl.bind_texture(GL.GL_TEXTURE_BUFFER, d.values.tex[i])
            gl.uniform1i(loc, i)
            if ranges is None:
                gl.draw_arrays(GL.GL_POINTS, 0, d.counts[i])
            else:                        # only the texel rows and columns in the picture
                GL.glMultiDrawArrays(GL.GL_POINTS, ranges[0], ranges[1], len(ranges[0]))
        GL.glDisable(GL.GL_SAMPLE_ALPHA_TO_COVERAGE)
        GL.glDisable(GL.GL_BLEND)
