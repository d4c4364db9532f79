"""Errors of model ingestion. Each is one line that names the problem and the fix."""
from engine.errors import NeuroscapeError


class ModelError(NeuroscapeError):
    """The model failed to run on its example input (or could not be recorded)."""


class UnknownModelError(NeuroscapeError):
    """A model name that is neither built in, a torchvision/Hugging Face name, nor module:callable."""


class ModelImportError(NeuroscapeError):
    """The module of a ``package.module:callable`` spec could not be imported."""


class ModelSpecError(NeuroscapeError):
    """The callable of a spec is missing, raised, or did not return an nn.Module."""


class WeightsError(NeuroscapeError):
    """A --weights file is missing, corrupt, of an unsupported format, or does not fit the model."""


class InputSpecError(NeuroscapeError):
    """A bad --input-shape / --input-dtype string."""


def first_line(exc: BaseException, limit: int = 240) -> str:
    """``Type: first line of message``, shortened, for one-line errors."""
    msg = str(exc).strip().splitlines()
    text = msg[0].strip() if msg else ""
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


__all__ = ["NeuroscapeError", "ModelError", "UnknownModelError", "ModelImportError", "ModelSpecError",
           "WeightsError", "InputSpecError", "first_line"]
