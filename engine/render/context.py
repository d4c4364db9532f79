"""Headless OpenGL: an EGL core-profile context with no surface (render into FBOs).

Display choice, in order: Mesa's surfaceless platform (eglGetPlatformDisplayEXT with
EGL_PLATFORM_SURFACELESS_MESA), the EGL device platform (first device; NVIDIA headless),
then eglGetDisplay(EGL_DEFAULT_DISPLAY).
"""
from __future__ import annotations

import ctypes
import os

from engine.render.errors import RenderError

EGL_PLATFORM_SURFACELESS_MESA = 0x31DD
EGL_PLATFORM_DEVICE_EXT = 0x313F

_HINT = ("install Mesa's EGL (apt-get install libegl-mesa0 libegl1 libgl1-mesa-dri) "
         "or a GPU driver with EGL, and keep PYOPENGL_PLATFORM=egl")

# Display handles are per-process singletons in EGL: eglTerminate only when the last context goes.
_display_users: dict[int, int] = {}


def _import_egl():
    if os.environ.get("PYOPENGL_PLATFORM") != "egl":
        raise RenderError(f"PYOPENGL_PLATFORM is {os.environ.get('PYOPENGL_PLATFORM')!r}: headless "
                          "rendering needs 'egl' (unset it or set it to egl before starting Python)")
    try:
        from OpenGL import EGL
    except Exception as e:  # noqa: BLE001 - library missing or broken
        raise RenderError(f"cannot load EGL ({type(e).__name__}: {_short(e)}): {_HINT}") from None
    return EGL


def _handle(ptr) -> int:
    """Integer value of an EGL handle (PyOpenGL returns ctypes pointers or ints)."""
    if ptr is None:
        return 0
    if isinstance(ptr, int):
        return ptr
    v = getattr(ptr, "value", None)
    if v is not None or hasattr(ptr, "value"):
        return int(v or 0)
    return ctypes.cast(ptr, ctypes.c_void_p).value or 0


def _short(e: BaseException) -> str:
    """One line for an exception (PyOpenGL's EGLError repr spans many lines)."""
    err = getattr(e, "err", None)
    if err is not None:
        op = getattr(getattr(e, "baseOperation", None), "__name__", "EGL")
        return f"{op}: {err}"
    return " ".join(str(e).split())[:200] or type(e).__name__


def _client_extensions(EGL) -> str:
    try:
        s = EGL.eglQueryString(EGL.EGL_NO_DISPLAY, EGL.EGL_EXTENSIONS)
        return s.decode() if isinstance(s, bytes) else str(s or "")
    except Exception:  # noqa: BLE001 - EGL 1.4 without client extensions raises EGL_BAD_DISPLAY
        return ""


def _candidate_displays(EGL):
    """Yield (description, display) in order of preference; displays may be EGL_NO_DISPLAY."""
    exts = _client_extensions(EGL)
    if "EGL_MESA_platform_surfaceless" in exts and "EGL_EXT_platform_base" in exts:
        try:
            yield "surfaceless", EGL.eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA,
                                                              EGL.EGL_DEFAULT_DISPLAY, None)
        except Exception:  # noqa: BLE001
            pass
    if "EGL_EXT_platform_device" in exts and "EGL_EXT_device_enumeration" in exts:
        try:
            from OpenGL.EGL.EXT.device_enumeration import eglQueryDevicesEXT
            devices = (EGL.EGLDeviceEXT * 8)()
            n = EGL.EGLint()
            if eglQueryDevicesEXT(8, devices, ctypes.pointer(n)):
                for i in range(n.value):
                    yield f"device {i}", EGL.eglGetPlatformDisplayEXT(EGL_PLATFORM_DEVICE_EXT,
                                                                      devices[i], None)
        except Exception:  # noqa: BLE001
            pass
    try:
        yield "default", EGL.eglGetDisplay(EGL.EGL_DEFAULT_DISPLAY)
    except Exception:  # noqa: BLE001
        pass


