"""Decision fields on the GPU: a 2D field as a height field, a 3D field raymarched from a 3D
texture (translucent isosurface shells, no CPU mesh), and the data points as sprites.

A :class:`FieldLayer` draws into whatever framebuffer is bound; add it to a Renderer's
``extra_drawables`` to draw it inside the renderer's frame (depth-tested against the network
scene, under the HUD). Field data comes from engine.compute.field (numpy, float16 or float32):
one glTexSubImage2D/3D a refresh.
"""
from __future__ import annotations

import ctypes
import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

import numpy as np  # noqa: E402
from OpenGL import GL  # noqa: E402

from engine.render.errors import RenderError  # noqa: E402
from engine.render.shaders import Program  # noqa: E402
from engine.scene.camera import Camera  # noqa: E402

# TensorFlow Playground's orange / blue for binary problems, then tab10 for more classes
PALETTE = np.array([(0.96, 0.58, 0.16), (0.10, 0.47, 0.78), (0.17, 0.63, 0.17), (0.84, 0.15, 0.16),
                    (0.58, 0.40, 0.74), (0.55, 0.34, 0.29), (0.89, 0.47, 0.76), (0.50, 0.50, 0.50),
                    (0.74, 0.74, 0.13), (0.09, 0.75, 0.81)], np.float32)
LEVELS = (0.5, 0.2, 0.8, -1.0)        # decision boundary, then confidence shells
ALPHAS = (0.55, 0.22, 0.22, 0.0)
_UNIT = 5                             # texture unit for the field (the Renderer uses 0-3)


