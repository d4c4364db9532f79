"""The slabs' side of the GPU, shared by the passes that draw slabs (quads, neuron points): per
slab a parameter record (placement, colour scale, flags) in one buffer texture, the neuron values
(engine/render/values.py), and each frame's level of detail, culling and draw order.

Parameter record (RECORD = 5 RGBA32F texels a slab, read by slab.vert / neurons.vert): origin, scale |
U = u * cols, flags | V = v * rows, count | cols, rows, tile_h, tile_w | neurons per tile, 0, 0, 0. Flags: FLAG_SIGNED
(diverging colormap), FLAG_LOG (sign(v) log1p|v|), FLAG_NO_FAR (1x1 mosaic, no pyramid),
FLAG_MASKS (-inf is a masked entry, drawn dim instead of as an error), FLAG_NO_VALUES (no values yet:
drawn flat, nothing read).
"""
from __future__ import annotations

import time

import numpy as np
from OpenGL import GL

from engine.render.errors import RenderError
from engine.render.frame import FrameState
from engine.render.shared import UNIT_FAR, delete, ptr
from engine.render.values import LayerValues
from engine.scene.cull import CULL, POINTS, SLAB, SlabArrays, visible_params
from engine.scene.nodes import Slab
from engine.scene.registry import node_type

MAX_ROW_RANGES = 64     # a near slab's visible texels as one range a row up to this many rows

FLAG_SIGNED, FLAG_LOG, FLAG_NO_FAR, FLAG_MASKS, FLAG_NO_VALUES = 1, 2, 4, 8, 16
RECORD = 5           # texels per slab in the parameter buffer


