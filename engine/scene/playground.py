"""Playground scene: the classifier's network scene placed beside the decision field's box, and a
camera framing both (plain data, no GL)."""
from __future__ import annotations

import numpy as np

from engine.layout.placement import layout_graph
from engine.model.graph import LayerGraph
from engine.scene.build import build_scene
from engine.scene.camera import Camera
from engine.scene.look import Look
from engine.scene.nodes import Scene

NET_TEXEL, NET_GAP, LABEL_HEIGHT = 0.25, 1.0, 0.22


def translate(scene: Scene, offset) -> Scene:
    """Move every slab, edge and label of ``scene`` by ``offset`` (in place; returns it)."""
    off = np.asarray(offset, np.float64)
    for s in scene.slabs:
        s.origin = np.asarray(s.origin, np.float64) + off
    for e in scene.edges:
        e.positions = np.asarray(e.positions, np.float64) + off
    for lb in scene.labels:
        lb.position = np.asarray(lb.position, np.float64) + off
    return scene


def network_scene(graph: LayerGraph, field_center=(0.0, 0.0, 0.0), field_half: float = 2.0,
                  title: str = "playground") -> Scene:
    """The classifier's layers (data flow along -z) standing to the right (+x) of the field box,
    centred on it in z; the camera frames the field and the network together."""
    scene = build_scene(graph, Look(show_labels=True), layout_graph(graph, texel=NET_TEXEL, gap=NET_GAP))
    for lb in scene.labels:
        lb.height = LABEL_HEIGHT
    lo, hi = scene.bbox
    c = np.asarray(field_center, np.float64)
    x_left = c[0] + field_half * 1.6
    offset = np.array([x_left - lo[0], c[1] - (lo[1] + hi[1]) / 2, c[2] - (lo[2] + hi[2]) / 2])
    translate(scene, offset)
    scene.title = title
    scene.camera = framing_camera(*framing_box(scene, c, field_half))
    return scene


def framing_box(scene: Scene, field_center, field_half: float, extra: list | None = None) -> tuple:
    """(lo, hi) corners around the field, the ``extra`` (center, half) boxes, the network and its labels."""
    lo, hi = scene.bbox
    for c, h in [(field_center, field_half)] + list(extra or []):
        c = np.asarray(c, np.float64)
        lo = np.minimum(lo, c - h)
        hi = np.maximum(hi, c + h)
    for lb in scene.labels:          # labels run right of their anchor, about 0.6 of their height a character
        p = np.asarray(lb.position, np.float64)
        lo = np.minimum(lo, p)
        hi = np.maximum(hi, p + np.array([0.6 * lb.height * len(lb.text), lb.height, 0.0]))
    return lo, hi


def framing_camera(lo: np.ndarray, hi: np.ndarray, aspect: float = 16 / 9) -> Camera:
    """A camera above and in front of the box (lo, hi) -- a framing_box -- looking at its middle from
    as near as shows all of it in an ``aspect`` picture."""
    mid = (lo + hi) / 2
    span = float(np.max(hi - lo))
    cam = Camera(position=mid + np.array([0.0, 0.55, 1.0]) * span * 0.95).look_at(mid)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    return cam.framing(corners, aspect)


__all__ = ["network_scene", "translate", "framing_box", "framing_camera"]
