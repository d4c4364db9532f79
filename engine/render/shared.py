"""What every pass of one Renderer shares: driver facts, the Frame uniform block (binding 0), the
colormap texture, an empty vertex array for buffer-less draws, and resources that several passes
use (one instance per class, made on first use -- e.g. the slabs' GPU values)."""
from __future__ import annotations

import ctypes

import numpy as np
from OpenGL import GL

from engine.colormaps import ColormapError, colormap_table
from engine.render.errors import RenderError
from engine.render.frame import BLOCK_FLOATS, Extent, FrameState, frame_block

# texture units (each pass binds what it samples; the numbers are fixed so programs' samplers are set once)
UNIT_VALUES, UNIT_CMAP, UNIT_PARAMS, UNIT_IMAGE, UNIT_FAR, UNIT_FIELD = 0, 1, 2, 3, 4, 5
FLOAT = ctypes.sizeof(ctypes.c_float)


def ptr(a: np.ndarray) -> ctypes.c_void_p:
    return a.ctypes.data_as(ctypes.c_void_p)


def line_vertex_array(verts: np.ndarray) -> tuple[int, int]:
    """(vao, vbo) of (N, 4) float32 line vertices: position xyz at location 0, weight at 1."""
    vao = int(GL.glGenVertexArrays(1))
    vbo = int(GL.glGenBuffers(1))
    GL.glBindVertexArray(vao)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, vbo)
    GL.glBufferData(GL.GL_ARRAY_BUFFER, verts.nbytes, verts, GL.GL_STATIC_DRAW)
    GL.glEnableVertexAttribArray(0)
    GL.glVertexAttribPointer(0, 3, GL.GL_FLOAT, GL.GL_FALSE, 4 * FLOAT, ctypes.c_void_p(0))
    GL.glEnableVertexAttribArray(1)
    GL.glVertexAttribPointer(1, 1, GL.GL_FLOAT, GL.GL_FALSE, 4 * FLOAT, ctypes.c_void_p(3 * FLOAT))
    GL.glBindVertexArray(0)
    GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
    return vao, vbo


def delete(vaos=(), buffers=(), textures=()) -> None:
    """Delete the non-zero GL names given (the context must be current)."""
    vaos, buffers, textures = [v for v in vaos if v], [b for b in buffers if b], [t for t in textures if t]
    if vaos:
        GL.glDeleteVertexArrays(len(vaos), vaos)
    if buffers:
        GL.glDeleteBuffers(len(buffers), buffers)
    if textures:
        GL.glDeleteTextures(textures)


def sampler_units(prog, units: dict[str, int]) -> None:
    """Point a program's sampler uniforms at their texture units."""
    GL.glUseProgram(prog.id)
    for name, unit in units.items():
        if prog.loc(name) >= 0:
            GL.glUniform1i(prog.loc(name), unit)
    GL.glUseProgram(0)


