"""Decision fields: a 2D field as a lit height field, a 3D field raymarched from a 3D texture as
translucent isosurface shells (no CPU mesh), the data points as sprites, the box as lines. One
glTexSubImage2D/3D a refresh of the field (float16 or float32, from engine.compute.field).

Raymarching costs per pixel and sample: on software GL the shells are marched at a reduced resolution
(DecisionField.volume_scale; in a window, coarser while the camera moves) into a framebuffer of their own -- with
the scene's depth copied in, so what stands in front still hides them -- and stretched over the
picture with linear filtering; a frame whose camera, size and field are those of the last one reuses
the marched picture."""
from __future__ import annotations

import ctypes

import numpy as np
from OpenGL import GL

from engine.colormaps import palette
from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shaders import Program
from engine.render.shared import UNIT_FAR, UNIT_FIELD, UNIT_IMAGE, delete, sampler_units
from engine.scene.nodes import DecisionField

LEVELS = (0.5, 0.2, 0.8, -1.0)        # decision boundary, then confidence shells
ALPHAS = (0.55, 0.22, 0.22, 0.0)
UNIT_BRICKS = UNIT_FAR                # (no slab's far pyramid is bound while fields draw)
SOFTWARE_SCALE = 0.5                  # shells marched at this share of each side on software GL
MOVING_SCALE = 0.4                    # and this share of that while the camera moves
BRICK = 8                             # texels a side of the min/max bricks rays skip when no shell is inside


def brick_ranges(p: np.ndarray, brick: int = BRICK) -> np.ndarray:
    """(B, B, B, 2) float32 min and max of the field over each brick of ``brick``^3 texels and its
    neighbours (trilinear samples near a brick's faces read the next brick's texels): a ray may skip
    a brick whose range holds no shell level."""
    from scipy import ndimage
    n = p.shape[0]
    b = -(-n // brick)
    pad = np.pad(p.astype(np.float32), [(0, b * brick - n)] * 3, mode="edge")
    blocks = pad.reshape(b, brick, b, brick, b, brick)
    lo = ndimage.minimum_filter(blocks.min(axis=(1, 3, 5)), size=3, mode="nearest")
    hi = ndimage.maximum_filter(blocks.max(axis=(1, 3, 5)), size=3, mode="nearest")
    return np.ascontiguousarray(np.stack([lo, hi], axis=-1), np.float32)


class _Marched:
    """A framebuffer the shells are marched into at reduced resolution: colour texture + depth."""

    def __init__(self) -> None:
        self.fbo = int(GL.glGenFramebuffers(1))
        self.tex = int(GL.glGenTextures(1))
        self.depth = int(GL.glGenRenderbuffers(1))
        self.size = (0, 0)
        self.key = None                       # what the texture shows: (vp, eye, size, field version)
        self.last_view = None                 # the last frame's view-projection

    def ensure(self, size: tuple[int, int]) -> None:
        if size == self.size:
            return
        w, h = size
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.tex)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, w, h, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None)
        for p, v in ((GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR), (GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR),
                     (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, p, v)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self.depth)
        GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT24, w, h)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, 0)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.fbo)
        GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, self.tex, 0)
        GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER, self.depth)
        self.size, self.key = size, None

    def release(self) -> None:
        delete(textures=[self.tex])
        GL.glDeleteRenderbuffers(1, [self.depth])
        GL.glDeleteFramebuffers(1, [self.fbo])
        self.fbo = self.tex = self.depth = 0


class _FieldGL:
    """GL objects of one DecisionField node."""

    def __init__(self, node: DecisionField) -> None:
        self.node = node
        self.tex = int(GL.glGenTextures(1))
        self.bricks = int(GL.glGenTextures(1))            # 3D fields: min/max per brick (brick_ranges)
        self.vao = int(GL.glGenVertexArrays(1))
        self.vbo = int(GL.glGenBuffers(1))
        self.tex_shape: tuple | None = None
        self.field_version = self.points_version = -1
        self.npoints = 0

    def release(self) -> None:
        delete(vaos=[self.vao], buffers=[self.vbo], textures=[self.tex, self.bricks])
        self.tex = self.bricks = self.vao = self.vbo = 0


