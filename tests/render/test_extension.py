"""A new kind of drawable is a node type (GL-free, with its rules) plus a pass registered for it:
nothing else in the engine changes. Shown here with a throwaway "Marker" (a square at a world
point): built from the graph by build_scene, picked by a ray, culled by its bounds, drawn by the
Renderer."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from OpenGL import GL

from engine.model.graph import Edge, Layer, LayerGraph
from engine.render.context import OffscreenContext
from engine.render.passes import Pass, Stage, register_pass, unregister_pass
from engine.render.renderer import Renderer
from engine.render.shared import ImageRect
from engine.scene import Camera, Scene
from engine.scene.build import build_scene
from engine.scene.cull import outside_view
from engine.scene.pick import pick
from engine.scene.registry import register_node, unregister_node

W, H = 160, 120
RED = np.array([250, 20, 20])


@dataclass
class Marker:
    position: np.ndarray
    half_px: int = 6


@dataclass
class MarkerHit:
    marker: Marker
    distance: float


def build_markers(ctx) -> list[Marker]:
    return [Marker(s.center + np.array([0.0, 0.0, 0.1])) for s in ctx.scene.slabs]   # just in front of each layer


def pick_markers(markers, origin, direction):
    best = None
    for m in markers:
        t = float(np.dot(m.position - origin, direction))
        if t > 0 and np.linalg.norm(origin + t * direction - m.position) < 0.05 and (best is None or t < best.distance):
            best = MarkerHit(m, t)
    return best


class MarkerPass(Pass):
    node_type = Marker
    stage = Stage.OVERLAY

    def __init__(self, shared) -> None:
        super().__init__(shared)
        self.image = ImageRect(shared, GL.GL_NEAREST, GL.GL_NEAREST)
        self.image.upload(np.tile(np.array([250, 20, 20, 255], np.uint8), (2, 2, 1)))

    def draw(self, frame, scene) -> None:
        w, h = frame.size
        for m in scene.nodes_of(Marker):
            clip = frame.vp @ np.r_[m.position, 1.0]
            x, y = clip[:2] / clip[3]
            dx, dy = 2.0 * m.half_px / w, 2.0 * m.half_px / h
            self.image.draw((x - dx, y - dy, x + dx, y + dy))

    def release(self) -> None:
        self.image.release()


@pytest.fixture()
def marker_type():
    register_node(Marker, "markers", build=build_markers, pick=pick_markers,
                  bounds=lambda m: (m.position - 0.05, m.position + 0.05))
    register_pass(MarkerPass)
    try:
        yield
    finally:
        unregister_pass(MarkerPass)
        unregister_node(Marker)


def tiny_graph() -> LayerGraph:
    layers = [Layer(0, "input", "input", "input", (1, 16)), Layer(1, "fc", "linear", "Linear", (1, 16))]
    return LayerGraph("tiny", layers, [Edge(0, 1)])


def test_a_new_node_type_is_built_picked_and_drawn(marker_type):
    scene = build_scene(tiny_graph())
    markers = scene.nodes_of(Marker)
    assert len(markers) == 2 and np.allclose(markers[0].position, scene.slabs[0].center + [0, 0, 0.1])
    cam = Camera(position=markers[0].position + np.array([0.0, 0.0, 3.0]))
    hit = pick(scene, cam.position, np.array([0.0, 0.0, -1.0]))
    assert isinstance(hit, MarkerHit) and hit.marker is markers[0]        # nearer than its slab
    ahead = cam.view_projection(W / H)
    behind = Camera(position=cam.position, yaw=90.0).view_projection(W / H)   # looking away along +z
    assert not outside_view(markers, ahead).any() and outside_view(markers, behind).all()
    with OffscreenContext(), Renderer(scene, (W, H), samples=0) as r:
        r.draw(cam)
        img = r.read_pixels().astype(int)
    assert np.abs(img[H // 2, W // 2] - RED).max() <= 8                   # the marker, on top
    assert np.abs(img[H // 2, W // 2 + 20] - RED).max() > 60              # and only there


def test_without_the_registration_the_engine_does_not_know_it():
    with pytest.raises(KeyError, match="not a registered scene node type"):
        Scene([]).nodes_of(Marker)
