"""Where each layer's activations live on the GPU.

* The neurons, in tensor order, in a buffer texture (R32F, or R16F for float16 frames): exact
  values for texelFetch up close; the shaders map mosaic texels to tensor indices, so a frame's
  outputs need no reordering on the way in.
* ``attach`` shares host memory with GL instead of copying it (GL_AMD_pinned_memory: Mesa's
  llvmpipe and radeonsi) -- a live frame's output tensors are drawn where the forward pass wrote
  them. The arrays are kept alive until a fence says the GPU is done with them. Drivers without
  the extension get one multithreaded copy into persistent-mapped buffers (engine/render/mapped.py),
  or one glBufferSubData without buffer storage (no orphaning either way).
* Far slabs sample a mean pyramid of the mosaic (engine/render/pyramid.py), levels 1.. in a
  texture whose base level is 1, rebuilt lazily, only for layers drawn as slabs after a change,
  layers of the same mosaic in one batch.
"""
from __future__ import annotations

import ctypes
import time

import numpy as np
from OpenGL import GL

from engine.layout.mosaic import Mosaic, from_mosaic
from engine.render.glcalls import GLCalls
from engine.render.mapped import Fences, MappedRing
from engine.render.pyramid import PyramidBuilder, level_sizes

EXTERNAL_VIRTUAL_MEMORY_BUFFER_AMD = 0x9160
_FORMATS = {np.dtype(np.float32): GL.GL_R32F, np.dtype(np.float16): GL.GL_R16F}
NAME_POOL = 256                  # buffer names generated at a time for shared memory


def _gl_version() -> tuple[int, int]:
    return int(GL.glGetIntegerv(GL.GL_MAJOR_VERSION)), int(GL.glGetIntegerv(GL.GL_MINOR_VERSION))


def has_extension(name: str) -> bool:
    n = int(GL.glGetIntegerv(GL.GL_NUM_EXTENSIONS))
    return any(GL.glGetStringi(GL.GL_EXTENSIONS, i) == name.encode() for i in range(n))


SHARE_BYTES = 1 << 20     # layers at least this big are shared with GL from the start, not copied


