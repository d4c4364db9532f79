"""The module behind a recorded layer, for analyses that hook it (feature visualization, embeddings)."""
from __future__ import annotations

from torch import nn

from engine.compute.errors import InputError
from engine.model.graph import Layer, LayerGraph

__all__ = ["module_layer"]


def module_layer(model: nn.Module, graph: LayerGraph, name: str, flag: str) -> tuple[Layer, nn.Module]:
    """(layer, module) of the layer ``name`` when a module's call made it; one clear line naming
    ``flag`` otherwise."""
    try:
        layer = graph.layer(name)
    except KeyError as e:
        raise InputError(f"{flag}: {e.args[0]}") from None
    mods = dict(model.named_modules())
    site = layer.site or ()
    if site[:1] != ("leaf",) or site[1] not in mods:
        raise InputError(f"{flag} {name}: not a module layer; pick a conv, linear, norm or activation layer "
                         f"(`neuroscape inspect` lists them)")
    return layer, mods[site[1]]
