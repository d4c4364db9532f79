"""PointCloud: points in the world with a colour each -- a layer's representations of a whole dataset,
reduced to 3D, standing beside that layer (engine/compute/embed.py). Added by an analysis, not built
from the graph."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.scene.cloud_lod import PX_LIMIT
from engine.scene.registry import register_node


@dataclass
class PointCloud:
    positions: np.ndarray                      # (N, 3) float32 world positions
    colors: np.ndarray                         # (N, 3) float32 in [0, 1]
    layer_id: int = -1                         # the layer whose representations these are
    name: str = ""
    size: float = 0.03                         # world diameter of a point
    items: list[str] = field(default_factory=list, repr=False)   # what each point is (picking)
    lod_px: float = PX_LIMIT                   # far chunks drawn as voxels of at most this many pixels; 0: never

    def __post_init__(self) -> None:
        n = len(self.positions)
        if np.shape(self.positions) != (n, 3) or np.shape(self.colors) != (n, 3):
            raise ValueError(f"a point cloud needs (N, 3) positions and colours, got {np.shape(self.positions)} "
                             f"and {np.shape(self.colors)}")
        if not np.isfinite(self.positions).all():
            raise ValueError("a point cloud's positions must be finite (drop or fix the NaN/Inf rows)")
        if not (np.isfinite(self.size) and self.size > 0):
            raise ValueError(f"a point cloud's size must be a finite number > 0, got {self.size}")
        if not (np.isfinite(self.lod_px) and self.lod_px >= 0):
            raise ValueError(f"a point cloud's lod_px must be a finite number >= 0 (0: no level of detail), "
                             f"got {self.lod_px}")

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


def beside_box(slab, bbox: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, float]:
    """Centre and side of the cube that stands to the right of ``slab`` for what is computed about it (an
    embedding, an atlas): at least a quarter of the scene's diagonal."""
    lo, hi = bbox
    side = max(slab.rows * float(np.linalg.norm(slab.v)), slab.cols * float(np.linalg.norm(slab.u)),
               0.25 * float(np.linalg.norm(np.asarray(hi) - np.asarray(lo))), 1.0)
    centre = slab.center + np.array([slab.cols * float(np.linalg.norm(slab.u)) / 2 + 0.75 * side, 0.0, 0.0])
    return centre, side


def beside(slab, bbox: tuple[np.ndarray, np.ndarray], points: np.ndarray) -> tuple[np.ndarray, float]:
    """World positions and point size for ``points`` (N, 3) in [-1, 1] in the cube beside ``slab``
    (beside_box), points smaller the more there are."""
    centre, side = beside_box(slab, bbox)
    pos = centre + np.asarray(points, np.float64).reshape(-1, 3) * (side / 2)
    return pos.astype(np.float32), float(0.6 * side / max(20.0, np.cbrt(len(pos)) * 4))


def cloud_bounds(c: PointCloud) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(c.positions, np.float64).reshape(-1, 3)
    return (p.min(axis=0), p.max(axis=0)) if len(p) else (np.zeros(3), np.zeros(3))


register_node(PointCloud, "clouds", bounds=cloud_bounds, pick=pick_clouds)
