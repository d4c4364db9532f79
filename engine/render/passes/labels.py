"""Labels: world-space text billboards from one texture atlas (label.vert/label.frag), all in one
draw; premultiplied text that fades with the fog."""
from __future__ import annotations

import ctypes

import numpy as np
from OpenGL import GL

from engine.render.errors import RenderError
from engine.render.passes.base import Pass, Stage, register_pass
from engine.render.shaders import Program
from engine.render.shared import FLOAT, UNIT_IMAGE, delete, sampler_units
from engine.render.text import pack_atlas, render_label
from engine.scene.nodes import Label

FONT_PX = (48, 32, 20)       # atlas glyph sizes, smaller when there are very many labels


STRIDE = 14                  # floats per vertex


def label_vertices(labels: list[Label], boxes: dict, atlas_shape: tuple[int, int]) -> np.ndarray:
    """(6 per label, STRIDE) float32: anchor xyz, offset along camera right/up, atlas uv, rgba, and
    (min px, max px, glyph height) for the shader's fade and clamp. ``boxes`` by (text, vertical);
    a vertical label's atlas image is already turned (text bottom to top)."""
    ah, aw = atlas_shape
    verts = np.zeros((len(labels) * 6, STRIDE), np.float32)
    for i, lb in enumerate(labels):
        x, y, w, h = boxes[(lb.text, lb.vertical)]
        G = float(lb.height)
        W, H = (G, G * h / w) if lb.vertical else (G * w / h, G)
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
            row[11:14] = (lb.min_px, lb.max_px, G)
    return verts


def _image(text: str, vertical: bool, font_px: int) -> np.ndarray:
    im = render_label(text, font_px)
    return np.ascontiguousarray(np.rot90(im)) if vertical else im


@register_pass
class LabelPass(Pass):
    node_type = Label
    stage = Stage.TRANSPARENT
    order = 2

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.prog = Program("label.vert", "label.frag")
        sampler_units(self.prog, {"u_atlas": UNIT_IMAGE})
        self.vao = self.vbo = self.tex = self.vertices = 0

    def _free(self) -> None:
        delete(vaos=[self.vao], buffers=[self.vbo], textures=[self.tex])
        self.vao = self.vbo = self.tex = self.vertices = 0

    def build(self, scene) -> None:
        self._free()
        labels = [lb for lb in scene.labels if lb.text]
        if not labels:
            return
        texts = list(dict.fromkeys((lb.text, lb.vertical) for lb in labels))
        mt = self.shared.max_texture
        for font_px in FONT_PX:
            atlas, boxes = pack_atlas([_image(t, v, font_px) for t, v in texts], width=min(4096, mt))
            if atlas.shape[0] <= mt and atlas.shape[1] <= mt:
                break
        else:
            raise RenderError(f"{len(texts)} label texts do not fit a {mt}px texture: "
                              "hide labels (show_labels=False) or shorten them")
        verts = label_vertices(labels, dict(zip(texts, boxes)), atlas.shape[:2])
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
        GL.glBindVertexArray(0)
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
