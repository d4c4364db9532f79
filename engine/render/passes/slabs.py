"""Slabs drawn far: one textured quad per layer (slab.vert/slab.frag), front to back so early depth
tests reject hidden fragments; far pyramids average every neuron into the pixels it covers."""
from __future__ import annotations

from OpenGL import GL

from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shaders import Program
from engine.render.shared import UNIT_CMAP, UNIT_FAR, UNIT_PARAMS, UNIT_VALUES, sampler_units
from engine.render.slabdata import SlabData
from engine.scene.nodes import Slab


class SlabProgramPass(Pass):
    """What the passes that draw slabs share: a program reading the slabs' parameter and value
    buffers (engine/render/slabdata.py), which they build and prepare once a frame."""

    node_type = Slab
    stage = Stage.OPAQUE
    shaders = ("slab.vert", "slab.frag")

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.prog = Program(*self.shaders)
        sampler_units(self.prog, {"u_values": UNIT_VALUES, "u_colormaps": UNIT_CMAP, "u_params": UNIT_PARAMS,
                                  "u_far": UNIT_FAR})
        self.loc_slab = self.prog.loc("u_slab")
        self.data = shared.resource(SlabData)

    def build(self, scene) -> None:
        self.data.build(scene.slabs)

    def prepare(self, frame, scene) -> None:
        self.data.prepare(frame, scene.lod_px)

    def bind(self) -> None:
        """Colormaps, the parameter buffer, the empty vertex array and the program; unit 0 active."""
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_CMAP)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.shared.cmap_tex)
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_PARAMS)
        GL.glBindTexture(GL.GL_TEXTURE_BUFFER, self.data.params_tex)
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_VALUES)
        GL.glBindVertexArray(self.shared.empty_vao)
        GL.glUseProgram(self.prog.id)

    def release(self) -> None:
        self.prog.release()


@register_pass
class SlabPass(SlabProgramPass):
    order = 0

    def draw(self, frame, scene) -> None:
        d = self.data
        if not d.as_slab:
            return
        vals = d.values
        gl = vals.gl
        bind, draw_arrays, uniform, active = gl.bind_texture, gl.draw_arrays, gl.uniform1i, gl.active_texture
        GL.glEnable(GL.GL_POLYGON_OFFSET_FILL)     # frames (lines) stay visible on top
        GL.glPolygonOffset(1.0, 1.0)
        self.bind()
        loc = self.loc_slab
        for i in d.as_slab:
            bind(GL.GL_TEXTURE_BUFFER, vals.tex[i])
            if vals.far[i]:
                active(GL.GL_TEXTURE0 + UNIT_FAR)
                bind(GL.GL_TEXTURE_2D, vals.far[i])
                active(GL.GL_TEXTURE0 + UNIT_VALUES)
            uniform(loc, i)
            draw_arrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        GL.glDisable(GL.GL_POLYGON_OFFSET_FILL)

    def after_frame(self) -> None:
        self.data.after_frame()
