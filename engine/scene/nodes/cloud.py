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


@dataclass
class CloudPick:
    """A ray's hit on a point of a cloud: which item it is."""

    cloud: PointCloud
    index: int
    distance: float
    point: np.ndarray
    slab = None                                # (not a slab: the viewer's slab actions skip it)

    def describe(self) -> str:
        item = self.cloud.items[self.index] if self.index < len(self.cloud.items) else f"#{self.index}"
        return f"{self.cloud.name}: {item}"


def pick_clouds(clouds: list[PointCloud], origin: np.ndarray, direction: np.ndarray) -> CloudPick | None:
    """The point nearest the camera among those within a point's size of the ray."""
    o = np.asarray(origin, np.float64)
    d = np.asarray(direction, np.float64)
    d = d / (np.linalg.norm(d) or 1.0)
    best = None
    for c in clouds:
        p = np.asarray(c.positions, np.float64) - o
        along = p @ d
        off = np.linalg.norm(p - np.outer(along, d), axis=1)
        ok = np.flatnonzero((along > 0) & (off <= 1.5 * c.size))
        if ok.size:
            k = int(ok[np.argmin(along[ok])])
            if best is None or along[k] < best.distance:
                best = CloudPick(c, k, float(along[k]), np.asarray(c.positions[k], np.float64))
    return best


def cloud_bounds(c: PointCloud) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(c.positions, np.float64).reshape(-1, 3)
    return (p.min(axis=0), p.max(axis=0)) if len(p) else (np.zeros(3), np.zeros(3))


register_node(PointCloud, "clouds", bounds=cloud_bounds, pick=pick_clouds)
