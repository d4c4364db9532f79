"""Neuroscape: any PyTorch model as a live 3D scene.

Public API (kept small; see README):
    engine.record(model, example_inputs, capture=True) -> LayerGraph
    engine.pipeline.scene_from_graph(graph) -> Scene
    engine.pipeline.load(spec, LiveOptions(...)) -> Loaded (graph, scene, live session)
    engine.render.render_image(scene, size=(w, h), camera=None) -> np.ndarray (H x W x 3, uint8)
    engine.compute.playground.train_playground(model_or_layers, dataset, steps) -> session
    engine.show(model_or_scene, input=None, live=False, size=(960, 540)) -> Jupyter widget (or PNG / MP4)
"""
from engine.model.graph import Layer, LayerGraph, Edge

__version__ = "0.1.0"


def record(model, example_inputs=None, **kw):  # thin re-export, imports torch lazily
    """Record ``model`` on ``example_inputs`` into a LayerGraph (see engine.model.recorder)."""
    from engine.model.recorder import record as _record
    return _record(model, example_inputs, **kw)


def show(target, **kw):  # thin re-export: Jupyter and GL load only when called
    """Show a model, scene file, module, graph, scene or playground in a notebook (see engine.notebook)."""
    from engine.notebook import show as _show
    return _show(target, **kw)


__all__ = ["Layer", "LayerGraph", "Edge", "record", "show", "__version__"]
