"""PointCloud: points in the world with a colour each -- a layer's representations of a whole dataset,
reduced to 3D, standing beside that layer (engine/compute/embed.py). Added by an analysis, not built
from the graph."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.scene.registry import register_node


@dataclass
class PointCloud:
    positions: np.ndarray                      # (N, 3) float32 world positions
    colors: np.ndarray                         # (N, 3) float32 in [0, 1]
    layer_id: int = -1                         # the layer whose representations these are
    name: str = ""
    size: float = 0.03                         # world diameter of a point
    items: list[str] = field(default_factory=list, repr=False)   # what each point is (picking)

    @property
    def count(self) -> int:
        return int(len(self.positions))


def cloud_bounds(c: PointCloud) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(c.positions, np.float64).reshape(-1, 3)
    return (p.min(axis=0), p.max(axis=0)) if len(p) else (np.zeros(3), np.zeros(3))


register_node(PointCloud, "clouds", bounds=cloud_bounds)
