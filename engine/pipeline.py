"""One place that runs the data flow of DESIGN.md: spec -> model -> LayerGraph -> layout -> Scene,
plus, for live activations, the input source and probe session."""
from __future__ import annotations

from dataclasses import dataclass

from engine.layout.placement import layout_graph
from engine.model.graph import LayerGraph
from engine.scene.build import build_scene
from engine.scene.nodes import Scene
from engine.scenefile import SceneSpec, camera_of, layout_of, look_of

__all__ = ["LiveOptions", "Loaded", "build", "load", "record_spec", "scene_from_graph"]


@dataclass
class LiveOptions:
    """How activations are fed: input spec, cycling/perturbing, normalization, pulse animation."""

    input: str | None = None
    live: bool = False
    norm: str = "layer"
    log: bool = False
    pulse: bool = False

    @property
    def active(self) -> bool:
        return bool(self.input) or self.live or self.pulse


@dataclass
class Loaded:
    spec: SceneSpec
    graph: LayerGraph
    scene: Scene
    model: object = None
    example: object = None
    session: object = None          # engine.compute.live.LiveSession when live options are active


def scene_from_graph(graph: LayerGraph, spec: SceneSpec | None = None) -> Scene:
    """Layout + scene of a recorded graph, with the spec's look, layout and camera options."""
    spec = spec or SceneSpec(model=graph.model_name)
    scene = build_scene(graph, look_of(spec), layout_graph(graph, layout_of(spec)))
    scene.camera = camera_of(spec, scene.camera)
    if spec.title:
        scene.title = spec.title
    return scene


def input_spec_of(spec: SceneSpec) -> str | None:
    """The scene file's [input] table as an input spec string (see engine/compute/inputs.py)."""
    i = spec.input
    kind = i.get("kind")
    if i.get("path"):
        return str(i["path"])
    if kind == "text" or i.get("text"):
        return "text:" + i.get("text", "")
    return kind


def load(spec: SceneSpec, live: LiveOptions | None = None, *, ring: int = 1) -> Loaded:
    """Record the spec's model, build its scene and, with live options, its probe session (whose
    first frame is already in the scene's slabs)."""
    live = live or LiveOptions()
    if live.input is None:
        live.input = input_spec_of(spec)
    model, example, name, graph = _load_and_record(spec, capture=not live.active)
    scene = scene_from_graph(graph, spec)
    loaded = Loaded(spec, graph, scene, model, example)
    if live.active:
        from engine.compute.inputs import open_input
        from engine.compute.live import LiveSession
        source = open_input(live.input, example=example, family=graph.family, model_spec=spec.model,
                            seed=spec.seed, model=model)
        loaded.session = LiveSession(model, graph, scene, source, live=live.live, norm=live.norm,
                                     log=live.log, pulse=live.pulse, ring=ring)
        frame = loaded.session.first_frame()
        if frame.error:
            from engine.model.errors import ModelError
            raise ModelError(f"model {name!r} failed on input {live.input!r}: {frame.error}")
    return loaded


def _load_and_record(spec: SceneSpec, *, capture: bool):
    """(model, example inputs, name, LayerGraph): the spec's model recorded once on its example."""
    from engine.model.recorder import record
    from engine.model.registry import load_model

    model, example, name, _family = load_model(spec.model, weights=spec.weights, input_shape=spec.input_shape,
                                               input_dtype=spec.input_dtype)
    return model, example, name, record(model, example, capture=capture, name=name)


def record_spec(spec: SceneSpec, *, capture: bool = True) -> LayerGraph:
    """Load the spec's model and record it once on its example input."""
    return _load_and_record(spec, capture=capture)[3]


def build(spec: SceneSpec, live: LiveOptions | None = None) -> tuple[LayerGraph, Scene]:
    """Record the spec's model and build its scene (values from the input when one is given)."""
    loaded = load(spec, live)
    return loaded.graph, loaded.scene
