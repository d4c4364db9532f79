"""Edge sets as GL lines (edges.vert/edges.frag): data flow, skip arcs and weights (diverging
colormap by sign), one draw per set, sets outside the view skipped. A dense fan of weight edges
(more than DENSE_REF segments) is blended with GL_MAX instead of over, at an opacity that falls with
its density (x sqrt(DENSE_REF / segments)): overlapping lines do not pile up into a solid sheet, and
a line never darkens or hides a brighter activation behind it."""
from __future__ import annotations

import numpy as np
from OpenGL import GL

from engine.colormaps import palette
from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shaders import Program
from engine.render.shared import UNIT_CMAP, delete, line_vertex_array, sampler_units
from engine.scene.cull import bounds_h, outside_frustum
from engine.scene.nodes import EdgeSet

KINDS = {"weights": 0, "flow": 1, "skip": 2}            # edges.frag u_kind
ALPHA = {"weights": 0.55, "flow": 0.40, "skip": 0.70}
COLOR = {"weights": (0.0, 0.0, 0.0), "flow": palette.FLOW_EDGE, "skip": palette.SKIP_EDGE}   # weights: colormap
SMOOTH_LINES_MAX = 5000      # segments up to which llvmpipe still gets GL_LINE_SMOOTH
DENSE_REF = 300              # weight-edge sets with more segments than this are max-blended


def is_dense(kind: str, segments: int) -> bool:
    """A fan of weight edges dense enough to pile up into a sheet when blended over."""
    return kind == "weights" and segments > DENSE_REF


def set_alpha(kind: str, segments: int) -> float:
    """A set's line opacity: its kind's, lower for dense fans."""
    return ALPHA[kind] * (float(np.sqrt(DENSE_REF / segments)) if is_dense(kind, segments) else 1.0)


@register_pass
class EdgePass(Pass):
    node_type = EdgeSet
    stage = Stage.TRANSPARENT
    order = 1

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.prog = Program("edges.vert", "edges.frag")
        sampler_units(self.prog, {"u_colormaps": UNIT_CMAP})
        self.sets: list[tuple[int, int, int, str, float, bool]] = []   # vao, vbo, vertices, kind, alpha, dense
        self.boxes = np.zeros((0, 8, 4))

    def _free(self) -> None:
        delete(vaos=[s[0] for s in self.sets], buffers=[s[1] for s in self.sets])
        self.sets = []

    def build(self, scene) -> None:
        self._free()
        drawn = []
        for e in scene.edges:
            pos = np.asarray(e.positions, np.float32).reshape(-1, 3)
            n = len(pos) - len(pos) % 2
            if n == 0:
                continue
            w = np.broadcast_to(np.asarray(e.weights, np.float32).reshape(-1), (len(pos),)) \
                if np.size(e.weights) in (1, len(pos)) else np.ones(len(pos), np.float32)
            verts = np.empty((n, 4), np.float32)
            verts[:, :3] = pos[:n]
            verts[:, 3] = w[:n]
            vao, vbo = line_vertex_array(verts)
            drawn.append(e)
            kind = e.kind if e.kind in KINDS else "flow"
            self.sets.append((vao, vbo, n, kind, set_alpha(kind, n // 2), is_dense(kind, n // 2)))
        self.boxes = bounds_h(drawn)      # world box per drawn set, for frustum culling
        segments = sum(s[2] for s in self.sets) // 2
        # GL_LINE_SMOOTH costs ~2 us a segment on llvmpipe (70k segments: +130 ms a frame), so
        # software rasterisers smooth lines (these and the slab frames) only for modest edge counts
        self.shared.smooth_lines = not self.shared.software or segments <= SMOOTH_LINES_MAX

    def draw(self, frame, scene) -> None:
        if not scene.show_edges or not self.sets:
            return
        if self.shared.smooth_lines:
            GL.glEnable(GL.GL_LINE_SMOOTH)
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_CMAP)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.shared.cmap_tex)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glUseProgram(self.prog.id)
        loc_kind, loc_alpha, loc_color = self.prog.loc("u_kind"), self.prog.loc("u_alpha"), self.prog.loc("u_color")
        loc_max = self.prog.loc("u_max_blend")
        off = outside_frustum(self.boxes, frame.vp).tolist()
        for (vao, _vbo, n, kind, alpha, dense), skip in zip(self.sets, off):
            if skip:
                continue
            GL.glUniform1i(loc_kind, KINDS[kind])
            GL.glUniform1f(loc_alpha, alpha)
            GL.glUniform3f(loc_color, *COLOR[kind])
            GL.glUniform1i(loc_max, int(dense))
            if dense:
                GL.glBlendEquation(GL.GL_MAX)
            GL.glBindVertexArray(vao)
            GL.glDrawArrays(GL.GL_LINES, 0, n)
            if dense:
                GL.glBlendEquation(GL.GL_FUNC_ADD)
        GL.glDisable(GL.GL_LINE_SMOOTH)

    def release(self) -> None:
        self._free()
        self.prog.release()
