"""One place that runs the data flow of DESIGN.md: spec -> model -> LayerGraph -> layout -> Scene."""
from __future__ import annotations

import numpy as np

from engine.layout.placement import layout_graph
from engine.model.graph import LayerGraph
from engine.scene.build import Look, build_scene
from engine.scene.camera import Camera
from engine.scene.file import SceneSpec
from engine.scene.nodes import Scene


def record_spec(spec: SceneSpec, *, capture: bool = True) -> LayerGraph:
    """Load the spec's model and record it once on its example input."""
    from engine.model.recorder import record
    from engine.model.registry import load_model

    model, inputs, name, _family = load_model(spec.model, weights=spec.weights, input_shape=spec.input_shape,
                                              input_dtype=spec.input_dtype)
    return record(model, inputs, capture=capture, name=name)


def look_of(spec: SceneSpec) -> Look:
    look = Look(**{k: v for k, v in spec.look.items()})
    if "background" in spec.look:
        look.background = tuple(float(x) for x in spec.look["background"])
    if "hide" in spec.layout:
        look.hide = tuple(spec.layout["hide"])
    if "texel" in spec.layout:
        look.texel = float(spec.layout["texel"])
    return look


def camera_of(spec: SceneSpec, default: Camera) -> Camera:
    c = spec.camera
    if not c:
        return default
    cam = Camera(position=np.array(c.get("position", default.position), dtype=np.float64),
                 yaw=default.yaw, pitch=default.pitch, fov=float(c.get("fov", default.fov)))
    if "look_at" in c:
        cam.look_at(c["look_at"])
    return cam


def scene_from_graph(graph: LayerGraph, spec: SceneSpec | None = None) -> Scene:
    spec = spec or SceneSpec(model=graph.model_name)
    look = look_of(spec)
    lay = layout_graph(graph, hide=look.hide, texel=look.texel,
                       **{k: float(spec.layout[k]) for k in ("max_extent", "gap") if k in spec.layout})
    scene = build_scene(graph, look, lay)
    scene.camera = camera_of(spec, scene.camera)
    if spec.title:
        scene.title = spec.title
    return scene


def build(spec: SceneSpec) -> tuple[LayerGraph, Scene]:
    """Record the spec's model and build its scene."""
    graph = record_spec(spec)
    return graph, scene_from_graph(graph, spec)
