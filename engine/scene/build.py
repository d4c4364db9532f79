"""LayerGraph + Layout -> Scene: every registered node type's builder in turn (slabs, edges,
labels ...) and a starting camera."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.layout.placement import Layout, layout_graph
from engine.model.graph import Layer, LayerGraph
from engine.scene.camera import Camera
from engine.scene.look import Look
from engine.scene.nodes import Scene, Slab
from engine.scene.registry import node_types

__all__ = ["BuildContext", "Look", "build_scene", "default_camera"]


@dataclass
class BuildContext:
    """What a node type's builder reads: the graph, its layout, the look, layers by id, and the
    scene built so far (earlier node types' nodes are in it)."""

    graph: LayerGraph
    layout: Layout
    look: Look
    layers: dict[int, Layer]
    scene: Scene


def default_camera(slabs: list[Slab]) -> Camera:
    """Three-quarter view from beside and above, framing the first stretch of the network
    (all of it when it is short) so the data flow reads from front-left to back-right."""
    lo = np.min([s.bbox[0] for s in slabs], axis=0)
    hi = np.max([s.bbox[1] for s in slabs], axis=0)
    length = hi[2] - lo[2]
    width = max(hi[0] - lo[0], hi[1] - lo[1], 1.0)
    shown = min(length, 5 * width)
    target = np.array([0.0, 0.0, hi[2] - 0.4 * shown])
    dist = 0.6 * max(shown, 1.5 * width)
    pos = target + dist * np.array([0.66, 0.36, 0.64])
    return Camera(position=pos).look_at(target)


def build_scene(graph: LayerGraph, look: Look | None = None, layout: Layout | None = None) -> Scene:
    """Scene of ``graph``: the nodes of every registered node type with a builder, a camera."""
    look = look or Look()
    layout = layout or layout_graph(graph)
    scene = Scene(title=graph.model_name, colormap=look.colormap, diverging=look.diverging,
                  background=tuple(look.background), show_edges=look.show_edges, show_labels=look.show_labels,
                  lod_px=look.lod_px)
    ctx = BuildContext(graph, layout, look, {l.id: l for l in graph.layers}, scene)
    for t in node_types():
        if t.build is not None:
            scene.groups[t.group] = list(t.build(ctx))
    scene.camera = default_camera(scene.slabs)
    return scene
