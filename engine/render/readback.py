"""Asynchronous readback of a Renderer's frames through a ring of pixel-pack buffers (PBOs).

``start()`` queues glReadPixels of the last drawn frame into the next PBO and returns at once (the
GPU copies while the CPU goes on with the next frame); ``collect(out)`` maps the oldest pending PBO
and copies its pixels into ``out``. Pixels stay bottom row first, as GL stores them (the video
encoder flips them for free). Only this package talks to OpenGL.
"""
from __future__ import annotations

import ctypes
from collections import deque

import numpy as np
from OpenGL import GL

from engine.render.errors import RenderError


def gl_info() -> dict:
    """Vendor, renderer and version strings of the current context."""
    def s(name):
        try:
            v = GL.glGetString(name)
        except Exception:  # noqa: BLE001
            return ""
        return v.decode(errors="replace") if isinstance(v, bytes) else str(v or "")
    return {"vendor": s(GL.GL_VENDOR), "renderer": s(GL.GL_RENDERER), "version": s(GL.GL_VERSION)}


class PboReader:
    """Ring of ``slots`` PBOs sized for ``renderer``'s frames (RGB8, rows packed)."""

    def __init__(self, renderer, slots: int = 2) -> None:
        self.renderer = renderer
        self.size = renderer.size
        w, h = self.size
        self.nbytes = w * h * 3
        self.slots = max(1, int(slots))
        self._bufs = [int(b) for b in np.atleast_1d(GL.glGenBuffers(self.slots))]
        for b in self._bufs:
            GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, b)
            GL.glBufferData(GL.GL_PIXEL_PACK_BUFFER, self.nbytes, None, GL.GL_STREAM_READ)
        GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, 0)
        self._next = 0
        self._pending: deque[int] = deque()

    @property
    def pending(self) -> int:
        return len(self._pending)

    def start(self) -> None:
        """Queue the readback of the renderer's last frame; collect() first if every slot is busy."""
        if self.renderer.size != self.size:
            raise RenderError("the renderer was resized after the PboReader was made: make a new PboReader")
        if len(self._pending) >= self.slots:
            raise RenderError("every PBO holds a frame not yet collected: call collect() first")
        w, h = self.size
        buf = self._bufs[self._next]
        self._next = (self._next + 1) % self.slots
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, self.renderer.targets.resolve_fbo)
        GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, buf)
        GL.glPixelStorei(GL.GL_PACK_ALIGNMENT, 1)
        GL.glReadPixels(0, 0, w, h, GL.GL_RGB, GL.GL_UNSIGNED_BYTE, ctypes.c_void_p(0))
        GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, 0)
        GL.glBindFramebuffer(GL.GL_READ_FRAMEBUFFER, 0)
        self._pending.append(buf)

    def collect(self, out: np.ndarray | None = None) -> np.ndarray:
        """The oldest queued frame as (H, W, 3) uint8, bottom row first (into ``out`` if given)."""
        if not self._pending:
            raise RenderError("no readback queued: call start() after a draw")
        w, h = self.size
        if out is None:
            out = np.empty((h, w, 3), np.uint8)
        buf = self._pending.popleft()
        GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, buf)
        ptr = GL.glMapBufferRange(GL.GL_PIXEL_PACK_BUFFER, 0, self.nbytes, GL.GL_MAP_READ_BIT)
        try:
            if not ptr:
                raise RenderError("mapping a pixel buffer failed: the GL driver is out of memory; render smaller")
            ctypes.memmove(out.ctypes.data, ptr, self.nbytes)
        finally:
            if ptr:
                GL.glUnmapBuffer(GL.GL_PIXEL_PACK_BUFFER)
            GL.glBindBuffer(GL.GL_PIXEL_PACK_BUFFER, 0)
        return out

    def release(self) -> None:
        if self._bufs:
            GL.glDeleteBuffers(len(self._bufs), self._bufs)
        self._bufs, self._pending = [], deque()
