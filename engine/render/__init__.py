"""engine.render: GL context, programs built from shaders/, passes, readback.

Only this package (and the window code in engine.app) imports OpenGL. PyOpenGL picks its
platform at first import, so EGL is selected here before anything else imports OpenGL.
"""
import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")

from engine.render.errors import RenderError  # noqa: E402


def __getattr__(name):  # lazy: importing engine.render must not create GL objects or import OpenGL eagerly
    if name in ("OffscreenContext",):
        from engine.render.context import OffscreenContext
        return OffscreenContext
    if name in ("Renderer", "render_image", "save_png"):
        from engine.render import renderer
        return getattr(renderer, name)
    raise AttributeError(f"module 'engine.render' has no attribute {name!r}")


__all__ = ["OffscreenContext", "RenderError", "Renderer", "render_image", "save_png"]
