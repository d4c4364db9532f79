"""engine.model: record a PyTorch model into a LayerGraph (plain data).

    load_model(spec, weights=None, input_shape=None, input_dtype=None) -> (model, ExampleInputs, name, family)
    record(model, example_inputs, capture=False, top_k=8, name=None) -> LayerGraph
    list_models() -> list[str]

Importing this package does not import torch (graph.py is torch-free); the names above are loaded on
first use.
"""
from engine.model.graph import KINDS, Edge, Layer, LayerGraph

_LAZY = {
    "record": "engine.model.recorder",
    "load_model": "engine.model.registry",
    "list_models": "engine.model.registry",
    "describe_models": "engine.model.registry",
    "canonical_name": "engine.model.registry",
    "register_source": "engine.model.registry",
    "load_weights": "engine.model.weights",
    "ExampleInputs": "engine.model.inputs",
    "parse_input_shape": "engine.model.inputs",
    "ModelError": "engine.model.errors",
    "UnknownModelError": "engine.model.errors",
    "ModelImportError": "engine.model.errors",
    "ModelSpecError": "engine.model.errors",
    "WeightsError": "engine.model.errors",
    "InputSpecError": "engine.model.errors",
}


def __getattr__(name):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'engine.model' has no attribute {name!r}")
    import importlib
    return getattr(importlib.import_module(mod), name)


__all__ = ["KINDS", "Edge", "Layer", "LayerGraph", *_LAZY]