class OffscreenContext:
    """An EGL OpenGL core-profile (3.3+) context, current with no surface.

    Use as ``with OffscreenContext() as ctx: ...`` or call :meth:`release` yourself. Rendering
    goes into framebuffer objects (see engine.render.renderer.Renderer).
    """

    def __init__(self, major: int = 3, minor: int = 3) -> None:
        from engine.render.preload import preload
        preload()
        EGL = self._EGL = _import_egl()
        self._previous = self._current(EGL)   # restored on release (nested contexts, windows)
        self.display = None
        self.context = None
        self.platform = ""
        self.renderer = ""
        self.version = ""
        errors: list[str] = []
        for desc, dpy in _candidate_displays(EGL):
            if not _handle(dpy):
                errors.append(f"{desc}: no display")
                continue
            try:
                ctx = self._create_on(EGL, dpy, major, minor)
            except RenderError as e:
                errors.append(f"{desc}: {e}")
                continue
            self.display, self.context, self.platform = dpy, ctx, desc
            break
        if self.context is None:
            why = "; ".join(errors) or "no EGL display available"
            raise RenderError(f"no headless OpenGL {major}.{minor} core context ({why}): {_HINT}")
        from OpenGL import GL

        def s(name):
            v = GL.glGetString(name)
            return v.decode(errors="replace") if isinstance(v, bytes) else str(v)

        self.renderer, self.version = s(GL.GL_RENDERER), s(GL.GL_VERSION)
        self.vendor = s(GL.GL_VENDOR)

    @staticmethod
    def _current(EGL):
        try:
            ctx = EGL.eglGetCurrentContext()
            if not _handle(ctx):
                return None
            return (EGL.eglGetCurrentDisplay(), EGL.eglGetCurrentSurface(EGL.EGL_DRAW),
                    EGL.eglGetCurrentSurface(EGL.EGL_READ), ctx)
        except Exception:  # noqa: BLE001
            return None

    @staticmethod
    def _create_on(EGL, dpy, major: int, minor: int):
        key = _handle(dpy)
        maj, mnr = EGL.EGLint(), EGL.EGLint()
        try:
            ok = EGL.eglInitialize(dpy, ctypes.pointer(maj), ctypes.pointer(mnr))
        except Exception as e:  # noqa: BLE001
            raise RenderError(f"eglInitialize failed ({_short(e)})") from None
        if not ok:
            raise RenderError("eglInitialize failed")
        _display_users[key] = _display_users.get(key, 0) + 1
        try:
            if not EGL.eglBindAPI(EGL.EGL_OPENGL_API):
                raise RenderError("eglBindAPI(EGL_OPENGL_API) failed: desktop OpenGL not supported")
            attribs = (EGL.EGLint * 7)(EGL.EGL_RENDERABLE_TYPE, EGL.EGL_OPENGL_BIT,
                                       EGL.EGL_SURFACE_TYPE, 0,  # no surface needed
                                       EGL.EGL_NONE, 0, 0)
            config = EGL.EGLConfig()
            num = EGL.EGLint()
            if not EGL.eglChooseConfig(dpy, attribs, ctypes.pointer(config), 1, ctypes.pointer(num)) \
                    or num.value < 1:
                config = EGL.EGLConfig()  # EGL_NO_CONFIG_KHR (EGL_KHR_no_config_context)
            ctx_attribs = (EGL.EGLint * 7)(EGL.EGL_CONTEXT_MAJOR_VERSION, major,
                                           EGL.EGL_CONTEXT_MINOR_VERSION, minor,
                                           EGL.EGL_CONTEXT_OPENGL_PROFILE_MASK,
                                           EGL.EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
                                           EGL.EGL_NONE)
            try:
                ctx = EGL.eglCreateContext(dpy, config, EGL.EGL_NO_CONTEXT, ctx_attribs)
            except Exception as e:  # noqa: BLE001 - PyOpenGL raises EGLError
                raise RenderError(f"no OpenGL {major}.{minor} core context ({_short(e)})") from None
            if not _handle(ctx):
                raise RenderError(f"no OpenGL {major}.{minor} core context (eglCreateContext failed)")
            try:
                ok = EGL.eglMakeCurrent(dpy, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, ctx)
            except Exception:  # noqa: BLE001
                ok = False
            if not ok:
                EGL.eglDestroyContext(dpy, ctx)
                raise RenderError("eglMakeCurrent with no surface failed "
                                  "(EGL_KHR_surfaceless_context missing)")
            return ctx
        except BaseException:
            OffscreenContext._drop_display(EGL, dpy)
            raise

    @staticmethod
    def _drop_display(EGL, dpy) -> None:
        key = _handle(dpy)
        n = _display_users.get(key, 0) - 1
        if n <= 0:
            _display_users.pop(key, None)
            try:
                EGL.eglTerminate(dpy)
            except Exception:  # noqa: BLE001
                pass
        else:
            _display_users[key] = n

    def make_current(self) -> None:
        if self.context is None:
            raise RenderError("the offscreen GL context was released: create a new OffscreenContext")
        EGL = self._EGL
        if not EGL.eglMakeCurrent(self.display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, self.context):
            raise RenderError("eglMakeCurrent failed: the GL context is current in another thread")

    def release(self) -> None:
        """Destroy the context (idempotent). The context that was current when this one was
        created, if any and still alive, becomes current again."""
        if self.context is None:
            return
        EGL = self._EGL
        previous, self._previous = self._previous, None
        try:
            EGL.eglMakeCurrent(self.display, EGL.EGL_NO_SURFACE, EGL.EGL_NO_SURFACE, EGL.EGL_NO_CONTEXT)
            EGL.eglDestroyContext(self.display, self.context)
        finally:
            self.context = None
            self._drop_display(EGL, self.display)
            self.display = None
            restored = False
            if previous is not None:
                try:
                    restored = bool(EGL.eglMakeCurrent(*previous))
                except Exception:  # noqa: BLE001 - that context is gone too
                    restored = False
            if not restored:
                try:
                    EGL.eglReleaseThread()
                except Exception:  # noqa: BLE001
                    pass

    def __enter__(self) -> "OffscreenContext":
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def __del__(self) -> None:  # best effort; explicit release() / with-block is the contract
        try:
            self.release()
        except Exception:  # noqa: BLE001
            pass

    def __repr__(self) -> str:
        return f"OffscreenContext({self.platform}: {self.renderer} | {self.version})"
