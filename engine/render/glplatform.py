"""Selects PyOpenGL's EGL platform: PyOpenGL reads PYOPENGL_PLATFORM once, when it is first
imported, and every engine module that uses OpenGL imports engine.render first, whose __init__
imports this module before anything else. The one place the platform is chosen."""
import os

os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
