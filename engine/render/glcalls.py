"""Unchecked entry points for the GL calls made per slab on every frame.

PyOpenGL asks glGetError after every call, raw functions included: on the per-frame paths (4 calls
a slab to show a live frame, 4 a slab to draw) that doubles the calls into the driver and adds
Python work -- ~1.5 ms a frame for resnet50's 175 slabs. These call the driver's entry point
directly; an error still surfaces at the next checked call. Where the platform gives no address,
the PyOpenGL function is used as it is.
"""
from __future__ import annotations

import ctypes
from ctypes import c_int, c_uint, c_void_p, c_ssize_t

from OpenGL.raw.GL.VERSION.GL_1_1 import glBindTexture as _bind_texture
from OpenGL.raw.GL.VERSION.GL_1_1 import glDrawArrays as _draw_arrays
from OpenGL.raw.GL.VERSION.GL_1_1 import glTexSubImage2D as _tex_sub_image_2d
from OpenGL.raw.GL.VERSION.GL_1_3 import glActiveTexture as _active_texture
from OpenGL.raw.GL.VERSION.GL_1_5 import glBindBuffer as _bind_buffer
from OpenGL.raw.GL.VERSION.GL_1_5 import glBufferData as _buffer_data
from OpenGL.raw.GL.VERSION.GL_2_0 import glUniform1i as _uniform1i
from OpenGL.raw.GL.VERSION.GL_3_1 import glTexBuffer as _tex_buffer

__all__ = ["GLCalls"]


def _direct(name: str, fallback, *argtypes):
    try:
        from OpenGL import platform
        get = platform.PLATFORM.getExtensionProcedure
        addr = get(name.encode())
        addr = addr if isinstance(addr, int) else ctypes.cast(addr, c_void_p).value
    except Exception:  # noqa: BLE001 - any platform without a usable lookup keeps PyOpenGL's
        addr = None
    if not addr:
        return fallback
    return ctypes.CFUNCTYPE(None, *argtypes)(addr)


class GLCalls:
    """The entry points, resolved once a context exists (addresses are per driver)."""

    def __init__(self) -> None:
        self.bind_buffer = _direct("glBindBuffer", _bind_buffer, c_uint, c_uint)
        self.buffer_data = _direct("glBufferData", _buffer_data, c_uint, c_ssize_t, c_void_p, c_uint)
        self.bind_texture = _direct("glBindTexture", _bind_texture, c_uint, c_uint)
        self.tex_buffer = _direct("glTexBuffer", _tex_buffer, c_uint, c_uint, c_uint)
        self.active_texture = _direct("glActiveTexture", _active_texture, c_uint)
        self.draw_arrays = _direct("glDrawArrays", _draw_arrays, c_uint, c_int, c_int)
        self.uniform1i = _direct("glUniform1i", _uniform1i, c_int, c_int)
        self.tex_sub_image_2d = _direct("glTexSubImage2D", _tex_sub_image_2d, c_uint, c_int, c_int, c_int, c_int,
                                        c_int, c_uint, c_uint, c_void_p)
