"""Where a Renderer draws: a framebuffer with depth, multisampled when asked and supported
(resolved into a single-sample texture), readback of the last frame and blits to a window."""
from __future__ import annotations

import numpy as np
from OpenGL import GL

from engine.render.errors import RenderError
from engine.render.shared import ptr


class Targets:
    """Create with a GL context current; ``samples`` is the MSAA count asked for (0: none)."""

    def __init__(self, size: tuple[int, int], samples: int, max_texture: int) -> None:
        self.requested_samples = max(0, int(samples))
        self.max_texture = max_texture
        self.samples = 0
        self.size = (0, 0)
        self.fbo = self.resolve_fbo = 0
        self.color_rb = self.depth_rb = self.resolve_tex = self.resolve_depth = 0
        self.create(size)

    def release(self) -> None:
        if self.fbo:
            GL.glDeleteFramebuffers(1, [self.fbo])
        if self.resolve_fbo and self.resolve_fbo != self.fbo:
            GL.glDeleteFramebuffers(1, [self.resolve_fbo])
        rbs = [r for r in (self.color_rb, self.depth_rb, self.resolve_depth) if r]
        if rbs:
            GL.glDeleteRenderbuffers(len(rbs), rbs)
        if self.resolve_tex:
            GL.glDeleteTextures([self.resolve_tex])
        self.fbo = self.resolve_fbo = self.color_rb = self.depth_rb = 0
        self.resolve_tex = self.resolve_depth = 0

    def create(self, size: tuple[int, int]) -> None:
        w, h = size
        if w > self.max_texture or h > self.max_texture:
            raise RenderError(f"render size {w}x{h} exceeds this GL's limit of {self.max_texture}px: render smaller")
        self.release()
        self.size = (w, h)
        self.resolve_fbo = int(GL.glGenFramebuffers(1))
        self.resolve_tex = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.resolve_tex)
        GL.glTexImage2D(GL.GL_TEXTURE_2D, 0, GL.GL_RGBA8, w, h, 0, GL.GL_RGBA, GL.GL_UNSIGNED_BYTE, None)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR)
        GL.glTexParameteri(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.resolve_fbo)
        GL.glFramebufferTexture2D(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_TEXTURE_2D, self.resolve_tex, 0)

        samples = min(self.requested_samples, int(GL.glGetIntegerv(GL.GL_MAX_SAMPLES)))
        self.samples = 0
        if samples > 0:
            self.fbo = int(GL.glGenFramebuffers(1))
            self.color_rb, self.depth_rb = (int(x) for x in GL.glGenRenderbuffers(2))
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self.color_rb)
            GL.glRenderbufferStorageMultisample(GL.GL_RENDERBUFFER, samples, GL.GL_RGBA8, w, h)
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self.depth_rb)
            GL.glRenderbufferStorageMultisample(GL.GL_RENDERBUFFER, samples, GL.GL_DEPTH_COMPONENT24, w, h)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.fbo)
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_COLOR_ATTACHMENT0, GL.GL_RENDERBUFFER, self.color_rb)
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER, self.depth_rb)
            if GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER) == GL.GL_FRAMEBUFFER_COMPLETE:
                self.samples = samples
            else:   # no MSAA here: fall back to drawing straight into the resolve target
                GL.glDeleteFramebuffers(1, [self.fbo])
                GL.glDeleteRenderbuffers(2, [self.color_rb, self.depth_rb])
                self.fbo = self.color_rb = self.depth_rb = 0
        if self.samples == 0:
            self.resolve_depth = int(GL.glGenRenderbuffers(1))
            GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, self.resolve_depth)
            GL.glRenderbufferStorage(GL.GL_RENDERBUFFER, GL.GL_DEPTH_COMPONENT24, w, h)
            GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.resolve_fbo)
            GL.glFramebufferRenderbuffer(GL.GL_FRAMEBUFFER, GL.GL_DEPTH_ATTACHMENT, GL.GL_RENDERBUFFER,
                                         self.resolve_depth)
            self.fbo = self.resolve_fbo
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.resolve_fbo)
        status = GL.glCheckFramebufferStatus(GL.GL_FRAMEBUFFER)
        GL.glBindRenderbuffer(GL.GL_RENDERBUFFER, 0)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)
        if status != GL.GL_FRAMEBUFFER_COMPLETE:
            raise RenderError(f"offscreen framebuffer {w}x{h} is incomplete (status 0x{int(status):x}): "
                              "try a smaller size or samples=0")
        self._readback = np.empty((h, w, 3), np.uint8)

    def begin(self, background) -> None:
        """Bind the draw target and clear it to ``background``."""
        w, h = self.size
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, self.fbo)
        GL.glViewport(0, 0, w, h)
        GL.glClearColor(float(background[0]), float(background[1]), float(background[2]), 1.0)
        GL.glDepthMask(GL.GL_TRUE)
        GL.glClear(GL.GL_COLOR_BUFFER_BIT | GL.GL_DEPTH_BUFFER_BIT)
        if self.samples:
            GL.glEnable(GL.GL_MULTISAMPLE)

    def end(self) -> None:
        """Resolve MSAA into the single-sample texture; unbind."""
        w, h = self.size
        if self.samples:
            GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self.fbo)
            GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, self.resolve_fbo)
            GL.glBlitFramebuffer(0, 0, w, h, 0, 0, w, h, GL.GL_COLOR_BUFFER_BIT, GL.GL_NEAREST)
        GL.glBindFramebuffer(GL.GL_FRAMEBUFFER, 0)

    def read_pixels(self, out: np.ndarray | None = None) -> np.ndarray:
        """The last frame as (H, W, 3) uint8, top row first. Pass ``out`` to reuse an array."""
        w, h = self.size
        buf = self._readback
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self.resolve_fbo)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        GL.glReadPixels(0, 0, w, h, GL.GL_RGB, GL.GL_UNSIGNED_BYTE, ptr(buf))
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, 0)
        if out is None:
            return buf[::-1].copy()
        np.copyto(out, buf[::-1])
        return out

    def draw_to(self, fbo: int = 0, size: tuple[int, int] | None = None) -> None:
        """Copy the last frame into framebuffer ``fbo`` (0 = a window's), scaled to ``size``."""
        w, h = self.size
        tw, th = (int(size[0]), int(size[1])) if size is not None else (w, h)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self.resolve_fbo)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, int(fbo))
        GL.glBlitFramebuffer(0, 0, w, h, 0, 0, tw, th, GL.GL_COLOR_BUFFER_BIT,
                             GL.GL_NEAREST if (tw, th) == (w, h) else GL.GL_LINEAR)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, 0)
        GL.glBindFramebuffer(GL.GL_DRAW_FRAMEBUFFER, int(fbo))
