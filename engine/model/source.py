"""What a model source is, and the sources registered so far.

A source builds the models of one kind (the built-in zoo, Hugging Face, torchvision, user callables).
It declares up front, in ``catalog``, the names it builds with their aliases, one-line descriptions
and (token-id models) vocabulary sizes, and builds ``(model, example inputs, family)`` for one of
them. engine/model/sources/ registers the built-in sources; engine/model/registry.py asks them in
registration order.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import torch
from torch import nn

from engine.model.inputs import ExampleInputs
from engine.model.plugins import PluginTable

__all__ = ["ModelInfo", "ModelSource", "Built", "register_source", "unregister_source", "registered_sources",
           "seeded", "shipped_file"]

# (model in eval mode, its example input or None to guess one, family or None to infer it)
Built = tuple[nn.Module, ExampleInputs | None, str | None]
T = TypeVar("T")


@dataclass(frozen=True)
class ModelInfo:
    """One model a source declares."""

    name: str                        # lower case; what load_model() returns as the name
    description: str                 # one line, for `neuroscape inspect --list`
    aliases: tuple[str, ...] = ()    # other names it answers to, lower case
    vocab_size: int | None = None    # token-id models: the vocabulary size of their ids


class ModelSource:
    """A kind of model. Subclass, set ``kind`` and ``catalog`` (or override ``names``/``describe`` when
    the names come from a library), implement ``build``, and register an instance with
    engine.model.registry.register_source (importing the registry registers the built-in sources first)."""

    kind: str = ""
    catalog: tuple[ModelInfo, ...] = ()
    quiet: bool = True  # silence library UserWarning/FutureWarning chatter while building
    random: bool = False  # its models are built with random weights (nothing downloaded)

    def random_weights(self, name: str) -> bool:
        """Whether ``name`` is built with random weights (said in `inspect` and the scene's title)."""
        return self.random

    def names(self) -> list[str]:
        """Every name this source builds (may import its library)."""
        return [m.name for m in self.catalog]

    def describe(self) -> list[tuple[str, str]]:
        """(name, one-line description) of every name."""
        return [(m.name, m.description) for m in self.catalog]

    def resolve(self, spec: str, canonical: str) -> str | None:
        """The name this source builds for ``spec`` (stripped; ``canonical``: lower case, alias
        resolved), or None when the spec is not this source's."""
        names = self.names()
        if spec in names:
            return spec
        return canonical if canonical in names else None

    def build(self, name: str) -> Built:
        """A fresh model for a name resolve() returned."""
        raise NotImplementedError

    def build_structure(self, name: str) -> Built:
        """The model without weights (on the meta device, engine/model/structure.py): ``--structure``."""
        from engine.model.structure import on_meta
        return on_meta(self.build, name)

    def display_name(self, name: str) -> str:
        """The model's name in graphs and messages."""
        return name


# The registry asks the sources in registration order. unregister_source: tests, plug-ins being unloaded.
_SOURCES: PluginTable[ModelSource] = PluginTable("model source", lambda source: source.kind)
register_source = _SOURCES.add
unregister_source = _SOURCES.remove
registered_sources = _SOURCES.items


def shipped_file(path: Path, package: str) -> Path | None:
    """A file that ships with Neuroscape: ``path`` in a checkout or editable install, else the same
    name in ``package``'s data (a wheel); None when neither exists."""
    if path.exists():
        return path
    try:
        from importlib.resources import files
        packaged = Path(str(files(package) / path.name))
        return packaged if packaged.exists() else None
    except (ModuleNotFoundError, TypeError):
        return None


def seeded(build: Callable[..., T], *args, **kwargs) -> T:
    """``build(*args, **kwargs)`` with torch's global RNG seeded to 0 (and restored afterwards), so
    random weights are the same every run."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build(*args, **kwargs)
