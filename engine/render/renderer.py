"""Scene -> pixels with OpenGL 3.3 core: slabs, neuron sprites, edges, labels, HUD.

Geometry is static and lives on the GPU from construction on; per frame Python sets one
uniform block, then issues one draw per visible slab plus one per edge set, one for all slab
frames and one for all labels. Activations live in engine/render/values.py: neurons in tensor
order in buffer textures (shared with the forward pass's memory where the driver allows), mean
pyramids for far slabs.

Texture units: 0 neurons of the slab being drawn (buffer texture), 1 colormaps, 2 slab
parameters (buffer texture), 3 label atlas / HUD image, 4 far pyramid of the slab.
"""
from __future__ import annotations

import ctypes
import os
import time
from pathlib import Path

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402
from OpenGL import GL  # noqa: E402

from engine.render.cull import CULL, POINTS, SLAB, SlabArrays, box_corners_h, outside_frustum  # noqa: E402
from engine.render.errors import RenderError  # noqa: E402
from engine.render.overlay import Overlay  # noqa: E402
from engine.render.shaders import Program  # noqa: E402
from engine.render.text import pack_atlas, render_label, render_panel  # noqa: E402
from engine.render.values import LayerValues  # noqa: E402
from engine.scene.camera import Camera  # noqa: E402
from engine.scene.nodes import Scene  # noqa: E402

EDGE_KINDS = {"weights": 0, "flow": 1, "skip": 2}
EDGE_ALPHA = {"weights": 0.55, "flow": 0.40, "skip": 0.70}
FRAME_KIND, FRAME_ALPHA = 3, 0.30
NEURON_GAP = 0.80            # sprite diameter / neuron spacing
LABEL_FONT_PX = 48           # atlas resolution of label text
FOG_MAX = 0.6                # how far toward the background the farthest geometry fades
HUD_MARGIN = 12              # pixels from the top-left corner
SMOOTH_LINES_MAX = 5000      # edge segments up to which llvmpipe still gets GL_LINE_SMOOTH

_UNIT_VALUES, _UNIT_CMAP, _UNIT_PARAMS, _UNIT_IMAGE, _UNIT_FAR = 0, 1, 2, 3, 4
FLAG_SIGNED, FLAG_LOG, FLAG_NO_FAR = 1, 2, 4     # slab parameter flags (see common.glsl)
_FLOAT = ctypes.sizeof(ctypes.c_float)


# Colormaps vispy lacks: (colours, control points). "icefire" is diverging with a dark centre, so
# near-zero neurons sink into a dark background and both signs stand out.
EXTRA_COLORMAPS = {
    "icefire": ([(0.75, 0.95, 1.0), (0.15, 0.55, 0.95), (0.10, 0.12, 0.22), (0.95, 0.30, 0.12),
                 (1.0, 0.92, 0.55)], [0.0, 0.25, 0.5, 0.75, 1.0]),
}


def colormap_table(name: str, n: int = 256) -> np.ndarray:
    """(n, 4) float32 RGBA of a vispy colormap by name."""
    from vispy.color import Colormap, get_colormap, get_colormaps
    try:
        cmap = Colormap(*EXTRA_COLORMAPS[name]) if name in EXTRA_COLORMAPS else get_colormap(name)
    except (KeyError, ValueError, TypeError):
        names = ", ".join(sorted([*get_colormaps(), *EXTRA_COLORMAPS]))
        raise RenderError(f"unknown colormap {name!r}: use one of vispy's colormaps ({names})") from None
    rgba = np.asarray(cmap.map(np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]), dtype=np.float32)  # (n, 1): every vispy map accepts it
    return rgba.reshape(n, 4)


def _ptr(a: np.ndarray) -> ctypes.c_void_p:
    return a.ctypes.data_as(ctypes.c_void_p)