class LayerValues:
    """Buffer textures + far pyramids for a list of slabs (create with a GL context current)."""

    def __init__(self, slabs, *, zero_copy: bool | None = None) -> None:
        self.slabs = slabs
        n = len(slabs)
        self.mosaics: list[Mosaic] = [s.mosaic for s in slabs]
        #: GL_AMD_pinned_memory present: attach() shares memory instead of copying
        self.zero_copy = has_extension("GL_AMD_pinned_memory") if zero_copy is None else bool(zero_copy)
        #: else, with buffer storage (GL 4.4): attach() copies into persistent-mapped buffers
        self.mapped = _gl_version() >= (4, 4) or has_extension("GL_ARB_buffer_storage")
        self._fences = Fences()
        self.gl = GLCalls()
        self.rings: list[MappedRing | None] = [None] * n
        self.tex = [int(t) for t in np.atleast_1d(GL.glGenTextures(n))] if n else []
        self.own = [int(b) for b in np.atleast_1d(GL.glGenBuffers(n))] if n else []
        self.far = [0] * n
        self.fmt = [GL.GL_R32F] * n
        self.own_bytes = [0] * n
        self.data: list[np.ndarray | None] = [None] * n      # what the buffer holds (for pyramids, reads)
        self.far_dirty = [False] * n
        self.far_level = [0] * n                  # finest far level built (0: none yet)
        self.pyramids = PyramidBuilder()
        kinds: dict[Mosaic, int] = {}
        self.mosaic_kind = [kinds.setdefault(m, len(kinds)) for m in self.mosaics]   # equal mosaics: one batch
        self.n_levels = [len(level_sizes(s.rows, s.cols)) for s in slabs]
        self.attached: list[tuple[np.ndarray, int] | None] = [None] * n   # (array, its GL buffer)
        self._pending: list = []                  # (array, buffer) replaced since the last fence
        self._fenced: list[tuple[int, list]] = []  # (fence, [(array, buffer)]) the GPU may still read
        self._names: list[int] = []
        self.current = [0] * n                    # the buffer slab i's texture reads
        #: slabs without values yet (structure-only models): one texel of GL memory, no pyramid, drawn
        #: flat (FLAG_NO_VALUES) until values arrive
        self.blank = [s.values is None for s in slabs]
        for i, s in enumerate(slabs):
            v = s.values
            if v is None:
                self._write_flat(i, np.zeros(1, np.float32))
                continue
            flat = self._tensor_order(i, v)
            if self.zero_copy and flat.nbytes >= SHARE_BYTES and flat.flags.c_contiguous:
                self.attach(i, flat)      # big layers: GL reads the scene's own memory (one copy in RAM)
            else:
                self.write(i, flat)
            self._alloc_far(i)
        GL.glBindTexture(GL.GL_TEXTURE_2D, 0)

    def _alloc_far(self, i: int) -> None:
        """Slab i's (empty) far pyramid texture, levels 1.. of its mosaic."""
        s = self.slabs[i]
        sizes = level_sizes(s.rows, s.cols)
        if not sizes or self.far[i]:
            return
        self.far[i] = int(GL.glGenTextures(1))
        GL.glBindTexture(GL.GL_TEXTURE_2D, self.far[i])
        for level, (h, w) in enumerate(sizes, start=1):
            GL.glTexImage2D(GL.GL_TEXTURE_2D, level, GL.GL_R32F, w, h, 0, GL.GL_RED, GL.GL_FLOAT, None)
        for p, val in ((GL.GL_TEXTURE_BASE_LEVEL, 1), (GL.GL_TEXTURE_MAX_LEVEL, len(sizes)),
                       (GL.GL_TEXTURE_MIN_FILTER, GL.GL_LINEAR_MIPMAP_LINEAR),
                       (GL.GL_TEXTURE_MAG_FILTER, GL.GL_LINEAR),
                       (GL.GL_TEXTURE_WRAP_S, GL.GL_CLAMP_TO_EDGE), (GL.GL_TEXTURE_WRAP_T, GL.GL_CLAMP_TO_EDGE)):
            GL.glTexParameteri(GL.GL_TEXTURE_2D, p, val)

    # ------------------------------------------------------------------ input
    def _tensor_order(self, i: int, values) -> np.ndarray:
        """Flat tensor-order float32/float16 values of slab i: the flat ``count`` neurons, or a
        (rows, cols) mosaic image (put back in tensor order)."""
        s, m = self.slabs[i], self.mosaics[i]
        a = np.asarray(values)
        if a.dtype not in _FORMATS:
            a = a.astype(np.float32)
        if a.size == s.count:
            return a.reshape(-1)
        if a.shape == (s.rows, s.cols) or a.size == s.rows * s.cols:
            return from_mosaic(a.reshape(s.rows, s.cols), m).astype(a.dtype, copy=False)
        raise ValueError(f"values for layer {s.name!r} have shape {a.shape}; expected {s.count} neurons "
                         f"(tensor order) or a ({s.rows}, {s.cols}) mosaic")

    def _retire(self, i: int) -> None:
        old = self.attached[i]
        if old is not None:
            self._pending.append(old)
            self.attached[i] = None

    def write(self, i: int, values) -> np.ndarray:
        """Copy values into slab i's own buffer (one glBufferSubData). Returns the flat array
        the slab now shows (kept for pyramids: do not write into it before the next draw)."""
        return self._write_flat(i, np.ascontiguousarray(self._tensor_order(i, values)))

    def _write_flat(self, i: int, flat: np.ndarray) -> np.ndarray:
        self.gl.bind_buffer(GL.GL_TEXTURE_BUFFER, self.own[i])
        if flat.nbytes != self.own_bytes[i]:
            GL.glBufferData(GL.GL_TEXTURE_BUFFER, flat.nbytes, flat, GL.GL_DYNAMIC_DRAW)
            self.own_bytes[i] = flat.nbytes
        else:
            GL.glBufferSubData(GL.GL_TEXTURE_BUFFER, 0, flat.nbytes, flat.ctypes.data_as(ctypes.c_void_p))
        self.gl.bind_buffer(GL.GL_TEXTURE_BUFFER, 0)
        self._show(i, flat, self.own[i])
        return flat

    def attach(self, i: int, values: np.ndarray) -> bool:
        """Show ``values`` (flat tensor order, C-contiguous float32/float16) for slab i without
        copying when the driver can; else copy. Returns True if the memory is shared."""
        a = values
        if not (isinstance(a, np.ndarray) and a.dtype in _FORMATS and a.flags.c_contiguous
                and a.size == self.slabs[i].count and a.nbytes) or not (self.zero_copy or self.mapped):
            self.write(i, a)
            return False
        if not self.zero_copy:
            ring = self.rings[i]
            if ring is None or ring.nbytes != a.nbytes:
                if ring is not None:
                    ring.release()
                ring = self.rings[i] = MappedRing(a.nbytes, self._fences)
            self._show(i, a, ring.write(a))
            return False
        if not self._names:
            self._names = [int(b) for b in np.atleast_1d(GL.glGenBuffers(NAME_POOL))]
        buf = self._names.pop()
        gl = self.gl
        gl.bind_buffer(EXTERNAL_VIRTUAL_MEMORY_BUFFER_AMD, buf)      # left bound: every GL call counts here
        gl.buffer_data(EXTERNAL_VIRTUAL_MEMORY_BUFFER_AMD, a.nbytes, a.__array_interface__["data"][0], GL.GL_STREAM_DRAW)
        self._show(i, a, buf)
        self.attached[i] = (a, buf)
        return True

    def _show(self, i: int, a: np.ndarray, buf: int) -> None:
        """Slab i's texture reads ``buf``, which holds ``a``; the previous shared array retires.
        The texture stays bound: every GL call counts on the per-frame path."""
        self._retire(i)
        if self.blank[i] and a.size == self.slabs[i].count:     # the first values of a blank slab
            self.blank[i] = False
            self._alloc_far(i)
        fmt = _FORMATS[a.dtype]
        self.gl.bind_texture(GL.GL_TEXTURE_BUFFER, self.tex[i])
        self.gl.tex_buffer(GL.GL_TEXTURE_BUFFER, fmt, buf)
        self.fmt[i] = fmt
        self.current[i] = buf
        self.data[i] = a
        self.far_dirty[i] = True

    def _free(self, items: list) -> None:
        bufs = [b for _, b in items]
        if bufs:
            GL.glDeleteBuffers(len(bufs), bufs)

    # ------------------------------------------------------------------ drawing
    def far_stale(self, i: int, first: int) -> bool:
        """Slab i's far pyramid must be rebuilt to be drawn from level ``first``: its values
        changed, or a finer level is wanted than built."""
        return bool(self.far[i]) and self.data[i] is not None and (
            self.far_dirty[i] or not self.far_level[i] or max(1, first) < self.far_level[i])

    def build_far(self, items: list[tuple[int, int]], deadline: float | None = None) -> int:
        """Make the far pyramids of ``items`` -- (slab, finest level wanted), most wanted first --
        current; slabs that share a mosaic and a level are pooled as one batch. No batch starts
        after ``deadline`` (time.perf_counter seconds). Levels finer than the built ones are never
        sampled (GL_TEXTURE_MIN_LOD). Binds each far texture on the active texture unit. Returns
        how many pyramids were rebuilt."""
        batches: dict[tuple, list[int]] = {}      # in order of each batch's first (most wanted) slab
        for i, f in items:
            if self.far_stale(i, f):
                batches.setdefault((self.mosaic_kind[i], max(1, int(f))), []).append(i)
        if batches:
            GL.glPixelStorei(GL.GL_UNPACK_ALIGNMENT, 4)
        done = 0
        for (_, first), batch in batches.items():
            if deadline is not None and time.perf_counter() >= deadline:
                break
            m = self.mosaics[batch[0]]
            for i, levels in zip(batch, self.pyramids.build([self.data[i] for i in batch], m, first)):
                self._upload_far(i, levels)
            done += len(batch)
        return done

    def _upload_far(self, i: int, levels: list[np.ndarray]) -> None:
        gl = self.gl
        gl.bind_texture(GL.GL_TEXTURE_2D, self.far[i])
        first = self.n_levels[i] - len(levels) + 1
        for level, img in enumerate(levels, start=first):
            h, w = img.shape
            gl.tex_sub_image_2d(GL.GL_TEXTURE_2D, level, 0, 0, w, h, GL.GL_RED, GL.GL_FLOAT, ctypes.c_void_p(img.ctypes.data))
        if first != self.far_level[i]:
            GL.glTexParameterf(GL.GL_TEXTURE_2D, GL.GL_TEXTURE_MIN_LOD, float(first - 1))   # base level is 1
        self.far_level[i] = first
        self.far_dirty[i] = False

    def frame_drawn(self) -> None:
        """After a frame's draws: arrays replaced before it are freed, and mapped slots written
        for it are reused, once the GPU passes here."""
        pending_rings = [r for r in self.rings if r is not None and r.pending is not None]
        if pending_rings:
            fence = GL.glFenceSync(GL.GL_SYNC_GPU_COMMANDS_COMPLETE, 0)
            for r in pending_rings:
                r.drawn(fence)
        if self._pending:
            fence = GL.glFenceSync(GL.GL_SYNC_GPU_COMMANDS_COMPLETE, 0)
            self._fenced.append((fence, self._pending))
            self._pending = []
        keep = []
        for fence, items in self._fenced:
            if GL.glClientWaitSync(fence, 0, 0) in (GL.GL_ALREADY_SIGNALED, GL.GL_CONDITION_SATISFIED):
                GL.glDeleteSync(fence)
                self._free(items)
            else:
                keep.append((fence, items))
        self._fenced = keep

    def settle(self) -> None:
        """Wait for the GPU and free every replaced array."""
        GL.glFinish()
        for fence, items in self._fenced:
            GL.glDeleteSync(fence)
            self._free(items)
        self._free(self._pending)
        self._fenced, self._pending = [], []

    def read(self, i: int) -> np.ndarray:
        """Slab i's neurons as flat float32, read back from GL."""
        n = max(1, int(self.slabs[i].count))
        half = self.fmt[i] == GL.GL_R16F
        out = np.empty(n, np.float16 if half else np.float32)
        GL.glFinish()
        buf = self.current[i]
        target = EXTERNAL_VIRTUAL_MEMORY_BUFFER_AMD if self.attached[i] is not None else GL.GL_COPY_READ_BUFFER
        GL.glBindBuffer(target, buf)
        GL.glGetBufferSubData(target, 0, out.nbytes, out.ctypes.data_as(ctypes.c_void_p))
        GL.glBindBuffer(target, 0)
        return out.astype(np.float32)

    def release(self) -> None:
        self.settle()
        for r in self.rings:
            if r is not None:
                r.release()
        self.rings = [None] * len(self.slabs)
        if self.tex:
            GL.glDeleteTextures(self.tex)
        fars = [t for t in self.far if t]
        if fars:
            GL.glDeleteTextures(fars)
        bufs = self.own + [b for item in self.attached if item is not None for b in item[1:]] + self._names
        if bufs:
            GL.glDeleteBuffers(len(bufs), bufs)
        self.tex, self.own, self.far, self._names = [], [], [], []
        self.attached = [None] * len(self.slabs)
        self.data = [None] * len(self.slabs)