class SlabData:
    """One per Renderer (``shared.resource(SlabData)``); ``build`` with the scene's slabs."""

    def __init__(self, shared) -> None:
        self.shared = shared
        self.slabs: list = []
        self.values: LayerValues | None = None
        self.params = np.zeros((1, 4 * RECORD), np.float32)
        self.params_dirty = False
        self.params_buf = int(GL.glGenBuffers(1))
        self.params_tex = int(GL.glGenTextures(1))
        self.index: dict[int, int] = {}
        self.arrays = SlabArrays([])
        self.counts: list[int] = []
        self.last_modes = np.zeros(0, np.int8)
        self.last_occluded = 0
        #: skip slabs hidden behind one nearer opaque slab (exact: the image does not change)
        self.occlusion_culling = True
        #: draw only the sprites of a near slab that are in the picture (exact, like occlusion culling)
        self.sprite_culling = True
        #: seconds a draw may spend rebuilding far pyramids after new activations (None: all of
        #: them). The live viewer sets a budget: far layers then catch up over a few frames while
        #: near ones (read straight from the neurons) are always current.
        self.far_budget: float | None = None
        self.as_slab: list[int] = []     # this frame's slabs drawn as quads / as points, nearest first
        self.as_points: list[int] = []
        #: per slab drawn as points: (first, count) int32 arrays, one range per visible row of texels
        #: (the part of the slab in the picture), or None for the whole slab
        self.point_ranges: dict[int, tuple[np.ndarray, np.ndarray] | None] = {}
        self._prepared = -1
        self.lod_px = 4.0
        self._built = -1

    # ------------------------------------------------------------------ build
    def build(self, slabs: list) -> None:
        """GL objects for ``slabs`` (once per Renderer.rebuild, whichever slab pass asks first)."""
        if self._built == self.shared.generation:
            return
        self._built = self.shared.generation
        self.slabs = slabs
        for s in slabs:
            mt = self.shared.max_texture
            if s.cols > mt or s.rows > mt or s.cols < 1 or s.rows < 1:
                raise RenderError(f"layer {s.name!r} is a {s.cols}x{s.rows} mosaic; this GL allows 1..{mt} "
                                  "texels a side: lay it out with more rows (or fewer neurons)")
        self.index = {s.layer_id: i for i, s in enumerate(slabs)}
        self.params = self._pack(slabs)
        self.params_dirty = False
        GL.glBindBuffer(GL.GL_TEXTURE_BUFFER, self.params_buf)
        GL.glBufferData(GL.GL_TEXTURE_BUFFER, self.params.nbytes, self.params, GL.GL_DYNAMIC_DRAW)
        GL.glBindTexture(GL.GL_TEXTURE_BUFFER, self.params_tex)
        GL.glTexBuffer(GL.GL_TEXTURE_BUFFER, GL.GL_RGBA32F, self.params_buf)
        GL.glBindBuffer(GL.GL_TEXTURE_BUFFER, 0)
        GL.glBindTexture(GL.GL_TEXTURE_BUFFER, 0)
        self.arrays = node_type(Slab).lod(slabs)
        self.counts = [int(s.rows * s.cols) for s in slabs]   # padding is clipped in the shader
        if self.values is not None:
            self.values.release()
        self.values = LayerValues(slabs)

    @staticmethod
    def _pack(slabs: list) -> np.ndarray:
        p = np.zeros((max(1, len(slabs)), 4 * RECORD), np.float32)
        for i, s in enumerate(slabs):
            p[i, 0:3] = s.origin
            p[i, 3] = s.scale
            p[i, 4:7] = np.asarray(s.u, np.float64) * s.cols
            p[i, 7] = (FLAG_SIGNED if s.signed else 0) | (FLAG_NO_FAR if s.rows * s.cols <= 1 else 0) \
                | (FLAG_MASKS if s.masks else 0) | (FLAG_NO_VALUES if s.values is None else 0)
            p[i, 8:11] = np.asarray(s.v, np.float64) * s.rows
            p[i, 11] = s.count
            th, tw = (s.tile if s.tile else (s.rows, s.cols))
            p[i, 12:16] = (s.cols, s.rows, max(1, th), max(1, tw))
            p[i, 16] = getattr(s, "per_tile", 0) or max(1, th) * max(1, tw)
        return p

    # ------------------------------------------------------------------ per frame
    def prepare(self, frame: FrameState, lod_px: float) -> None:
        """Level of detail (``lod_px``: texel size on screen from which a slab is drawn as
        points), culling and order of this frame, parameter and far-pyramid uploads (once a
        frame, whichever slab pass asks first)."""
        if self._prepared == frame.number:
            return
        self._prepared = frame.number
        self.lod_px = lod_px
        arrays, cam, vp = self.arrays, frame.camera, frame.vp
        if frame.lod is None:    # same decision as engine.scene.lod.choose_lod, vectorised
            modes = arrays.modes(cam, frame.size, lod_px, vp)
        else:
            modes = arrays.from_dict(frame.lod)
        self.last_modes = modes
        self.last_occluded = 0
        if self.occlusion_culling:
            hidden = arrays.occluded(modes, cam, vp, frame.size)
            self.last_occluded = int(hidden.sum())
            if self.last_occluded:
                modes = np.where(hidden, CULL, modes).astype(np.int8)
        if self.params_dirty:
            GL.glBindBuffer(GL.GL_TEXTURE_BUFFER, self.params_buf)
            GL.glBufferSubData(GL.GL_TEXTURE_BUFFER, 0, self.params.nbytes, ptr(self.params))
            GL.glBindBuffer(GL.GL_TEXTURE_BUFFER, 0)
            self.params_dirty = False
        order = np.argsort(((arrays.centers - cam.position) ** 2).sum(axis=1), kind="stable")
        ordered = modes[order]
        self.as_slab = order[ordered == SLAB].tolist()
        self.as_points = order[ordered == POINTS].tolist()
        self.point_ranges = {i: self._visible_rows(i, vp) if self.sprite_culling else None for i in self.as_points}
        if self.as_slab:
            self._update_far(frame, frame.lod is not None)

    def _visible_rows(self, i: int, vp: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The texel rows and columns of slab ``i`` in the picture as ranges of sprite ids (vertex i is
        texel (i % cols, i // cols)): a near slab of millions of neurons mostly lies outside the
        picture, and software GL pays per sprite even when it is clipped. None: draw it whole."""
        a = self.arrays
        got = visible_params(a.origin[i], a.U[i], a.V[i], vp)
        p = self.params[i]
        cols, rows = int(p[12]), int(p[13])
        if got is None:
            return np.zeros(0, np.int32), np.zeros(0, np.int32)
        c0, c1 = int(np.floor(got[0] * cols)), min(cols, int(np.ceil(got[1] * cols)) + 1)
        r0, r1 = int(np.floor(got[2] * rows)), min(rows, int(np.ceil(got[3] * rows)) + 1)
        if (c1 - c0) * (r1 - r0) > 0.8 * cols * rows:
            return None
        if r1 - r0 > MAX_ROW_RANGES or c1 - c0 > 0.5 * cols:     # one range: each sub-draw has a set-up cost
            return np.array([r0 * cols + c0], np.int32), np.array([(r1 - 1) * cols + c1 - (r0 * cols + c0)], np.int32)
        first = (np.arange(r0, r1, dtype=np.int64) * cols + c0).astype(np.int32)
        return first, np.full(len(first), c1 - c0, np.int32)

    def _update_far(self, frame: FrameState, texel_sizes_stale: bool) -> None:
        """Rebuild the far pyramids the slabs about to be drawn need, nearest first, within
        ``far_budget``. A slab's finest level is the lod at its nearest point, 0.5 below (the
        blend toward level 1; oblique views only sample coarser levels)."""
        arrays, vals = self.arrays, self.values
        if texel_sizes_stale:      # the caller decided the modes: texel sizes come from the camera
            arrays.modes(frame.camera, frame.size, self.lod_px, frame.vp)
        first = np.maximum(1, np.floor(np.log2(1.0 / np.maximum(arrays.texel_px, 1e-9)) - 0.5)).astype(int)
        budget_end = None if self.far_budget is None else time.perf_counter() + self.far_budget
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_FAR)
        vals.build_far([(i, int(first[i])) for i in self.as_slab], budget_end)
        GL.glActiveTexture(GL.GL_TEXTURE0)

    def after_frame(self) -> None:
        if self.values is not None:
            self.values.frame_drawn()

    # ------------------------------------------------------------------ live data
    def slab_index(self, layer_id: int) -> int:
        i = self.index.get(layer_id)
        if i is None:
            raise KeyError(f"no slab for layer {layer_id} in the rendered scene")
        return i

    def set_flags(self, i: int, signed: bool, log: bool) -> None:
        s = self.slabs[i]
        flags = (FLAG_SIGNED if signed else 0) | (FLAG_LOG if log else 0) | (FLAG_NO_FAR if s.rows * s.cols <= 1 else 0) \
            | (FLAG_MASKS if s.masks else 0) | (FLAG_NO_VALUES if self.values is not None and self.values.blank[i] else 0)
        if int(self.params[i, 7]) == flags:
            return
        s.signed = bool(signed)
        self.params[i, 7] = flags
        self.params_dirty = True

    def values_arrived(self, i: int) -> None:
        """After slab i's values were written: a blank slab (FLAG_NO_VALUES) is drawn from now on.
        One integer test per write otherwise (the live path writes every layer every frame)."""
        if int(self.params[i, 7]) & FLAG_NO_VALUES:
            self.set_flags(i, self.slabs[i].signed, self.is_log(i))

    def is_log(self, i: int) -> bool:
        return bool(int(self.params[i, 7]) & FLAG_LOG)

    def scale_of(self, i: int) -> float:
        return float(self.params[i, 3])

    def set_scale(self, i: int, scale: float) -> None:
        self.slabs[i].scale = float(scale)
        self.params[i, 3] = scale
        self.params_dirty = True      # uploaded once, at the next draw

    def release(self) -> None:
        if self.values is not None:
            self.values.release()
            self.values = None
        delete(buffers=[self.params_buf], textures=[self.params_tex])
        self.params_buf = self.params_tex = 0