@register_pass
class FieldPass(Pass):
    node_type = DecisionField
    stage = Stage.TRANSPARENT
    order = 3

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.programs: dict[str, Program] = {}
        self.grid = 192 if shared.software else 384       # height-field quads per side
        self.gl: dict[int, _FieldGL] = {}                 # id(node) -> its GL objects
        self.nodes: list[DecisionField] = []
        self.marched: dict[int, _Marched] = {}            # id(node) -> its reduced-resolution shells
        self.upsample: Program | None = None
        self.coarse_while_moving = False                  # interactive windows: see MOVING_SCALE

    def _prog(self, name: str) -> Program:
        if name not in self.programs:
            vert, frag = {"volume": ("volume.vert", "volume.frag"), "height": ("heightfield.vert", "heightfield.frag"),
                          "points": ("field_points.vert", "field_points.frag"),
                          "box": ("field_box.vert", "field_box.frag")}[name]
            self.programs[name] = Program(vert, frag)
        return self.programs[name]

    def build(self, scene) -> None:
        self.nodes = scene.nodes_of(DecisionField)
        for key in [k for k, g in self.gl.items() if not any(g.node is n for n in self.nodes)]:
            self.gl.pop(key).release()

    def _gl_of(self, n: DecisionField) -> _FieldGL:
        g = self.gl.get(id(n))
        if g is None or g.node is not n:
            if g is not None:
                g.release()
            g = self.gl[id(n)] = _FieldGL(n)
        return g

    # ------------------------------------------------------------------ data
    def sync(self) -> None:
        """Upload the fields and points that changed since the last upload."""
        for n in self.nodes:
            g = self._gl_of(n)
            if n.data is not None and g.field_version != n.field_version:
                self._upload(n, g)
            if n.points is not None and g.points_version != n.points_version:
                self._upload_points(n, g)

    def prepare(self, frame, scene) -> None:
        self.nodes = scene.nodes_of(DecisionField)
        self.sync()

    def _upload(self, n: DecisionField, g: _FieldGL) -> None:
        """Write the field into the texture (re-allocated only when shape, channels or dtype change)."""
        data = np.ascontiguousarray(n.data)
        if data.dtype not in (np.float16, np.float32):
            data = data.astype(np.float32)
        ch = 1 if data.ndim == n.dims else data.shape[-1]
        gl_type = GL.GL_HALF_FLOAT if data.dtype == np.float16 else GL.GL_FLOAT
        internal = {(1, GL.GL_FLOAT): GL.GL_R32F, (2, GL.GL_FLOAT): GL.GL_RG32F,
                    (1, GL.GL_HALF_FLOAT): GL.GL_R16F, (2, GL.GL_HALF_FLOAT): GL.GL_RG16F}[(ch, gl_type)]
        fmt = GL.GL_RED if ch == 1 else GL.GL_RG
        shape = data.shape[:n.dims]
        target = GL.GL_TEXTURE_3D if n.dims == 3 else GL.GL_TEXTURE_2D
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_FIELD)
        GL.glBindTexture(target, g.tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        ptr = data.ctypes.data_as(ctypes.c_void_p)
        key = (shape, ch, gl_type)
        if key != g.tex_shape:
            if n.dims == 3:
                GL.glTexImage3D(target, 0, internal, shape[2], shape[1], shape[0], 0, fmt, gl_type, ptr)
            else:
                GL.glTexImage2D(target, 0, internal, shape[1], shape[0], 0, fmt, gl_type, ptr)
            for p, v in ((GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR), (GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR),
                         (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE),
                         (GL.GL_TEXTURE_WRAP_R, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_BASE_LEVEL, 0),
                         (GL.GL_TEXTURE_MAX_LEVEL, 0)):
                GL.glTexParameteri(target, p, v)
            g.tex_shape = key
        elif n.dims == 3:
            GL.glTexSubImage3D(target, 0, 0, 0, 0, shape[2], shape[1], shape[0], fmt, gl_type, ptr)
        else:
            GL.glTexSubImage2D(target, 0, 0, 0, shape[1], shape[0], fmt, gl_type, ptr)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        GL.glBindTexture(target, 0)
        if n.dims == 3:
            ranges = brick_ranges(data if ch == 1 else data[..., 0])
            GL.glBindTexture(GL.GL_TEXTURE_3D, g.bricks)
            b = ranges.shape[0]
            GL.glTexImage3D(GL.GL_TEXTURE_3D, 0, GL.GL_RG32F, b, b, b, 0, GL.GL_RG, GL.GL_FLOAT, ranges)
            for p, v in ((GL.GL_TEXTURE_MIN_FILTER, GL.GL_NEAREST), (GL.GL_TEXTURE_MAG_FILTER, GL.GL_NEAREST),
                         (GL.GL_TEXTURE_BASE_LEVEL, 0), (GL.GL_TEXTURE_MAX_LEVEL, 0)):
                GL.glTexParameteri(GL.GL_TEXTURE_3D, p, v)
            GL.glBindTexture(GL.GL_TEXTURE_3D, 0)
        GL.glActiveTexture(GL.GL_TEXTURE0)
        g.field_version = n.field_version

    def _upload_points(self, n: DecisionField, g: _FieldGL) -> None:
        verts = np.ascontiguousarray(n.points, np.float32)
        GL.glBindVertexArray(g.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, g.vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, verts.nbytes, verts, GL.GL_DYNAMIC_DRAW)
        for loc, k, off in ((0, 3, 0), (1, 1, 3), (2, 1, 4)):
            GL.glEnableVertexAttribArray(loc)
            GL.glVertexAttribPointer(loc, k, GL.GL_FLOAT, GL.GL_FALSE, 5 * 4, ctypes.c_void_p(off * 4))
        GL.glBindVertexArray(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)
        g.npoints = len(verts)
        g.points_version = n.points_version

    def read_texture(self, node: DecisionField) -> np.ndarray:
        """A node's field texture as float32 (H, W[, C]) / (D, H, W[, C]) (tests, debugging)."""
        self.sync()
        g = self._gl_of(node)
        if g.tex_shape is None:
            raise ValueError("no field uploaded yet: set_field() on the node first")
        shape, ch, _ = g.tex_shape
        out = np.empty(shape + ((ch,) if ch > 1 else ()), np.float32)
        target = GL.GL_TEXTURE_3D if node.dims == 3 else GL.GL_TEXTURE_2D
        GL.glBindTexture(target, g.tex)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        GL.glGetTexImage(target, 0, GL.GL_RED if ch == 1 else GL.GL_RG, GL.GL_FLOAT, out.ctypes.data_as(ctypes.c_void_p))
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 4)
        GL.glBindTexture(target, 0)
        return out

    # ------------------------------------------------------------------ draw
    def _use(self, prog: Program, n: DecisionField, vp: np.ndarray, eye: np.ndarray) -> None:
        GL.glUseProgram(prog.id)
        GL.glUniformMatrix4fv(prog.loc("u_vp"), 1, GL.GL_TRUE, vp.astype(np.float32))
        GL.glUniform3f(prog.loc("u_eye"), *eye.astype(np.float32))
        GL.glUniform3f(prog.loc("u_box_min"), *n.box_min.astype(np.float32))
        GL.glUniform3f(prog.loc("u_box_size"), *n.box_size.astype(np.float32))
        if prog.loc("u_palette") >= 0:
            GL.glUniform3fv(prog.loc("u_palette"), len(palette.CLASSES), palette.CLASSES)
        if prog.loc("u_neutral") >= 0:
            GL.glUniform3f(prog.loc("u_neutral"), *palette.FIELD_NEUTRAL)
        for name, v in (("u_classes", n.classes), ("u_interest", n.interest)):
            if prog.loc(name) >= 0:
                GL.glUniform1i(prog.loc(name), v)

    def draw(self, frame, scene) -> None:
        for n in self.nodes:
            self._draw(n, self._gl_of(n), frame)

    def _draw(self, n: DecisionField, g: _FieldGL, frame) -> None:
        """Opaque surface and points first (depth-written), then translucent shells and the box
        (premultiplied, not depth-written): the state the transparent stage expects afterwards. Shells
        marched at reduced resolution come before the points (which then stand over them, as the
        points' depth keeps full-resolution shells off them)."""
        size = frame.size
        vp = frame.vp
        eye = np.asarray(frame.camera.position, np.float64)
        target = GL.GL_TEXTURE_3D if n.dims == 3 else GL.GL_TEXTURE_2D
        GL.glEnable(GL.GL_DEPTH_TEST)
        GL.glDepthFunc(GL.GL_LEQUAL)
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_FIELD)
        GL.glBindTexture(target, g.tex)
        has_field = g.tex_shape is not None
        res = float(g.tex_shape[0][0]) if has_field else 0.0
        surface = self._prog("volume" if n.dims == 3 else "height")
        if n.dims == 2 and has_field:           # opaque height field
            GL.glDepthMask(GL.GL_TRUE)
            GL.glDisable(GL.GL_BLEND)
            self._use(surface, n, vp, eye)
            GL.glUniform1i(surface.loc("u_field"), UNIT_FIELD)
            GL.glUniform1i(surface.loc("u_grid"), self.grid)
            GL.glUniform1f(surface.loc("u_height"), n.height)
            if surface.loc("u_res") >= 0:
                GL.glUniform1f(surface.loc("u_res"), res)
            GL.glBindVertexArray(self.shared.empty_vao)
            GL.glDrawArrays(GL.GL_TRIANGLES, 0, 6 * self.grid * self.grid)
        scale = n.volume_scale if n.volume_scale is not None else (SOFTWARE_SCALE if self.shared.software else 1.0)
        reduced = n.dims == 3 and has_field and scale < 1.0 and int(GL.glGetIntegerv(GL.GL_SAMPLES)) == 0
        if reduced:             # shells first (the scene's depth without the points), points over them
            GL.glDepthMask(GL.GL_FALSE)
            GL.glEnable(GL.GL_BLEND)
            GL.glBlendFunc(GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)
            self._march_reduced(n, g, surface, frame, res, scale)
        if n.show_points and g.npoints:      # opaque sprites, drawn before the translucent shells
            GL.glDepthMask(GL.GL_TRUE)
            GL.glDisable(GL.GL_BLEND)
            GL.glEnable(GL.GL_PROGRAM_POINT_SIZE)
            pts = self._prog("points")
            self._use(pts, n, vp, eye)
            GL.glUniform1f(pts.loc("u_point_px"), n.point_px * max(1.0, size[1] / 720))
            GL.glBindVertexArray(g.vao)
            GL.glDrawArrays(GL.GL_POINTS, 0, g.npoints)
        GL.glDepthMask(GL.GL_FALSE)
        GL.glEnable(GL.GL_BLEND)
        GL.glBlendFunc(GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)
        if n.dims == 3 and has_field and not reduced:     # raymarched shells, back faces only
            self._march(n, g, surface, vp, eye, res)
        if n.show_box:
            box = self._prog("box")
            self._use(box, n, vp, eye)
            GL.glUniform3f(box.loc("u_color"), *palette.FIELD_BOX)
            GL.glBindVertexArray(self.shared.empty_vao)
            GL.glDrawArrays(GL.GL_LINES, 0, 24)
        GL.glBindVertexArray(0)
        GL.glUseProgram(0)
        GL.glBindTexture(target, 0)
        GL.glActiveTexture(GL.GL_TEXTURE0)

    def _march(self, n: DecisionField, g: _FieldGL, surface: Program, vp: np.ndarray, eye: np.ndarray,
               res: float) -> None:
        GL.glEnable(GL.GL_CULL_FACE)
        GL.glCullFace(GL.GL_FRONT)
        self._use(surface, n, vp, eye)
        GL.glUniform1i(surface.loc("u_volume"), UNIT_FIELD)
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_BRICKS)
        GL.glBindTexture(GL.GL_TEXTURE_3D, g.bricks)
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_FIELD)
        GL.glUniform1i(surface.loc("u_bricks"), UNIT_BRICKS)
        GL.glUniform1f(surface.loc("u_brick"), float(BRICK))
        GL.glUniform1i(surface.loc("u_steps"), int(n.steps or (96 if self.shared.software else 256)))
        GL.glUniform4f(surface.loc("u_levels"), *LEVELS)
        GL.glUniform4f(surface.loc("u_alphas"), *ALPHAS)
        GL.glUniform1f(surface.loc("u_res"), res)
        GL.glBindVertexArray(self.shared.empty_vao)
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, 36)
        GL.glDisable(GL.GL_CULL_FACE)
        GL.glCullFace(GL.GL_BACK)

    def _march_reduced(self, n: DecisionField, g: _FieldGL, surface: Program, frame, res: float,
                       scale: float) -> None:
        """March into a framebuffer ``scale`` the size of the picture (its depth copied from the
        picture's, nearest), unless it already shows this camera and field; then stretch it over the
        picture. Blending is (ONE, ONE_MINUS_SRC_ALPHA) and depth writes off, as the caller set."""
        w, h = frame.size
        m = self.marched.get(id(n))
        if m is None:
            m = self.marched[id(n)] = _Marched()
        view = frame.vp.tobytes()
        if self.coarse_while_moving and m.last_view is not None and view != m.last_view:
            scale *= MOVING_SCALE            # the camera moves: coarser until it stops, then marched again
        m.last_view = view
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        key = (frame.vp.tobytes(), np.asarray(frame.camera.position, np.float64).tobytes(), size, g.field_version,
               n.steps, n.classes, n.interest, tuple(n.center), n.half)
        if key != m.key:
            target = int(GL.glGetIntegerv(GL.GL_DRAW_FRAMEBUFFER_BINDING))
            viewport = [int(v) for v in GL.glGetIntegerv(GL.GL_VIEWPORT)]
            clear = [float(v) for v in GL.glGetFloatv(GL.GL_COLOR_CLEAR_VALUE)]
            m.ensure(size)
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, target)
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, m.fbo)
            GL.glBlitFramebuffer(0, 0, w, h, 0, 0, size[0], size[1], GL.GL_DEPTH_BUFFER_BIT, GL.GL_NEAREST)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, m.fbo)
            GL.glViewport(0, 0, *size)
            GL.glClearColor(0.0, 0.0, 0.0, 0.0)
            GL.glClear(GL.GL_COLOR_BUFFER_BIT)
            self._march(n, g, surface, frame.vp, np.asarray(frame.camera.position, np.float64), res)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, target)
            GL.glViewport(*viewport)
            GL.glClearColor(*clear)
            m.key = key
        if self.upsample is None:
            self.upsample = Program("hud.vert", "hud.frag")
            sampler_units(self.upsample, {"u_image": UNIT_IMAGE})
        GL.glDisable(GL.GL_DEPTH_TEST)
        GL.glUseProgram(self.upsample.id)
        GL.glUniform4f(self.upsample.loc("u_rect"), -1.0, 1.0, 1.0, -1.0)    # hud.vert flips rows: flipped back
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_IMAGE)
        GL.glBindTexture(GL.GL_TEXTURE_2D, m.tex)
        GL.glBindVertexArray(self.shared.empty_vao)
        GL.glDrawArrays(GL.GL_TRIANGLE_STRIP, 0, 4)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_FIELD)
        GL.glEnable(GL.GL_DEPTH_TEST)

    def release(self) -> None:
        for g in self.gl.values():
            g.release()
        self.gl = {}
        for m in self.marched.values():
            m.release()
        self.marched = {}
        if self.upsample is not None:
            self.upsample.release()
            self.upsample = None
        for p in self.programs.values():
            p.release()
        self.programs = {}
