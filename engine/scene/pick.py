"""Picking by ray casting the slabs' rectangles (plain data: testable without GL)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.scene.nodes import Scene, Slab


@dataclass
class Pick:
    slab: Slab
    distance: float
    point: np.ndarray
    col: int | None = None     # texel under the ray, None on padding
    row: int | None = None

    @property
    def index(self) -> int | None:
        return None if self.col is None else self.slab.index(self.col, self.row)

    @property
    def value(self) -> float | None:
        if self.col is None:
            return None
        return self.slab.value(self.col, self.row)

    def describe(self) -> str:
        s = self.slab
        text = s.label
        if self.index is not None:
            v = self.value
            text += f"  neuron {self.index} (col {self.col}, row {self.row})"
            if v is not None:
                text += f" = {v:.4g}"
        return text


def pick(scene: Scene, origin: np.ndarray, direction: np.ndarray) -> Pick | None:
    """Nearest slab hit by the ray, with the neuron (texel) under it."""
    best: Pick | None = None
    for s in scene.slabs:
        n = s.normal
        denom = float(np.dot(direction, n))
        if abs(denom) < 1e-9:
            continue
        t = float(np.dot(s.origin - origin, n) / denom)
        if t <= 0 or (best is not None and t >= best.distance):
            continue
        p = origin + t * direction
        d = p - s.origin
        a = np.dot(d, s.u) / np.dot(s.u, s.u)
        b = np.dot(d, s.v) / np.dot(s.v, s.v)
        if 0 <= a < s.cols and 0 <= b < s.rows:
            tex = s.texel_at(p)
            best = Pick(s, t, p, *(tex if tex else (None, None)))
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