class FieldLayer:
    """Field texture + data points + box, placed in the world box ``center`` +- ``half``.

    Data coordinates [-1, 1] map onto the box: 3D x, y, z -> world x, y, z; 2D x -> world x,
    y -> world -z, probability -> world y (height field of ``height`` world units; 0: a plane).
    Create and use it while a GL 3.3 core context is current.
    """

    def __init__(self, dims: int, center=(0.0, 0.0, 0.0), half: float = 2.0, *, height: float = 1.5,
                 steps: int | None = None) -> None:
        if dims not in (2, 3):
            raise RenderError(f"a field layer shows 2D or 3D fields, got {dims}D: use 2 or 3 inputs")
        self.dims = dims
        self.center = np.asarray(center, np.float64)
        self.half = float(half)
        self.height = float(height)
        renderer = GL.glGetString(GL.GL_RENDERER) or b""
        software = any(k in str(renderer).lower() for k in ("llvmpipe", "softpipe", "swrast"))
        self.steps = int(steps or (96 if software else 256))
        self.grid = 192 if software else 384       # height-field quads per side
        self.point_px = 7.0
        self.show_points = True
        self.show_box = True
        self.classes, self.interest = 2, 1
        self.res = 0
        self._tex_shape: tuple | None = None
        self._tex = self._vao = self._vbo = 0
        self._npoints = 0
        self._programs: list[Program] = []
        try:
            self.surface = Program("volume.vert", "volume.frag") if dims == 3 else \
                Program("heightfield.vert", "heightfield.frag")
            self.points_prog = Program("field_points.vert", "field_points.frag")
            self.box_prog = Program("field_box.vert", "field_box.frag")
            self._programs = [self.surface, self.points_prog, self.box_prog]
            self._tex = int(GL.glGenTextures(1))
            self._empty_vao = int(GL.glGenVertexArrays(1))
            self._vao = int(GL.glGenVertexArrays(1))
            self._vbo = int(GL.glGenBuffers(1))
        except BaseException:
            self.release()
            raise

    # ------------------------------------------------------------------ placement
    @property
    def box_min(self) -> np.ndarray:
        return self.center - self.half

    @property
    def box_size(self) -> np.ndarray:
        return np.full(3, 2.0 * self.half)

    def to_world(self, x: np.ndarray, height01: np.ndarray | None = None) -> np.ndarray:
        """World positions of data points (N, dims) in [-1, 1]; 2D points at height ``height01``
        (p in [0, 1], default 0.5: the plane through the middle)."""
        x = np.asarray(x, np.float64)
        c, h = self.center, self.half
        if self.dims == 3:
            return c + h * x
        p = np.full(len(x), 0.5) if height01 is None else np.asarray(height01, np.float64)
        return np.c_[c[0] + h * x[:, 0], c[1] + (p - 0.5) * self.height, c[2] - h * x[:, 1]]

    def to_data(self, world: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_world` (2D: the height is dropped)."""
        w = (np.asarray(world, np.float64) - self.center) / self.half
        return w if self.dims == 3 else np.array([w[0], -w[2]])

    # ------------------------------------------------------------------ data
    def upload(self, field) -> None:
        """Write an engine.compute.field.Field into the texture (re-allocated only when its shape,
        channels or dtype change)."""
        data = np.ascontiguousarray(field.data)
        if field.dims != self.dims:
            raise RenderError(f"a {field.dims}D field for a {self.dims}D field layer: rebuild the layer")
        if data.dtype not in (np.float16, np.float32):
            data = data.astype(np.float32)
        ch = 1 if data.ndim == self.dims else data.shape[-1]
        gl_type = GL.GL_HALF_FLOAT if data.dtype == np.float16 else GL.GL_FLOAT
        internal = {(1, GL.GL_FLOAT): GL.GL_R32F, (2, GL.GL_FLOAT): GL.GL_RG32F,
                    (1, GL.GL_HALF_FLOAT): GL.GL_R16F, (2, GL.GL_HALF_FLOAT): GL.GL_RG16F}[(ch, gl_type)]
        fmt = GL.GL_RED if ch == 1 else GL.GL_RG
        shape = data.shape[:self.dims]
        target = GL.GL_TEXTURE_3D if self.dims == 3 else GL.GL_TEXTURE_2D
        GL.glActiveTexture(GL.GL_TEXTURE0 + _UNIT)
        GL.glBindTexture(target, self._tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        ptr = data.ctypes.data_as(ctypes.c_void_p)
        key = (shape, ch, gl_type)
        if key != self._tex_shape:
            if self.dims == 3:
                GL.glTexImage3D(target, 0, internal, shape[2], shape[1], shape[0], 0, fmt, gl_type, ptr)
            else:
                GL.glTexImage2D(target, 0, internal, shape[1], shape[0], 0, fmt, gl_type, ptr)
            for p, v in ((GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR), (GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR),
                         (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE),
                         (GL.GL_TEXTURE_WRAP_R, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_BASE_LEVEL, 0),
                         (GL.GL_TEXTURE_MAX_LEVEL, 0)):
                GL.glTexParameteri(target, p, v)
            self._tex_shape = key
        elif self.dims == 3:
            GL.glTexSubImage3D(target, 0, 0, 0, 0, shape[2], shape[1], shape[0], fmt, gl_type, ptr)
        else:
            GL.glTexSubImage2D(target, 0, 0, 0, shape[1], shape[0], fmt, gl_type, ptr)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        GL.glBindTexture(target, 0)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        self.res = int(shape[0])
        self.classes, self.interest = int(field.classes), int(field.interest)

    def read_texture(self) -> np.ndarray:
        """The field texture as float32 (H, W[, C]) / (D, H, W[, C]) (tests, debugging)."""
        if self._tex_shape is None:
            raise RenderError("no field uploaded yet: call upload(field) first")
        shape, ch, _ = self._tex_shape
        out = np.empty(shape + ((ch,) if ch > 1 else ()), np.float32)
        target = GL.GL_TEXTURE_3D if self.dims == 3 else GL.GL_TEXTURE_2D
        GL.glBindTexture(target, self._tex)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        GL.glGetTexImage(target, 0, GL.GL_RED if ch == 1 else GL.GL_RG, GL.GL_FLOAT,
                         out.ctypes.data_as(ctypes.c_void_p))
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 4)
        GL.glBindTexture(target, 0)
        return out

    def set_points(self, x: np.ndarray, y: np.ndarray, test: np.ndarray | None = None,
                   height01: np.ndarray | None = None) -> None:
        """Data points (N, dims) with class ids; ``test`` marks test points (drawn as rings); 2D
        points sit at ``height01`` (default: their class of interest membership, 1 or 0)."""
        y = np.asarray(y)
        if self.dims == 2 and height01 is None:
            height01 = (y == self.interest).astype(np.float64)
        verts = np.zeros((len(y), 5), np.float32)
        verts[:, :3] = self.to_world(x, height01)
        verts[:, 3] = y
        verts[:, 4] = 0.0 if test is None else np.asarray(test, np.float32)
        GL.glBindVertexArray(self._vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self._vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, verts.nbytes, verts, GL.GL_DYNAMIC_DRAW)
        stride = 5 * 4
        for loc, n, off in ((0, 3, 0), (1, 1, 3), (2, 1, 4)):
            GL.glEnableVertexAttribArray(loc)
            GL.glVertexAttribPointer(loc, n, GL.GL_FLOAT, GL.GL_FALSE, stride, ctypes.c_void_p(off * 4))
        GL.glBindVertexArray(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
        self._npoints = len(y)

    # ------------------------------------------------------------------ draw
    def _common_uniforms(self, prog: Program, vp: np.ndarray, eye: np.ndarray) -> None:
        GL.glUseProgram(prog.id)
        GL.glUniformMatrix4fv(prog.loc("u_vp"), 1, GL.GL_TRUE, vp.astype(np.float32))
        GL.glUniform3f(prog.loc("u_eye"), *eye.astype(np.float32))
        GL.glUniform3f(prog.loc("u_box_min"), *self.box_min.astype(np.float32))
        GL.glUniform3f(prog.loc("u_box_size"), *self.box_size.astype(np.float32))
        if prog.loc("u_palette") >= 0:
            GL.glUniform3fv(prog.loc("u_palette"), len(PALETTE), PALETTE)
        for name, v in (("u_classes", self.classes), ("u_interest", self.interest)):
            if prog.loc(name) >= 0:
                GL.glUniform1i(prog.loc(name), v)

    def draw(self, camera: Camera, size: tuple[int, int]) -> None:
        """Draw into the bound framebuffer. GL state on return: depth test on, depth writes off,
        premultiplied blending on (what the Renderer expects between its transparent passes)."""
        vp = camera.view_projection(size[0] / size[1])
        eye = np.asarray(camera.position, np.float64)
        target = GL.GL_TEXTURE_3D if self.dims == 3 else GL.GL_TEXTURE_2D
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LEQUAL)
        GL.glActiveTexture(GL.GL_TEXTURE0 + _UNIT)
        GL.glBindTexture(target, self._tex)
        has_field = self._tex_shape is not None
        if self.dims == 2 and has_field:           # opaque height field
            GL.glDepthMask(GL.GL_TRUE)
            GL.glDisable(GL.GL_BLEND)
            self._common_uniforms(self.surface, vp, eye)
            GL.glUniform1i(self.surface.loc("u_field"), _UNIT)
            GL.glUniform1i(self.surface.loc("u_grid"), self.grid)
            GL.glUniform1f(self.surface.loc("u_height"), self.height)
            if self.surface.loc("u_res") >= 0:
                GL.glUniform1f(self.surface.loc("u_res"), float(self.res))
            GL.glBindVertexArray(self._empty_vao)
            GL.glDrawArrays(GL.GL_TRIANGLES, 0, 6 * self.grid * self.grid)
        if self.show_points and self._npoints:     # opaque sprites, drawn before the translucent shells
            GL.glDepthMask(GL.GL_TRUE)
            GL.glDisable(GL.GL_BLEND)
            GL.glEnable(GL.GL_PROGRAM_POINT_SIZE)
            self._common_uniforms(self.points_prog, vp, eye)
            GL.glUniform1f(self.points_prog.loc("u_point_px"), self.point_px * max(1.0, size[1] / 720))
            GL.glBindVertexArray(self._vao)
            GL.glDrawArrays(GL.GL_POINTS, 0, self._npoints)
        GL.glDepthMask(GL.GL_FALSE)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFunc(GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)
        if self.dims == 3 and has_field:           # raymarched shells, back faces only
            GL.glEnable(GL.GL_CULL_FACE)
            GL.glCullFace(GL.GL_FRONT)
            self._common_uniforms(self.surface, vp, eye)
            s = self.surface
            GL.glUniform1i(s.loc("u_volume"), _UNIT)
            GL.glUniform1i(s.loc("u_steps"), self.steps)
            GL.glUniform4f(s.loc("u_levels"), *LEVELS)
            GL.glUniform4f(s.loc("u_alphas"), *ALPHAS)
            GL.glUniform1f(s.loc("u_res"), float(self.res))
            GL.glBindVertexArray(self._empty_vao)
            GL.glDrawArrays(GL.GL_TRIANGLES, 0, 36)
            GL.glDisable(GL.GL_CULL_FACE)
            GL.glCullFace(GL.GL_BACK)
        if self.show_box:
            self._common_uniforms(self.box_prog, vp, eye)
            GL.glBindVertexArray(self._empty_vao)
            GL.glDrawArrays(GL.GL_LINES, 0, 24)
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)
        GL.glBindTexture(target, 0)
        GL.glActiveTexture(GL.GL_TEXTURE0)

    def release(self) -> None:
        """Delete the GL objects (needs the context current; idempotent)."""
        for p in self._programs:
            p.release()
        self._programs = []
        if self._tex:
            GL.glDeleteTextures([self._tex])
        if self._vbo:
            GL.glDeleteBuffers(1, [self._vbo])
        vaos = [v for v in (getattr(self, "_empty_vao", 0), self._vao) if v]
        if vaos:
            GL.glDeleteVertexArrays(len(vaos), vaos)
        self._tex = self._vbo = self._vao = self._empty_vao = 0


__all__ = ["FieldLayer", "PALETTE", "LEVELS", "ALPHAS"]
