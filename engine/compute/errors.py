"""Errors of engine.compute's inputs, in a module of their own so that every input module can raise them."""
from engine.errors import NeuroscapeError

__all__ = ["InputError"]


class InputError(NeuroscapeError):
    """A bad --input: one line naming the problem and the fix."""
