"""Labels: world-space text billboards from one texture atlas (label.vert/label.frag), all in one
draw; premultiplied text that fades with the fog. Each frame whose camera moved, the labels that would
overlap others on screen are faded out (engine/scene/declutter.py), over FADE_FRAMES frames."""
from __future__ import annotations

import ctypes

import numpy as np
from OpenGL import GL

from engine.render.errors import RenderError
from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shaders import Program
from engine.render.shared import FLOAT, UNIT_IMAGE, delete, sampler_units
from engine.render.text import get_font, pack_atlas, render_label
from engine.scene.declutter import LabelBoxes, visible_labels
from engine.scene.nodes import Label

FONT_PX = (48, 32, 20)       # atlas glyph sizes, smaller when there are very many labels
FADE_FRAMES = 4              # frames for a label to fade in or out after the camera moved


STRIDE = 14                  # floats per vertex


def _quads(labels: list[Label], boxes: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(atlas boxes (N, 4), quad width, quad height) in world units."""
    box = np.array([boxes[(lb.text, lb.vertical)] for lb in labels], np.float64).reshape(-1, 4)
    g = np.array([lb.height for lb in labels], np.float64)
    vertical = np.array([lb.vertical for lb in labels], bool)
    w, h = box[:, 2], box[:, 3]
    return box, np.where(vertical, g, g * w / h), np.where(vertical, g * h / w, g)


def label_boxes(labels: list[Label], boxes: dict) -> LabelBoxes:
    """The labels' quads as engine.scene.declutter sees them."""
    n = len(labels)
    _, width, height = _quads(labels, boxes)
    return LabelBoxes(np.array([lb.position for lb in labels], np.float64).reshape(n, 3), width, height,
                      np.array([lb.height for lb in labels], np.float64),
                      np.array([lb.min_px for lb in labels], np.float64),
                      np.array([lb.max_px for lb in labels], np.float64),
                      np.array([not lb.declutter for lb in labels], bool))


def label_vertices(labels: list[Label], boxes: dict, atlas_shape: tuple[int, int]) -> np.ndarray:
    """(6 per label, STRIDE) float32: anchor xyz, offset along camera right/up, atlas uv, rgba, and
    (min px, max px, glyph height) for the shader's fade and clamp. ``boxes`` by (text, vertical);
    a vertical label's atlas image is already turned (text bottom to top)."""
    ah, aw = atlas_shape
    n = len(labels)
    box, W, H = _quads(labels, boxes)
    u0, u1 = box[:, 0] / aw, (box[:, 0] + box[:, 2]) / aw
    v_top, v_bot = box[:, 1] / ah, (box[:, 1] + box[:, 3]) / ah
    z = np.zeros(n)
    # two triangles: (0,0) (W,0) (0,H) / (0,H) (W,0) (W,H)
    off = np.stack([np.c_[z, z], np.c_[W, z], np.c_[z, H], np.c_[z, H], np.c_[W, z], np.c_[W, H]], axis=1)
    uv = np.stack([np.c_[u0, v_bot], np.c_[u1, v_bot], np.c_[u0, v_top], np.c_[u0, v_top], np.c_[u1, v_bot],
                   np.c_[u1, v_top]], axis=1)
    verts = np.zeros((n, 6, STRIDE), np.float32)
    verts[:, :, 0:3] = np.array([lb.position for lb in labels], np.float64).reshape(n, 1, 3)
    verts[:, :, 3:5] = off
    verts[:, :, 5:7] = uv
    verts[:, :, 7:11] = np.array([lb.color for lb in labels], np.float64).reshape(n, 1, 4)
    verts[:, :, 11:14] = np.c_[[lb.min_px for lb in labels], [lb.max_px for lb in labels],
                               [lb.height for lb in labels]].reshape(n, 1, 3)
    return verts.reshape(n * 6, STRIDE)


def _area(texts: list[tuple[str, bool]], font_px: int) -> float:
    """Texels the label images of ``texts`` take at ``font_px`` (measured, not drawn)."""
    font = get_font(font_px)
    h = 1.3 * font_px + 6
    return sum((font.getlength(t) + h * 0.3) * h for t, _ in texts)


def _image(text: str, vertical: bool, font_px: int, picture: np.ndarray | None = None) -> np.ndarray:
    """A label's atlas image: its text rendered, or its picture (an image patch) as a framed square
    of the text's height; turned for vertical labels."""
    im = render_label(text, font_px) if picture is None else _framed(picture, font_px)
    return np.ascontiguousarray(np.rot90(im)) if vertical else im


def _framed(picture: np.ndarray, font_px: int) -> np.ndarray:
    """``picture`` (h, w, 3) uint8 scaled (nearest) to the text labels' height, with a thin dark frame."""
    from PIL import Image
    h = render_label("x", font_px).shape[0]
    pic = np.asarray(picture, np.uint8)[..., :3]
    w = max(1, round(h * pic.shape[1] / max(1, pic.shape[0])))
    out = np.zeros((h, w, 4), np.uint8)
    out[..., 3] = 255
    b = max(1, h // 16)
    inner = Image.fromarray(pic).resize((max(1, w - 2 * b), max(1, h - 2 * b)), Image.NEAREST)
    out[b:h - b, b:w - b, :3] = np.asarray(inner)
    out[..., :3] = np.where(out[..., :3] == 0, 8, out[..., :3])
    return out


@register_pass
class LabelPass(Pass):
    node_type = Label
    stage = Stage.TRANSPARENT
    order = 2
    temporal = True                 # fades over FADE_FRAMES

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.prog = Program("label.vert", "label.frag")
        sampler_units(self.prog, {"u_atlas": UNIT_IMAGE})
        self.vao = self.vbo = self.alpha_vbo = self.tex = self.vertices = 0
        self.boxes: LabelBoxes | None = None
        self.alpha = self.target = np.zeros(0, np.float32)
        self._view = None

    def _free(self) -> None:
        delete(vaos=[self.vao], buffers=[self.vbo, self.alpha_vbo], textures=[self.tex])
        self.vao = self.vbo = self.alpha_vbo = self.tex = self.vertices = 0
        self.boxes, self._view = None, None

    def build(self, scene) -> None:
        self._free()
        labels = [lb for lb in scene.labels if lb.text]
        if not labels:
            return
        texts = list(dict.fromkeys((lb.text, lb.vertical) for lb in labels))
        pictures = {lb.text: lb.image for lb in labels if lb.image is not None}
        mt = self.shared.max_texture
        fits = [px for px in FONT_PX if _area(texts, px) <= 0.85 * min(4096, mt) * mt]     # (measuring is cheap,
        for font_px in fits[:1] + [px for px in FONT_PX if px < (fits[0] if fits else FONT_PX[0])]:   # drawing not)
            atlas, boxes = pack_atlas([_image(t, v, font_px, pictures.get(t)) for t, v in texts], width=min(4096, mt))
            if atlas.shape[0] <= mt and atlas.shape[1] <= mt:
                break
        else:
            raise RenderError(f"{len(texts)} label texts do not fit a {mt}px texture: "
                              "hide labels (show_labels=False) or shorten them")
        by_key = dict(zip(texts, boxes))
        verts = label_vertices(labels, by_key, atlas.shape[:2])
        self.boxes = label_boxes(labels, by_key)
        self.alpha = np.zeros(len(labels), np.float32)
        self.target = self.alpha
        self.vertices = len(verts)
        ah, aw = atlas.shape[:2]
        self.tex = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.tex)
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 1)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, aw, ah, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE,
                        np.ascontiguousarray(atlas))
        GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        GL.glGenerateMipmap(GL.GL_TEXTURE_2D)
        for p, v in ((GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR), (GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR),
                     (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, p, v)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        self.vao = int(GL.glGenVertexArrays(1))
        self.vbo = int(GL.glGenBuffers(1))
        GL.glBindVertexArray(self.vao)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, verts.nbytes, verts, GL.GL_STATIC_DRAW)
        for loc, n, off in ((0, 3, 0), (1, 2, 3), (2, 2, 5), (3, 4, 7), (4, 3, 11)):
            GL.glEnableVertexAttribArray(loc)
            GL.glVertexAttribPointer(loc, n, GL.GL_FLOAT, GL.GL_FALSE, STRIDE * FLOAT, ctypes.c_void_p(off * FLOAT))
        self.alpha_vbo = int(GL.glGenBuffers(1))
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.alpha_vbo)
        GL.glBufferData(GL.GL_ARRAY_BUFFER, len(verts) * FLOAT, None, GL.GL_DYNAMIC_DRAW)
        GL.glEnableVertexAttribArray(5)
        GL.glVertexAttribPointer(5, 1, GL.GL_FLOAT, GL.GL_FALSE, FLOAT, ctypes.c_void_p(0))
        GL.glBindVertexArray(0)
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

    def prepare(self, frame, scene) -> None:
        """Declutter for this camera (when it moved) and step the fades."""
        if not scene.show_labels or not self.vertices:
            return
        cam = frame.camera
        view = (tuple(np.round(cam.position, 6)), cam.yaw, cam.pitch, cam.fov, tuple(frame.size))
        first = self._view is None
        if view != self._view:
            self._view = view
            self.target = visible_labels(self.boxes, cam, frame.size).astype(np.float32)
        if first:
            self.alpha = self.target.copy()             # a first frame shows the settled state
        elif not np.array_equal(self.alpha, self.target):
            step = 1.0 / FADE_FRAMES
            self.alpha = np.clip(self.alpha + np.clip(self.target - self.alpha, -step, step), 0.0, 1.0)
        else:
            return                                      # settled and uploaded
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, self.alpha_vbo)
        GL.glBufferSubData(GL.GL_ARRAY_BUFFER, 0, self.vertices * FLOAT, np.repeat(self.alpha, 6))
        GL.glBindBuffer(GL.GL_ARRAY_BUFFER, 0)

    def draw(self, frame, scene) -> None:
        if not scene.show_labels or not self.vertices:
            return
        GL.glBlendFunc(GL.GL_ONE, GL.GL_ONE_MINUS_SRC_ALPHA)   # premultiplied text
        GL.glUseProgram(self.prog.id)
        GL.glActiveTexture(GL.GL_TEXTURE0 + UNIT_IMAGE)
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.tex)
        GL.glBindVertexArray(self.vao)
        GL.glDrawArrays(GL.GL_TRIANGLES, 0, self.vertices)
        GL.glActiveTexture(GL.GL_TEXTURE0)

    def release(self) -> None:
        self._free()
        self.prog.release()
