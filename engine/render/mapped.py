"""Persistent-mapped upload buffers (GL 4.4 / ARB_buffer_storage), for drivers that cannot share
host memory (engine/render/values.py): the CPU writes a frame straight into memory the GPU reads,
with torch's multithreaded copy instead of the driver's single-threaded glBufferSubData, and never
orphans a buffer (1.1 GB/s on Mesa). Slots rotate; a slot is written again only after the fence of
the last drawn frame that used it has passed.
"""
from __future__ import annotations

import ctypes

import numpy as np
import torch
from OpenGL import GL

_FLAGS = GL.GL_MAP_WRITE_BIT | GL.GL_MAP_PERSISTENT_BIT | GL.GL_MAP_COHERENT_BIT
_WAIT_NS = 1_000_000_000


class Fences:
    """GL fences shared by the slots of many rings, deleted when no slot refers to them."""

    def __init__(self) -> None:
        self.refs: dict[int, int] = {}

    def take(self, fence: int) -> int:
        self.refs[fence] = self.refs.get(fence, 0) + 1
        return fence

    def drop(self, fence: int) -> None:
        n = self.refs.get(fence, 0) - 1
        if n <= 0:
            self.refs.pop(fence, None)
            GL.glDeleteSync(fence)
        else:
            self.refs[fence] = n


class MappedRing:
    """``slots`` persistently mapped buffers of ``nbytes`` each."""

    def __init__(self, nbytes: int, fences: Fences, slots: int = 2) -> None:
        self.nbytes, self.fences = int(nbytes), fences
        self.bufs = [int(b) for b in np.atleast_1d(GL.glGenBuffers(slots))]
        self.views: list[np.ndarray] = []
        for b in self.bufs:
            GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, b)
            GL.glBufferStorage(GL.GL_COPY_WRITE_BUFFER, self.nbytes, None, _FLAGS)
            ptr = GL.glMapBufferRange(GL.GL_COPY_WRITE_BUFFER, 0, self.nbytes, _FLAGS)
            addr = ptr if isinstance(ptr, int) else ctypes.cast(ptr, ctypes.c_void_p).value
            self.views.append(np.frombuffer((ctypes.c_char * self.nbytes).from_address(addr), np.uint8))
        GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, 0)
        self.fence = [0] * slots        # fence of the last drawn frame that read the slot
        self.next = 0
        self.pending: int | None = None  # slot bound for the frame being prepared

    def write(self, a: np.ndarray) -> int:
        """Copy ``a`` into the next free slot; returns its buffer."""
        s = self.next
        self.next = (s + 1) % len(self.bufs)
        f = self.fence[s]
        if f:
            while GL.glClientWaitSync(f, GL.GL_SYNC_FLUSH_COMMANDS_BIT, _WAIT_NS) == GL.GL_TIMEOUT_EXPIRED:
                pass
        dst = self.views[s][: a.nbytes].view(a.dtype)
        torch.from_numpy(dst).copy_(torch.from_numpy(a))
        self.pending = s
        return self.bufs[s]

    def drawn(self, fence: int) -> None:
        """The frame that used the pending slot was submitted; ``fence`` marks its end."""
        if self.pending is None:
            return
        s = self.pending
        if self.fence[s]:
            self.fences.drop(self.fence[s])
        self.fence[s] = self.fences.take(fence)
        self.pending = None

    def release(self) -> None:
        for f in self.fence:
            if f:
                self.fences.drop(f)
        for b in self.bufs:
            GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, b)
            GL.glUnmapBuffer(GL.GL_COPY_WRITE_BUFFER)
        GL.glBindBuffer(GL.GL_COPY_WRITE_BUFFER, 0)
        GL.glDeleteBuffers(len(self.bufs), self.bufs)
        self.bufs, self.views, self.fence = [], [], []
