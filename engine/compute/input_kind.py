"""The kinds of --input (files, digits, noise, text, ...) and how a spec picks one.

A kind claims specs by exact name (``noise``) or prefix (``text:``) and opens them; a kind may also guess at
any other spec (a path, free text), after every name and prefix was tried, in registration order.
engine/compute/input_sources/ registers the built-in kinds; engine/compute/inputs.py's open_input() asks them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable

from engine.compute import images as _img
from engine.compute.input_source import InputSource
from engine.model.inputs import ExampleInputs
from engine.model.plugins import PluginTable

__all__ = ["InputRequest", "InputKind", "register_input", "unregister_input", "input_kinds", "accepted"]


@dataclass(frozen=True)
class InputRequest:
    """A --input spec and the model it feeds: what an input kind decides on and builds from."""

    spec: str                 # the --input, stripped
    example: ExampleInputs    # every input has its structure, keys, shapes and dtypes
    family: str
    model_spec: str
    token_model: bool         # the example holds token ids
    vocab: int                # random token ids stay below this
    seed: int = 0
    tokenizer: Any = None     # a Hugging Face tokenizer to use for text, or None
    max_frames: int = 300     # video frames kept

    @property
    def low(self) -> str:
        return self.spec.lower()

    @property
    def looks_like_path(self) -> bool:
        """A media extension, a path separator or a leading "." / "~"."""
        return (self.low.endswith(_img.IMAGE_EXTS + _img.VIDEO_EXTS) or os.sep in self.spec or "/" in self.spec
                or self.spec.startswith((".", "~")))

    def common(self) -> dict[str, int]:
        """Keyword arguments every InputSource takes."""
        return {"seed": self.seed, "vocab_size": self.vocab}


@dataclass(frozen=True)
class InputKind:
    """One kind of --input. ``open`` builds the source of a spec claimed by ``names`` or ``prefix`` (lower
    case); ``guess`` looks at any other spec and returns a source, or None when the spec is not its kind.
    ``accepted`` is how error messages list it."""

    kind: str
    accepted: str
    names: tuple[str, ...] = ()
    prefix: str = ""
    open: Callable[[InputRequest], InputSource] | None = None
    guess: Callable[[InputRequest], InputSource | None] | None = None

    def claims(self, low: str) -> bool:
        return low in self.names or (bool(self.prefix) and low.startswith(self.prefix))


# Guesses are tried, and error messages list the kinds, in registration order.
_KINDS: PluginTable[InputKind] = PluginTable("kind of input", lambda kind: kind.kind)
register_input = _KINDS.add
unregister_input = _KINDS.remove
input_kinds = _KINDS.items


def accepted() -> str:
    """Every accepted --input, for error messages: "example, ..., or text:... (language models)"."""
    phrases = ["example"] + [k.accepted for k in input_kinds()]
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + ", or " + phrases[-1]
