"""Model specs -> (model, example inputs, name, family). Nothing is downloaded, ever.

A spec is a name or alias of a registered source (engine/model/sources/: the zoo, Hugging Face,
torchvision, asked in that order) or ``package.module:callable`` / ``path/to/file.py:callable``
(engine/model/sources/user.py). Each source builds its model and example input; here the spec is
resolved, --weights loaded and --input-shape / --input-dtype applied.
"""
from __future__ import annotations

import difflib
import warnings

from torch import nn

from engine.model import sources  # noqa: F401 - registers the built-in sources
from engine.model.errors import InputSpecError, UnknownModelError
from engine.model.example import guess_inputs, make_inputs, override_inputs
from engine.model.inputs import ExampleInputs, parse_input_dtype, parse_input_shape
from engine.model.source import ModelInfo, ModelSource, register_source, registered_sources, unregister_source
from engine.model.sources.huggingface import HF_MODELS, build_hf, minilm_path
from engine.model.structure import is_structure_only
from engine.model.tensors import infer_family
from engine.model.weights import load_weights

__all__ = ["load_model", "list_models", "describe_models", "canonical_name", "declared_vocab_size", "find_source",
           "register_source", "unregister_source", "registered_sources", "ModelSource", "ModelInfo",
           "load_weights", "make_inputs", "guess_inputs", "build_hf", "minilm_path", "HF_MODELS", "ExampleInputs"]


def canonical_name(spec: str | None) -> str:
    """The model name ``spec`` stands for: stripped, lower case, an alias replaced by its model's name
    (``"GPT-2"`` -> ``"gpt2"``). Reads the sources' declarations only: nothing is imported or built."""
    low = (spec or "").strip().lower()
    for source in registered_sources():
        for info in source.catalog:
            if low in info.aliases:
                return info.name
    return low


def declared_vocab_size(spec: str | None) -> int | None:
    """The vocabulary size a source declares for the token-id model ``spec`` names, else None."""
    name = canonical_name(spec)
    for source in registered_sources():
        for info in source.catalog:
            if info.name == name:
                return info.vocab_size
    return None


def list_models() -> list[str]:
    """Every model name load_model() accepts without a module:callable, source by source."""
    return [name for name, _ in describe_models()]


def describe_models() -> list[tuple[str, str]]:
    """(name, one-line description) for `neuroscape inspect --list`; a name only under its first source."""
    rows: dict[str, str] = {}
    for source in registered_sources():
        for name, text in source.describe():
            rows.setdefault(name, text)
    return list(rows.items())


def has_random_weights(spec: str) -> bool:
    """Whether the model ``spec`` names is built with random weights (before any --weights)."""
    hit = find_source(spec) if isinstance(spec, str) and spec.strip() else None
    return bool(hit and hit[0].random_weights(hit[1]))


def find_source(spec: str) -> tuple[ModelSource, str] | None:
    """(source, name it builds) for the first source that takes ``spec``, else None."""
    key = spec.strip()
    canonical = canonical_name(key)
    for source in registered_sources():
        name = source.resolve(key, canonical)
        if name is not None:
            return source, name
    return None


def load_model(spec: str, *, weights: str | None = None, input_shape: str | None = None,
               input_dtype: str | None = None, structure: bool = False) -> tuple[nn.Module, ExampleInputs, str, str]:
    """Build the model named by ``spec`` and its example input.

    Returns ``(model, ExampleInputs(args, kwargs), name, family)``; the model is in eval mode on CPU.
    ``weights``: a .safetensors or .pt/.pth state_dict loaded strictly. ``input_shape`` (``1x3x224x224``,
    several inputs ``1x16;1x16``) and ``input_dtype`` (``float32``, ``int64`` ...) replace the default
    example input. ``structure``: build it on the meta device, no weights (engine/model/structure.py);
    sources of big models do that by themselves when the weights would not fit in memory.
    Raises NeuroscapeError subclasses with one-line messages.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownModelError("no model given; name one (e.g. resnet50, gpt2, mlp) — `neuroscape inspect --list` "
                                "shows all")
    spec = spec.strip()
    shapes = parse_input_shape(input_shape) if input_shape is not None else None
    dtype = parse_input_dtype(input_dtype)

    hit = find_source(spec)
    if hit is None:
        near = difflib.get_close_matches(spec.lower(), list_models(), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise UnknownModelError(f"unknown model {spec!r}{hint}; `neuroscape inspect --list` shows all names, or "
                                f"pass package.module:callable")
    source, key = hit
    if structure and weights is not None:
        raise InputSpecError("--structure shows the model without weights; drop --weights or --structure")
    build = source.build_structure if structure else source.build
    if source.quiet:
        with warnings.catch_warnings():  # library construction chatter (init deprecations etc.)
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", FutureWarning)
            model, inputs, family = build(key)
    else:
        model, inputs, family = build(key)
    name = source.display_name(key)

    if weights is not None and is_structure_only(model):
        raise InputSpecError(f"{name}'s weights do not fit in memory, so it opens as structure only; "
                             f"--weights cannot be loaded into it")
    if weights is not None:
        load_weights(model, weights, name)

    if shapes is not None or dtype is not None:
        inputs = override_inputs(model, inputs, shapes, dtype, spec)
    if inputs is None:
        inputs = guess_inputs(model)
        if inputs is None:
            raise InputSpecError(f"cannot guess an example input for {spec!r}; pass --input-shape (e.g. 1x3x224x224) "
                                 f"and --input-dtype if it takes token ids")
    if family is None:
        family = inputs.family or infer_family(inputs.tensors())
    inputs.family = family
    for m in model.modules():           # eval mode (not model.eval(): torch.export's modules refuse it)
        m.training = False
    return model, inputs, name, family