class Shared:
    """Create with a GL 3.3+ core context current."""

    def __init__(self) -> None:
        self.max_texture = int(GL.glGetIntegerv(GL.GL_MAX_TEXTURE_SIZE))
        self.max_point = float(GL.glGetFloatv(GL.GL_POINT_SIZE_RANGE)[1])
        name = GL.glGetString(GL.GL_RENDERER) or b""
        self.gl_renderer = name.decode(errors="replace") if isinstance(name, bytes) else str(name)
        self.software = any(k in self.gl_renderer.lower() for k in ("llvmpipe", "softpipe", "swrast", "swr"))
        self.samples = 0            # MSAA samples of the target being drawn (set by the Renderer)
        self.smooth_lines = True    # GL_LINE_SMOOTH for line passes (the edge pass decides by segment count)
        self.extent = Extent()
        self.generation = 0         # bumped by every Renderer.rebuild: resources build once per generation
        self._block = np.zeros(BLOCK_FLOATS, np.float32)
        self._cmap_names: tuple[str, str] | None = None
        self._resources: dict[type, object] = {}
        self.empty_vao = self.frame_ubo = self.cmap_tex = 0
        self.empty_vao = int(GL.glGenVertexArrays(1))
        self.frame_ubo = int(GL.glGenBuffers(1))
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, self.frame_ubo)
        GL.glBufferData(GL.GL_UNIFORM_BUFFER, self._block.nbytes, None, GL.GL_DYNAMIC_DRAW)
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, 0)
        self.cmap_tex = int(GL.glGenTextures(1))

    def resource(self, cls):
        """The one ``cls(shared)`` of this renderer (made on first use)."""
        r = self._resources.get(cls)
        if r is None:
            r = self._resources[cls] = cls(self)
        return r

    def sync_colormaps(self, scene) -> None:
        """Upload the scene's two colormaps (row 0 sequential, row 1 diverging) when they changed."""
        names = (scene.colormap, scene.diverging)
        if names == self._cmap_names:
            return
        try:
            table = np.stack([colormap_table(names[0]), colormap_table(names[1])])   # (2, 256, 4)
        except ColormapError as e:
            raise RenderError(str(e)) from None
        rgba = np.ascontiguousarray(np.clip(table * 255.0 + 0.5, 0, 255).astype(np.uint8))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.cmap_tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, 256, 2, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, rgba)
        for p, v in ((GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR), (GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR),
                     (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, p, v)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        self._cmap_names = names

    def upload_frame(self, frame: FrameState, background) -> None:
        """Fill and bind the Frame uniform block (binding point 0)."""
        f = frame_block(self._block, frame, self.extent, background)
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, self.frame_ubo)
        GL.glBufferSubData(GL.GL_UNIFORM_BUFFER, 0, f.nbytes, ptr(f))
        GL.glBindBuffer(GL.GL_UNIFORM_BUFFER, 0)
        GL.glBindBufferBase(GL.GL_UNIFORM_BUFFER, 0, self.frame_ubo)

    def release(self) -> None:
        for r in self._resources.values():
            r.release()
        self._resources = {}
        delete(vaos=[self.empty_vao], buffers=[self.frame_ubo], textures=[self.cmap_tex])
        self.empty_vao = self.frame_ubo = self.cmap_tex = 0



class ImageRect:
    """A premultiplied RGBA image drawn as a screen-space rectangle (hud.vert/hud.frag): the HUD
    text and the kernel panel."""

    def __init__(self, shared: Shared, min_filter, mag_filter) -> None:
        from engine.render.shaders import Program
        self.prog = Program("hud.vert", "hud.frag")
        sampler_units(self.prog, {"u_image": UNIT_IMAGE})
        self.empty_vao = shared.empty_vao
        self.filters = (min_filter, mag_filter)
        self.tex = int(GL.glGenTextures(1))
        self.size = (0, 0)           # pixels of the image; 0: nothing to draw

    def upload(self, img: np.ndarray) -> None:
        """(H, W, 4) uint8 premultiplied RGBA, re-allocated only when its size changes."""
        h, w = img.shape[:2]
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        if (w, h) == self.size:
            GL.glTexSubImage2D(GL.GL_TEXTURE_2D, 0, 0, 0, w, h, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, img)
        else:
            GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, w, h, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, img)
            for p, v in ((GL.GL_TEXTURE_MIN_FILTER, self.filters[0]), (GL.GL_TEXTURE_MAG_FILTER, self.filters[1]),
                         (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)):
                GL.glTexParameteri(GL.GL_TEXTURE_2D, p, v)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        self.size = (w, h)

    def draw(self, rect: tuple[float, float, float, float]) -> None:
        """At ``rect`` = (x0, y0, x1, y1) in normalized device coordinates, depth test off."""
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glUseProgram(self.prog.id)
        GL.glUniform4f(self.prog.loc("u_rect"), *rect)
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_IMAGE)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.tex)
        GL.glBindVertexArray(self.empty_vao)
        GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        GL.glEnable(GL.GL_DEPTH_TEST)

    def release(self) -> None:
        delete(textures=[self.tex])
        self.tex = 0
        self.prog.release()
