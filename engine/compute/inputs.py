"""Input sources for the live viewer: what the model sees, frame after frame.

``open_input(spec, example=..., family=..., model_spec=..., seed=...)`` returns an ``InputSource``; the viewer
calls ``source.frame(t, live)`` every frame. Every input is model-ready: the same structure, keys, shapes and
dtypes as the model's example input (batch 1, CPU), so the recorded graph stays valid.

Spec forms (``accepted()`` lists them for error messages); each kind is a module of engine/compute/input_sources/
that registers itself (engine/compute/input_kind.py says how a spec picks one):

  None / "example"   the model's own example input (1 input)
  path/to/img.png    an image (.png .jpg .jpeg .bmp .gif .webp .tif); see engine.compute.images for the
                     resizing (shorter side, centre crop), channel mapping and ImageNet normalization
  path/to/folder     every image in it, sorted by file name
  path/to/clip.mp4   a video (.mp4 .avi .mov .mkv .webm), decoded with imageio-ffmpeg's bundled ffmpeg;
                     the first ``max_frames`` (300) frames are kept, scaled down to the model's size
  digits             scikit-learn's 1797 8x8 digits (0..16 -> [0, 1]); describe() gives the true label
  sample-photo/photo scikit-learn's sample images china.jpg and flower.jpg
  noise              seeded Gaussian noise of the example's shape (token inputs: random ids in the vocab)
  text:...           text for language models (any other string also means text when the model takes
                     token ids); see engine.compute.text for the tokenizers and the byte-level fallback

``frame(t, live=False)`` is always ``get(0)``. ``frame(t, live=True)`` shows input ``(t // hold) % len`` (each
for ``hold`` frames: 30, video 1 so it plays at the viewer's frame rate); a source of one input is perturbed
instead, deterministically in (seed, t): float inputs get ``+ 0.15 * smooth noise`` that drifts from one random
field to the next every ``hold`` frames (spatially smooth for images), token inputs get one real token position
replaced by a random id every ``token_period`` (10) frames; "noise" becomes a fresh noise field that drifts
smoothly (``cos/sin`` blend of seeded keys, so it keeps unit variance).
"""
from __future__ import annotations

import os
from typing import Any

from engine.compute import input_sources  # noqa: F401 - registers the built-in kinds of input
from engine.compute import text as _text  # noqa: F401 - kept as inputs._text: tests reach the tokenizers by it
from engine.compute.errors import InputError
from engine.compute.input_kind import InputRequest, accepted, input_kinds
from engine.compute.input_source import ExampleSource, InputSource, tensor_at, token_locs
from engine.model.example import vocab_size as model_vocab_size
from engine.model.inputs import ExampleInputs
from engine.model.registry import declared_vocab_size

__all__ = ["InputError", "InputSource", "open_input", "accepted", "ACCEPTED"]

ACCEPTED = accepted()  # the built-in kinds; error messages call accepted() so kinds registered later show too


def _vocab(example: ExampleInputs, ids_loc, model, model_spec: str, vocab_size: int | None) -> int:
    if vocab_size:
        return int(vocab_size)
    if model is not None:
        v = model_vocab_size(model)
        if v:
            return int(v)
    v = declared_vocab_size(model_spec)  # the registry's language models, when no model is given
    if v:
        return v
    if ids_loc is not None:  # ids of the example are valid: stay within them
        return int(tensor_at(example, ids_loc).max().item()) + 1
    return 2


def open_input(spec: str | None, *, example: ExampleInputs, family: str, model_spec: str = "", seed: int = 0,
               model: Any = None, vocab_size: int | None = None, tokenizer: Any = None,
               hold: int | None = None, max_frames: int = 300) -> InputSource:
    """An InputSource for ``spec`` (see the module docstring), shaped like ``example``.

    Optional: ``model`` (its vocabulary size bounds random token ids), ``vocab_size``, ``tokenizer`` (a Hugging
    Face tokenizer to use instead of the built-in choice), ``hold`` (frames per input in live mode),
    ``max_frames`` (video frames kept). Raises InputError with a one-line message.
    """
    ids_loc = token_locs(example)[0]
    vocab = _vocab(example, ids_loc, model, model_spec, vocab_size)
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "example")):
        src: InputSource = ExampleSource(example, n=1, seed=seed, vocab_size=vocab)
    elif not isinstance(spec, (str, os.PathLike)):
        raise InputError(f"bad --input {spec!r}; use {accepted()}")
    else:
        src = _open(InputRequest(os.fspath(spec).strip(), example, family, model_spec, ids_loc is not None, vocab,
                                 seed, tokenizer, max_frames))
    if hold is not None:
        src.hold = max(1, int(hold))
    return src


def _open(req: InputRequest) -> InputSource:
    """The kind that claims the spec by name or prefix, else the first kind whose guess takes it."""
    kinds = input_kinds()
    for kind in kinds:
        if kind.open is not None and kind.claims(req.low):
            return kind.open(req)
    for kind in kinds:
        src = kind.guess(req) if kind.guess is not None else None
        if src is not None:
            return src
    raise InputError(f"unknown --input {req.spec!r}; use {accepted()}")
