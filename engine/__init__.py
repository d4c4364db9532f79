"""Neuroscape: any PyTorch model as a live 3D scene.

Public API (kept small; see README):
    record(model, example_inputs) -> LayerGraph
    build_scene(graph, **look) -> Scene
    render_image(scene, size=(w, h), camera=None) -> np.ndarray (H x W x 3, uint8)
"""
from engine.model.graph import Layer, LayerGraph, Edge

__version__ = "0.1.0"


def record(model, example_inputs=None, **kw):  # thin re-export, imports torch lazily
    """Record ``model`` on ``example_inputs`` into a LayerGraph (see engine.model.recorder)."""
    from engine.model.recorder import record as _record
    return _record(model, example_inputs, **kw)


__all__ = ["Layer", "LayerGraph", "Edge", "record", "__version__"]
