"""engine.render: GL context, programs built from shaders/, one pass per kind of drawable, readback.

Only this package (and the window code in engine.app) talks to OpenGL. PyOpenGL picks its
platform when it is first imported, and every engine module that imports OpenGL lives in (or
imports) this package, so engine/render/glplatform.py, imported first here, selects EGL.
"""
from engine.render import glplatform  # noqa: F401 - first: selects EGL before OpenGL is imported
from engine.render.errors import RenderError

_LAZY = {"OffscreenContext": "engine.render.context", "Renderer": "engine.render.renderer",
         "render_image": "engine.render.renderer", "save_png": "engine.render.png"}


def __getattr__(name):  # lazy: importing engine.render must not create GL objects or import OpenGL eagerly
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'engine.render' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(mod), name)


__all__ = ["OffscreenContext", "RenderError", "Renderer", "render_image", "save_png"]
