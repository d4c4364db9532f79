"""Picking: a ray against every node type that has a pick rule (plain data: testable without GL)."""
from __future__ import annotations

import numpy as np

from engine.scene.nodes import Pick, Scene, Slab
from engine.scene.registry import node_types

__all__ = ["Pick", "framing_position", "pick"]


def pick(scene: Scene, origin: np.ndarray, direction: np.ndarray):
    """The nearest hit of the ray among the scene's pickable nodes (a slab hit is a Pick), or None."""
    best = None
    for t in node_types():
        nodes = scene.groups.get(t.group)
        if t.pick is None or not nodes:
            continue
        hit = t.pick(nodes, origin, direction)
        if hit is not None and (best is None or hit.distance < best.distance):
            best = hit
    return best


def framing_position(slab: Slab, fov_deg: float, aspect: float, from_point: np.ndarray | None = None,
                     margin: float = 1.15) -> np.ndarray:
    """Camera position in front of a slab, on the side of ``from_point``, that fits it in view."""
    half_h = slab.rows * np.linalg.norm(slab.v) / 2
    half_w = slab.cols * np.linalg.norm(slab.u) / 2
    t = np.tan(np.radians(fov_deg) / 2)
    dist = margin * max(half_h / t, half_w / (t * aspect), 0.2)
    n = slab.normal
    side = 1.0 if from_point is None or np.dot(np.asarray(from_point) - slab.center, n) >= 0 else -1.0
    return slab.center + side * n * dist
