"""Render errors: one line naming the problem and the fix."""
from engine.errors import NeuroscapeError


class RenderError(NeuroscapeError):
    """OpenGL/EGL could not do what was asked (no context, shader failed to build, ...)."""