class Renderer:
    """Draws a :class:`~engine.scene.nodes.Scene` into its own framebuffer.

    Create it while a GL 3.3+ core context is current (OffscreenContext or a window) and use it
    only with that context current. ``samples`` is the MSAA sample count: 0 disables it; it is
    clamped to what the driver offers and falls back to 0 if the multisampled framebuffer is
    unsupported. ``None`` (the default) picks 4 on GPUs and 0 on software rasterisers
    (llvmpipe), where 4x MSAA costs 2-6x the frame time; without MSAA lines are coverage-
    antialiased (GL_LINE_SMOOTH) and neuron sprites get blended rims.
    """

    def __init__(self, scene: Scene, size: tuple[int, int], samples: int | None = None) -> None:
        try:
            version = GL.glGetString(GL.GL_VERSION)
        except Exception:  # noqa: BLE001 - PyOpenGL raises when no context is current
            version = None
        if not version:
            raise RenderError("no current OpenGL context: create an OffscreenContext (or a window) "
                              "before the Renderer")
        self.scene = scene
        self.size = (int(size[0]), int(size[1]))
        if self.size[0] < 1 or self.size[1] < 1:
            raise RenderError(f"render size {size} is empty: use a width and height of at least 1 pixel")
        self.samples = 0
        self.max_texture = int(GL.glGetIntegerv(GL.GL_MAX_TEXTURE_SIZE))
        self.max_point = float(GL.glGetFloatv(GL.GL_POINT_SIZE_RANGE)[1])
        gl_renderer = GL.glGetString(GL.GL_RENDERER) or b""
        gl_renderer = gl_renderer.decode(errors="replace") if isinstance(gl_renderer, bytes) else str(gl_renderer)
        self.gl_renderer = gl_renderer
        self.software = any(k in gl_renderer.lower() for k in ("llvmpipe", "softpipe", "swrast", "swr"))
        if samples is None:
            samples = 0 if self.software else 4
        self.requested_samples = max(0, int(samples))
        self._released = False
        self._frame = np.zeros(40, np.float32)          # std140 block "Frame" (see common.glsl)
        self._hud_lines: list[str] | None = None
        self.overlay: Overlay | None = None
        self._hud_size = (0, 0)
        self._hud_font = 0
        #: objects with draw(camera, size), drawn after the labels, under the HUD (e.g. engine.render.volume.FieldLayer)
        self.extra_drawables: list = []
        self.last_modes = np.zeros(0, np.int8)
        self.last_occluded = 0
        #: skip slabs hidden behind one nearer opaque slab (exact: the image does not change)
        self.occlusion_culling = True
        #: seconds a draw may spend rebuilding far pyramids after new activations (None: all of
        #: them). The live viewer sets a budget: far layers then catch up over a few frames while
        #: near ones (read straight from the neurons) are always current.
        self.far_budget: float | None = None
        # every GL name starts at 0 so release() can clean up after a failure half-way
        self._programs: list[Program] = []
        self._empty_vao = self._frame_ubo = self._cmap_tex = self._params_buf = self._params_tex = 0
        self._hud_tex = self._label_vao = self._label_vbo = self._label_tex = 0
        self._frames_vao = self._frames_vbo = 0
        self._fbo = self._resolve_fbo = 0
        self._color_rb = self._depth_rb = self._resolve_tex = self._resolve_depth = 0
        self.values: LayerValues | None = None
        self._edge_vaos: list[tuple[int, int, int, int, float]] = []   # vao, vbo, vertex count, kind, alpha
        self._frames_count = self._label_vertices = 0
        self._cmap_names: tuple[str, str] | None = None
        try:
            self._create()
        except BaseException:
            self.release()
            raise

    def _create(self) -> None:
        self.slab_prog = Program("slab.vert", "slab.frag")
        self.neuron_prog = Program("neurons.vert", "neurons.frag")
        self.line_prog = Program("edges.vert", "edges.frag")
        self.label_prog = Program("label.vert", "label.frag")
        self.hud_prog = Program("hud.vert", "hud.frag")
        self._programs = [self.slab_prog, self.neuron_prog, self.line_prog, self.label_prog, self.hud_prog]
        self._init_samplers()

        self._empty_vao = int(GL.glGenVertexArrays(1))
        self._frame_ubo = int(GL.glGenBuffers(1))
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, self._frame_ubo)
        GL.glBufferData(GL.GL_UNIFORM_BUFFER, self._frame.nbytes, None, GL.GL_DYNAMIC_DRAW)
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, 0)

        self._cmap_tex = int(GL.glGenTextures(1))
        self._upload_colormaps()

        self._params_buf = int(GL.glGenBuffers(1))
        self._params_tex = int(GL.glGenTextures(1))
        self._build_slabs()
        self._build_edges()
        self._build_labels()

        self._hud_tex = int(GL.glGenTextures(1))
        self.overlay = Overlay(self.hud_prog, self._empty_vao, _UNIT_IMAGE)
        self._create_targets()

    # ------------------------------------------------------------------ setup
    def _init_samplers(self) -> None:
        for prog, names in ((self.slab_prog, {"u_values": _UNIT_VALUES, "u_colormaps": _UNIT_CMAP,
                                              "u_params": _UNIT_PARAMS, "u_far": _UNIT_FAR}),
                            (self.neuron_prog, {"u_values": _UNIT_VALUES, "u_colormaps": _UNIT_CMAP,
                                                "u_params": _UNIT_PARAMS}),
                            (self.line_prog, {"u_colormaps": _UNIT_CMAP}),
                            (self.label_prog, {"u_atlas": _UNIT_IMAGE}),
                            (self.hud_prog, {"u_image": _UNIT_IMAGE})):
            GL.glUseProgram(prog.id)
            for name, unit in names.items():
                if prog.loc(name) >= 0:
                    GL.glUniform1i(prog.loc(name), unit)
        GL.glUseProgram(self.neuron_prog.id)
        GL.glUniform1f(self.neuron_prog.loc("u_max_point"), self.max_point)
        GL.glUseProgram(0)
        self._loc_slab = self.slab_prog.loc("u_slab")
        self._loc_neuron = self.neuron_prog.loc("u_slab")
        self._loc_kind = self.line_prog.loc("u_kind")
        self._loc_alpha = self.line_prog.loc("u_alpha")
        self._loc_rect = self.hud_prog.loc("u_rect")

    def _upload_colormaps(self) -> None:
        names = (self.scene.colormap, self.scene.diverging)
        table = np.stack([colormap_table(names[0]), colormap_table(names[1])])   # (2, 256, 4)
        rgba = np.ascontiguousarray(np.clip(table * 255.0 + 0.5, 0, 255).astype(np.uint8))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._cmap_tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, 256, 2, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, rgba)
        for p, v in ((GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR), (GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR),
                     (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, p, v)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        self._cmap_names = names

    def _pack_params(self) -> np.ndarray:
        """Per slab 16 floats: origin, scale | U=u*cols, flags | V=v*rows, count | cols, rows, tile_h, tile_w.
        flags: FLAG_SIGNED (diverging colormap), FLAG_LOG (sign(v) log1p|v|), FLAG_NO_FAR (1x1 mosaic)."""
        p = np.zeros((max(1, len(self.scene.slabs)), 16), np.float32)
        for i, s in enumerate(self.scene.slabs):
            p[i, 0:3] = s.origin
            p[i, 3] = s.scale
            p[i, 4:7] = np.asarray(s.u, np.float64) * s.cols
            p[i, 7] = (FLAG_SIGNED if s.signed else 0) | (FLAG_NO_FAR if s.rows * s.cols <= 1 else 0)
            p[i, 8:11] = np.asarray(s.v, np.float64) * s.rows
            p[i, 11] = s.count
            th, tw = (s.tile if s.tile else (s.rows, s.cols))
            p[i, 12:16] = (s.cols, s.rows, max(1, th), max(1, tw))
        return p

    def _build_slabs(self) -> None:
        slabs = self.scene.slabs
        self._index = {s.layer_id: i for i, s in enumerate(slabs)}
        self._params = self._pack_params()
        self._params_dirty = False
        GL.glBindBuffer(GL.GL_TEXTURE_BUFFER, self._params_buf)
        GL.glBufferData(GL.GL_TEXTURE_BUFFER, self._params.nbytes, self._params, GL.GL_DYNAMIC_DRAW)
        GL.glBindTexture(GL.GL_TEXTURE_BUFFER, self._params_tex)
        GL.glTexBuffer(GL.GL_TEXTURE_BUFFER, GL.GL_RGBA32F, self._params_buf)
        GL.glBindBuffer(GL.GL_TEXTURE_BUFFER, 0)
        GL.glBindTexture(GL.GL_TEXTURE_BUFFER, 0)

        self._arrays = SlabArrays(slabs)
        self._centers = self._arrays.centers
        self._counts = [int(s.rows * s.cols) for s in slabs]   # padding is clipped in the shader
        if slabs:
            lo, hi = self.scene.bbox
        else:
            lo = hi = np.zeros(3)
        self._bbox_corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                                       for z in (lo[2], hi[2])], np.float64)
        self._bbox_lo, self._bbox_hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
        self._diag = max(float(np.linalg.norm(self._bbox_hi - self._bbox_lo)), 1e-3)

        for i, s in enumerate(slabs):
            if s.cols > self.max_texture or s.rows > self.max_texture or s.cols < 1 or s.rows < 1:
                raise RenderError(f"layer {s.name!r} is a {s.cols}x{s.rows} mosaic; this GL allows 1..{self.max_texture} "
                                  "texels a side: lay it out with more rows (or fewer neurons)")
        if self.values is not None:
            self.values.release()
        self.values = LayerValues(slabs)

        # slab frames: 4 segments per slab, drawn together with the line program
        verts = np.zeros((max(1, len(slabs)) * 8, 4), np.float32)
        for i, s in enumerate(slabs):
            c = s.corners
            verts[i * 8:(i + 1) * 8, :3] = c[[0, 1, 1, 2, 2, 3, 3, 0]]
            verts[i * 8:(i + 1) * 8, 3] = 1.0
        self._frames_count = 8 * len(slabs)
        if self._frames_vao:
            GL.glDeleteVertexArrays(1, [self._frames_vao])
            GL.glDeleteBuffers(1, [self._frames_vbo])
        self._frames_vao, self._frames_vbo = self._line_vao(verts)

    def _line_vao(self, verts: np.ndarray) -> tuple[int, int]:
        vao = int(GL.glGenVertexArrays(1))
        vbo = int(GL.glGenBuffers(1))
        GL.glBindVertexArray(vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, verts.nbytes, verts, GL.GL_STATIC_DRAW)
        GL.glEnableVertexAttribArray(0)
        GL.glVertexAttribPointer(0, 3, GL.GL_FLOAT, GL.GL_FALSE, 4 * _FLOAT, ctypes.c_void_p(0))
        GL.glEnableVertexAttribArray(1)
        GL.glVertexAttribPointer(1, 1, GL.GL_FLOAT, GL.GL_FALSE, 4 * _FLOAT, ctypes.c_void_p(3 * _FLOAT))
        GL.glBindVertexArray(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
        return vao, vbo

    def _build_edges(self) -> None:
        for vao, vbo, *_ in self._edge_vaos:
            GL.glDeleteVertexArrays(1, [vao])
            GL.glDeleteBuffers(1, [vbo])
        self._edge_vaos = []
        boxes = []      # world bounding box per drawn edge set, for frustum culling
        for e in self.scene.edges:
            pos = np.asarray(e.positions, np.float32).reshape(-1, 3)
            n = len(pos) - len(pos) % 2
            if n == 0:
                continue
            w = np.broadcast_to(np.asarray(e.weights, np.float32).reshape(-1), (len(pos),)) \
                if np.size(e.weights) in (1, len(pos)) else np.ones(len(pos), np.float32)
            verts = np.empty((n, 4), np.float32)
            verts[:, :3] = pos[:n]
            verts[:, 3] = w[:n]
            vao, vbo = self._line_vao(verts)
            boxes.append((pos[:n].min(axis=0), pos[:n].max(axis=0)))
            self._edge_vaos.append((vao, vbo, n, EDGE_KINDS.get(e.kind, 1), EDGE_ALPHA.get(e.kind, 0.4)))
        self._edge_boxes = box_corners_h(np.array([b[0] for b in boxes]).reshape(-1, 3),
                                         np.array([b[1] for b in boxes]).reshape(-1, 3))
        segments = sum(v[2] for v in self._edge_vaos) // 2
        #: GL_LINE_SMOOTH: on llvmpipe it costs ~2 us a segment (70k segments: +130 ms a frame),
        #: so software rasterisers smooth lines only for modest edge counts
        self.smooth_lines = not self.software or segments <= SMOOTH_LINES_MAX

    def _build_labels(self) -> None:
        if self._label_vao:
            GL.glDeleteVertexArrays(1, [self._label_vao])
            GL.glDeleteBuffers(1, [self._label_vbo])
            GL.glDeleteTextures([self._label_tex])
            self._label_vao = self._label_vbo = self._label_tex = 0
        labels = [lb for lb in self.scene.labels if lb.text]
        self._label_vertices = 0
        if not labels:
            return
        texts = list(dict.fromkeys(lb.text for lb in labels))
        for font_px in (LABEL_FONT_PX, 32, 20):      # smaller glyphs when there are very many labels
            atlas, boxes = pack_atlas([render_label(t, font_px) for t in texts],
                                      width=min(4096, self.max_texture))
            if atlas.shape[0] <= self.max_texture and atlas.shape[1] <= self.max_texture:
                break
        else:
            raise RenderError(f"{len(texts)} label texts do not fit a {self.max_texture}px texture: "
                              "hide labels (show_labels=False) or shorten them")
        box = dict(zip(texts, boxes))
        ah, aw = atlas.shape[:2]
        verts = np.zeros((len(labels) * 6, 11), np.float32)
        for i, lb in enumerate(labels):
            x, y, w, h = box[lb.text]
            H = float(lb.height)
            W = H * w / h
            u0, u1 = x / aw, (x + w) / aw
            v_top, v_bot = y / ah, (y + h) / ah
            corners = [((0, 0), (u0, v_bot)), ((W, 0), (u1, v_bot)), ((0, H), (u0, v_top)),
                       ((0, H), (u0, v_top)), ((W, 0), (u1, v_bot)), ((W, H), (u1, v_top))]
            for k, (off, uv) in enumerate(corners):
                row = verts[i * 6 + k]
                row[0:3] = lb.position
                row[3:5] = off
                row[5:7] = uv
                row[7:11] = lb.color
        self._label_vertices = len(verts)

        self._label_tex = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._label_tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, aw, ah, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE,
                        np.ascontiguousarray(atlas))
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        GL.glGenerateMipmap(GL.GL_TEXTURE_2D)
        for p, v in ((GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR), (GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR),
                     (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, p, v)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)

        self._label_vao = int(GL.glGenVertexArrays(1))
        self._label_vbo = int(GL.glGenBuffers(1))
        GL.glBindVertexArray(self._label_vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._label_vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, verts.nbytes, verts, GL.GL_STATIC_DRAW)
        stride = 11 * _FLOAT
        for loc, n, off in ((0, 3, 0), (1, 2, 3), (2, 2, 5), (3, 4, 7)):
            GL.glEnableVertexAttribArray(loc)
            GL.glVertexAttribPointer(loc, n, GL.GL_FLOAT, GL.GL_FALSE, stride, ctypes.c_void_p(off * _FLOAT))
        GL.glBindVertexArray(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

    def rebuild(self) -> None:
        """Re-read the scene's geometry (slabs, edges, labels, colormaps) after it changed.

        Values of slabs whose ``values`` is None are reset to zero."""
        self._build_slabs()
        self._build_edges()
        self._build_labels()
        self._upload_colormaps()

    # ------------------------------------------------------------------ framebuffers
    def _delete_targets(self) -> None:
        if self._fbo:
            GL.glDeleteFramebuffers(1, [self._fbo])
        if self._resolve_fbo:
            GL.glDeleteFramebuffers(1, [self._resolve_fbo])
        rbs = [r for r in (self._color_rb, self._depth_rb, self._resolve_depth) if r]
        if rbs:
            GL.glDeleteRenderbuffers(len(rbs), rbs)
        if self._resolve_tex:
            GL.glDeleteTextures([self._resolve_tex])
        self._fbo = self._resolve_fbo = self._color_rb = self._depth_rb = 0
        self._resolve_tex = self._resolve_depth = 0

    def _create_targets(self) -> None:
        w, h = self.size
        if w > self.max_texture or h > self.max_texture:
            raise RenderError(f"render size {w}x{h} exceeds this GL's limit of {self.max_texture}px: render smaller")
        self._delete_targets()
        self._resolve_fbo = int(GL.glGenFramebuffers(1))
        self._resolve_tex = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._resolve_tex)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, w, h, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._resolve_fbo)
        GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, self._resolve_tex, 0)

        samples = min(self.requested_samples, int(GL.glGetIntegerv(GL.GL_MAX_SAMPLES)))
        self.samples = 0
        if samples > 0:
            self._fbo = int(GL.glGenFramebuffers(1))
            self._color_rb, self._depth_rb = (int(x) for x in GL.glGenRenderbuffers(2))
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self._color_rb)
            GL.glRenderbufferStorageMultisample(GL.GL_RENDERBUFFER, samples, GL.GL_RGBA8, w, h)
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self._depth_rb)
            GL.glRenderbufferStorageMultisample(GL.GL_RENDERBUFFER, samples, GL.GL_DEPTH_COMPONENT24, w, h)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._fbo)
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_RENDERBUFFER, self._color_rb)
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER, self._depth_rb)
            if GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER) == GL.GL_FRAMEBUFFER_COMPLETE:
                self.samples = samples
            else:   # no MSAA here: fall back to drawing straight into the resolve target
                GL.glDeleteFramebuffers(1, [self._fbo])
                GL.glDeleteRenderbuffers(2, [self._color_rb, self._depth_rb])
                self._fbo = self._color_rb = self._depth_rb = 0
        if self.samples == 0:
            self._resolve_depth = int(GL.glGenRenderbuffers(1))
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self._resolve_depth)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT24, w, h)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._resolve_fbo)
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER,
                                         self._resolve_depth)
            self._fbo = self._resolve_fbo
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._resolve_fbo)
        status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, 0)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            raise RenderError(f"offscreen framebuffer {w}x{h} is incomplete (status 0x{int(status):x}): "
                              "try a smaller size or samples=0")
        self._readback = np.empty((h, w, 3), np.uint8)

    def resize(self, size: tuple[int, int]) -> None:
        size = (int(size[0]), int(size[1]))
        if size[0] < 1 or size[1] < 1:
            raise RenderError(f"render size {size} is empty: use a width and height of at least 1 pixel")
        if size != self.size:
            self.size = size
            self._create_targets()
            if self._hud_lines:             # font size follows the framebuffer height
                self.set_hud(self._hud_lines)

    @property
    def last_lod(self) -> dict[int, str]:
        """Per layer id: "cull" / "slab" / "points" as the level of detail decided for the last
        draw (before occlusion culling; ``last_occluded`` counts the slabs skipped as hidden)."""
        return self._arrays.as_dict(self.last_modes)

    @property
    def color_texture(self) -> int:
        """GL name of the single-sample RGBA8 texture holding the last frame."""
        return self._resolve_tex

    # ------------------------------------------------------------------ live data
    def _slab_index(self, layer_id: int) -> int:
        i = self._index.get(layer_id)
        if i is None:
            raise KeyError(f"no slab for layer {layer_id} in the rendered scene")
        return i

    def update_values(self, layer_id: int, values, scale: float | None = None) -> None:
        """Copy a layer's activations into its buffer: ``values`` holds the ``count`` neurons
        flat in tensor order (float32 or float16), or the (rows, cols) mosaic image. ``scale``
        replaces ``slab.scale``. The slab keeps the written array in ``slab.values``."""
        i = self._slab_index(layer_id)
        self.scene.slabs[i].values = self.values.write(i, values)
        if scale is not None and float(scale) != float(self._params[i, 3]):
            self.set_scale(layer_id, scale)

    def attach_values(self, layer_id: int, values: np.ndarray, scale: float | None = None) -> bool:
        """Show ``values`` (flat tensor order, C-contiguous float32/float16) for a layer, sharing
        the memory with GL where the driver can (True) instead of copying it (False). The array
        must not change until the next attach of this layer and one more drawn frame: the
        renderer keeps a reference until then."""
        i = self._slab_index(layer_id)
        shared = self.values.attach(i, values)
        self.scene.slabs[i].values = self.values.data[i]
        if scale is not None and float(scale) != float(self._params[i, 3]):
            self.set_scale(layer_id, scale)
        return shared

    def read_texture(self, layer_id: int) -> np.ndarray:
        """A layer's neurons as GL holds them, flat float32 in tensor order (tests, debugging)."""
        return self.values.read(self._slab_index(layer_id))

    def _set_flags(self, i: int, signed: bool, log: bool) -> None:
        s = self.scene.slabs[i]
        flags = (FLAG_SIGNED if signed else 0) | (FLAG_LOG if log else 0) | (FLAG_NO_FAR if s.rows * s.cols <= 1 else 0)
        if int(self._params[i, 7]) == flags:
            return
        s.signed = bool(signed)
        self._params[i, 7] = flags
        self._params_dirty = True

    def set_signed(self, layer_id: int, signed: bool, log: bool | None = None) -> None:
        """Switch a layer between the diverging (signed) and sequential colormap; ``log`` draws
        sign(v) * log1p(|v|) instead of v (None: unchanged)."""
        i = self._slab_index(layer_id)
        if log is None:
            log = bool(int(self._params[i, 7]) & FLAG_LOG)
        self._set_flags(i, signed, log)

    def set_scale(self, layer_id: int, scale: float) -> None:
        i = self._index[layer_id]
        self.scene.slabs[i].scale = float(scale)
        self._params[i, 3] = scale
        self._params_dirty = True      # uploaded once, at the next draw

    def _upload_params(self) -> None:
        GL.glBindBuffer(GL.GL_TEXTURE_BUFFER, self._params_buf)
        GL.glBufferSubData(GL.GL_TEXTURE_BUFFER, 0, self._params.nbytes, _ptr(self._params))
        GL.glBindBuffer(GL.GL_TEXTURE_BUFFER, 0)
        self._params_dirty = False

    # ------------------------------------------------------------------ HUD
    def _hud_font_px(self) -> int:
        return int(np.clip(round(self.size[1] / 54), 12, 28))

    def set_highlight(self, positions: np.ndarray, weights: np.ndarray | None = None) -> None:
        """Line segments drawn bright and thick on top of the frame: (2N, 3) endpoints, optional
        (2N,) weights in [-1, 1] (warm positive, cold negative); see engine/render/overlay.py."""
        self.overlay.set_highlight(positions, weights)

    def clear_highlight(self) -> None:
        """Remove the highlighted segments."""
        self.overlay.clear_highlight()

    def set_panel(self, image: np.ndarray | None) -> None:
        """An (H, W, 4) uint8 RGBA image drawn in the bottom-right corner (None hides it)."""
        self.overlay.set_panel(image)

    def set_hud(self, lines: list[str] | None) -> None:
        """Text lines drawn top-left over the frame; re-rendered only when they change."""
        lines = list(lines or [])
        font = self._hud_font_px()
        if lines == self._hud_lines and font == self._hud_font:
            return
        self._hud_lines, self._hud_font = lines, font
        if not lines:
            self._hud_size = (0, 0)
            return
        img = render_panel(lines, font)
        h, w = img.shape[:2]
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._hud_tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        if (w, h) == self._hud_size:
            GL.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, 0, w, h, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, img)
        else:
            GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, w, h, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, img)
            GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_NEAREST)
            GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_NEAREST)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        self._hud_size = (w, h)

    # ------------------------------------------------------------------ frame
    def _fill_frame(self, cam: Camera) -> None:
        w, h = self.size
        f = self._frame
        f[0:16] = cam.view_projection(w / h).T.ravel()    # column-major for GLSL
        pos = cam.position
        f[16:19] = pos
        f[20:23] = cam.right
        f[24:27] = cam.up
        # fog: starts a little past the nearest point of the scene's box and is strongest at its
        # farthest corner; offsets scale with the scene's size so a shallow scene stays clear
        nearest = np.clip(pos, self._bbox_lo, self._bbox_hi)
        d_near = float(np.linalg.norm(pos - nearest))
        d_far = float(np.sqrt(((self._bbox_corners - pos) ** 2).sum(axis=1).max()))
        f[28] = d_near + 0.15 * self._diag
        f[29] = max(d_far, f[28]) + 0.1 * self._diag
        f[30] = FOG_MAX
        f[32:35] = self.scene.background
        f[36], f[37] = w, h
        f[38] = cam.focal_px(h)
        f[39] = NEURON_GAP
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, self._frame_ubo)
        GL.glBufferSubData(GL.GL_UNIFORM_BUFFER, 0, f.nbytes, _ptr(f))
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, 0)
        GL.glBindBufferBase(GL.GL_UNIFORM_BUFFER, 0, self._frame_ubo)

    def _update_far(self, as_slab: list[int], cam: Camera, vp: np.ndarray, texel_sizes_stale: bool) -> None:
        """Rebuild the far pyramids the slabs about to be drawn need, before any draw is queued
        (llvmpipe flushes queued drawing when a texture changes), nearest first, within
        ``far_budget``. A slab's finest level is the lod at its nearest point, 0.5 below (the
        blend toward level 1; oblique views only sample coarser levels)."""
        arrays, vals = self._arrays, self.values
        if texel_sizes_stale:      # the caller decided the modes: texel sizes come from the camera
            arrays.modes(cam, self.size, self.scene.lod_px, vp)
        first = np.maximum(1, np.floor(np.log2(1.0 / np.maximum(arrays.texel_px, 1e-9)) - 0.5)).astype(int)
        budget_end = None if self.far_budget is None else time.perf_counter() + self.far_budget
        GL.glActiveTexture(GL.GL_TEXTURE0 + _UNIT_FAR)
        for i in as_slab:
            if vals.far[i] and (vals.far_dirty[i] or not vals.far_level[i] or first[i] < vals.far_level[i]):
                if budget_end is not None and time.perf_counter() >= budget_end:
                    break
                vals.gl.bind_texture(GL.GL_TEXTURE_2D, vals.far[i])
                vals.ensure_far(i, int(first[i]))
        GL.glActiveTexture(GL.GL_TEXTURE0)

    def draw(self, camera: Camera | None = None, lod: dict[int, str] | None = None) -> None:
        """Render one frame into the renderer's framebuffer (read it with read_pixels / draw_to)."""
        if self._released:
            raise RenderError("this Renderer was released: create a new one")
        sc = self.scene
        cam = camera if camera is not None else sc.camera
        arrays = self._arrays
        vp = cam.view_projection(self.size[0] / self.size[1])
        if lod is None:    # same decision as engine.scene.lod.choose_lod, vectorised
            modes = arrays.modes(cam, self.size, sc.lod_px, vp)
        else:
            modes = arrays.from_dict(lod)
        self.last_modes = modes
        self.last_occluded = 0
        if self.occlusion_culling:
            hidden = arrays.occluded(modes, cam, vp, self.size)
            self.last_occluded = int(hidden.sum())
            if self.last_occluded:
                modes = np.where(hidden, CULL, modes).astype(np.int8)
        if (sc.colormap, sc.diverging) != self._cmap_names:
            self._upload_colormaps()
        if self._params_dirty:
            self._upload_params()
        w, h = self.size
        self._fill_frame(cam)

        order = np.argsort(((self._centers - cam.position) ** 2).sum(axis=1), kind="stable")
        ordered = modes[order]
        as_slab = order[ordered == SLAB].tolist()
        as_points = order[ordered == POINTS].tolist()
        if as_slab:
            self._update_far(as_slab, cam, vp, lod is not None)

        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self._fbo)
        GL.glViewport(0, 0, w, h)
        bg = sc.background
        GL.glClearColor(float(bg[0]), float(bg[1]), float(bg[2]), 1.0)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LEQUAL)
        GL.glDisable(GL.GL_BLEND)
        GL.glDisable(GL.GL_CULL_FACE)
        if self.samples:
            GL.glEnable(GL.GL_MULTISAMPLE)

        GL.glActiveTexture(GL.GL_TEXTURE0 + _UNIT_CMAP)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._cmap_tex)
        GL.glActiveTexture(GL.GL_TEXTURE0 + _UNIT_PARAMS)
        GL.glBindTexture(GL.GL_TEXTURE_BUFFER, self._params_tex)
        GL.glActiveTexture(GL.GL_TEXTURE0 + _UNIT_VALUES)

        # opaque passes, front to back so early depth testing rejects hidden fragments
        GL.glBindVertexArray(self._empty_vao)
        gl = self.values.gl
        bind, draw_arrays, uniform = gl.bind_texture, gl.draw_arrays, gl.uniform1i
        if as_slab:
            GL.glEnable(GL.GL_POLYGON_OFFSET_FILL)     # frames (lines) stay visible on top
            GL.glPolygonOffset(1.0, 1.0)
            GL.glUseProgram(self.slab_prog.id)
            loc = self._loc_slab
            vals, active = self.values, gl.active_texture
            for i in as_slab:
                bind(GL.GL_TEXTURE_BUFFER, vals.tex[i])
                if vals.far[i]:
                    active(GL.GL_TEXTURE0 + _UNIT_FAR)
                    bind(GL.GL_TEXTURE_2D, vals.far[i])
                    active(GL.GL_TEXTURE0 + _UNIT_VALUES)
                uniform(loc, i)
                draw_arrays(GL.GL_TRIANGLE_STRIP, 0, 4)
            GL.glDisable(GL.GL_POLYGON_OFFSET_FILL)
        if as_points:
            GL.glEnable(GL.GL_PROGRAM_POINT_SIZE)
            if self.samples:
                GL.glEnable(GL.GL_SAMPLE_ALPHA_TO_COVERAGE)
            else:       # smooth rims by blending (the gap behind shows the background)
                GL.glEnable(GL.GL_BLEND)
                GL.glBlendFunc(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA)
            GL.glUseProgram(self.neuron_prog.id)
            loc = self._loc_neuron
            for i in as_points:
                bind(GL.GL_TEXTURE_BUFFER, self.values.tex[i])
                uniform(loc, i)
                draw_arrays(GL.GL_POINTS, 0, self._counts[i])
            GL.glDisable(GL.GL_SAMPLE_ALPHA_TO_COVERAGE)

        # transparent passes: blended, depth-tested, not depth-written
        GL.glDepthMask(GL.GL_FALSE)
        GL.glEnable(GL.GL_BLEND)
        if self.smooth_lines:
            GL.glEnable(GL.GL_LINE_SMOOTH)  # coverage-antialiased lines when there is no MSAA
        GL.glBlendFuncSeparate(GL.GL_SRC_ALPHA, GL.GL_ONE_MINUS_SRC_ALPHA, GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)
        GL.glUseProgram(self.line_prog.id)
        if self._frames_count:
            GL.glUniform1i(self._loc_kind, FRAME_KIND)
            GL.glUniform1f(self._loc_alpha, FRAME_ALPHA)
            GL.glBindVertexArray(self._frames_vao)
            draw_arrays(GL.GL_LINES, 0, self._frames_count)
        if sc.show_edges and self._edge_vaos:
            off = outside_frustum(self._edge_boxes, vp).tolist()
            for (vao, _vbo, n, kind, alpha), skip in zip(self._edge_vaos, off):
                if skip:
                    continue
                GL.glUniform1i(self._loc_kind, kind)
                GL.glUniform1f(self._loc_alpha, alpha)
                GL.glBindVertexArray(vao)
                draw_arrays(GL.GL_LINES, 0, n)
        GL.glDisable(GL.GL_LINE_SMOOTH)
        GL.glBlendFunc(GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)   # premultiplied text from here on
        if sc.show_labels and self._label_vertices:
            GL.glUseProgram(self.label_prog.id)
            GL.glActiveTexture(GL.GL_TEXTURE0 + _UNIT_IMAGE)
            bind(GL.GL_TEXTURE_2D, self._label_tex)
            GL.glBindVertexArray(self._label_vao)
            draw_arrays(GL.GL_TRIANGLES, 0, self._label_vertices)
        for extra in self.extra_drawables:
            extra.draw(cam, self.size)
        self.overlay.draw_lines(self.size)
        if self._hud_size[0]:
            self._draw_hud()
        self.overlay.draw_panel(self.size)
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glDisable(GL.GL_BLEND)

        if self.samples:   # resolve MSAA into the single-sample target
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._fbo)
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self._resolve_fbo)
            GL.glBlitFramebuffer(0, 0, w, h, 0, 0, w, h, GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        self.values.frame_drawn()

    def _draw_hud(self) -> None:
        w, h = self.size
        tw, th = self._hud_size
        x0 = -1.0 + 2.0 * HUD_MARGIN / w
        y1 = 1.0 - 2.0 * HUD_MARGIN / h
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glUseProgram(self.hud_prog.id)
        GL.glUniform4f(self._loc_rect, x0, y1 - 2.0 * th / h, x0 + 2.0 * tw / w, y1)
        GL.glActiveTexture(GL.GL_TEXTURE0 + _UNIT_IMAGE)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self._hud_tex)
        GL.glBindVertexArray(self._empty_vao)
        GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        GL.glEnable(GL.GL_DEPTH_TEST)

    # ------------------------------------------------------------------ output
    def read_pixels(self, out: np.ndarray | None = None) -> np.ndarray:
        """The last frame as (H, W, 3) uint8, top row first. Pass ``out`` to reuse an array."""
        w, h = self.size
        buf = self._readback
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._resolve_fbo)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        GL.glReadPixels(0, 0, w, h, GL.GL_RGB, GL.GL_UNSIGNED_BYTE, _ptr(buf))
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, 0)
        if out is None:
            return buf[::-1].copy()
        np.copyto(out, buf[::-1])
        return out

    def draw_to(self, fbo: int = 0, size: tuple[int, int] | None = None) -> None:
        """Copy the last frame into framebuffer ``fbo`` (0 = a window's default framebuffer),
        scaled to ``size`` (default: the renderer's size)."""
        w, h = self.size
        tw, th = (int(size[0]), int(size[1])) if size is not None else (w, h)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self._resolve_fbo)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, int(fbo))
        GL.glBlitFramebuffer(0, 0, w, h, 0, 0, tw, th, GL.GL_COLOR_BUFFER_BIT,
                             GL.GL_NEAREST if (tw, th) == (w, h) else GL.GL_LINEAR)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, 0)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, int(fbo))

    def finish(self) -> None:
        """Block until the GPU has finished every queued command (for timing); frees the
        activation arrays replaced since (see attach_values)."""
        if self.values is not None:
            self.values.settle()
        else:
            GL.glFinish()

    def release(self) -> None:
        """Delete every GL object (needs the context current; idempotent)."""
        if self._released:
            return
        self._released = True
        self._delete_targets()
        if self.values is not None:
            self.values.release()
            self.values = None
        texs = [t for t in (self._cmap_tex, self._params_tex, self._hud_tex, self._label_tex) if t]
        if texs:
            GL.glDeleteTextures(texs)
        bufs = [b for b in [self._frame_ubo, self._params_buf, self._frames_vbo, self._label_vbo]
                + [e[1] for e in self._edge_vaos] if b]
        if bufs:
            GL.glDeleteBuffers(len(bufs), bufs)
        vaos = [v for v in [self._empty_vao, self._frames_vao, self._label_vao] + [e[0] for e in self._edge_vaos] if v]
        if vaos:
            GL.glDeleteVertexArrays(len(vaos), vaos)
        if self.overlay is not None:
            self.overlay.release()
        for p in self._programs:
            p.release()
        self._programs = []
        self._edge_vaos = []

    def __enter__(self) -> "Renderer":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def render_image(scene: Scene, size: tuple[int, int] = (1280, 720), camera: Camera | None = None,
                 samples: int | None = None, hud: list[str] | None = None) -> np.ndarray:
    """One frame of ``scene`` as an (H, W, 3) uint8 image, rendered headless (EGL).

    ``camera`` None uses ``scene.camera``; ``samples`` as for :class:`Renderer` (None: 4 on GPUs,
    0 on llvmpipe); ``hud`` optional overlay text lines."""
    from engine.render.context import OffscreenContext
    with OffscreenContext():
        r = Renderer(scene, size, samples=samples)
        try:
            if hud:
                r.set_hud(hud)
            r.draw(camera if camera is not None else scene.camera)
            return r.read_pixels()
        finally:
            r.release()


def save_png(img: np.ndarray, path) -> Path:
    """Write an (H, W, 3|4) uint8 image as PNG; returns the path."""
    from PIL import Image
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.ascontiguousarray(img)).save(p, format="PNG")
    return p


__all__ = ["Renderer", "render_image", "save_png", "colormap_table"]
