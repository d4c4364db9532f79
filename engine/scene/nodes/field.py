"""DecisionField: a classifier's probabilities over a grid of its 2D or 3D input space, placed in
a world box, with the data points -- drawn as a height field (2D) or raymarched isosurface shells
(3D) by engine/render/passes/field.py. Plain data: the field comes from engine.compute.field."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.scene.registry import register_node


@dataclass(eq=False)                   # compared by identity: its fields are arrays
class DecisionField:
    """Data coordinates [-1, 1] map onto the box ``center`` +- ``half``: 3D x, y, z -> world x, y,
    z; 2D x -> world x, y -> world -z, probability -> world y (a height field of ``height`` world
    units; 0: a plane). ``set_field`` / ``set_points`` bump versions the pass uploads on."""

    dims: int
    center: np.ndarray = field(default_factory=lambda: np.zeros(3))
    half: float = 2.0
    height: float = 1.5
    steps: int | None = None          # raymarch samples per ray (None: by GL, fewer on llvmpipe)
    volume_scale: float | None = None  # 3D: shells marched at this share of each side (None: 0.5 on software GL)
    point_px: float = 7.0
    show_points: bool = True
    show_box: bool = True
    classes: int = 2
    interest: int = 1                 # class whose probability the field shows
    data: np.ndarray | None = None    # (res,)*dims [+ (2,)] float16/32: p, [argmax class]
    points: np.ndarray | None = None  # (N, 5) float32: world xyz, class, test flag
    field_version: int = 0
    points_version: int = 0

    def __post_init__(self) -> None:
        if self.dims not in (2, 3):
            raise ValueError(f"a decision field is 2D or 3D, got {self.dims}D: use a classifier with 2 or 3 inputs")
        self.center = np.asarray(self.center, np.float64)
        self.half = float(self.half)
        if self.volume_scale is not None and not (np.isfinite(self.volume_scale) and 0.05 <= self.volume_scale <= 1):
            raise ValueError(f"volume_scale {self.volume_scale} is outside 0.05..1: e.g. 0.5 marches a quarter of "
                             f"the pixels")

    @property
    def box_min(self) -> np.ndarray:
        return self.center - self.half

    @property
    def box_size(self) -> np.ndarray:
        return np.full(3, 2.0 * self.half)

    @property
    def res(self) -> int:
        return 0 if self.data is None else int(self.data.shape[0])

    def to_world(self, x: np.ndarray, height01: np.ndarray | None = None) -> np.ndarray:
        """World positions of data points (N, dims) in [-1, 1]; 2D points at height ``height01``
        (p in [0, 1], default 0.5: the plane through the middle)."""
        x = np.asarray(x, np.float64)
        c, h = self.center, self.half
        if self.dims == 3:
            return c + h * x
        p = np.full(len(x), 0.5) if height01 is None else np.asarray(height01, np.float64)
        return np.c_[c[0] + h * x[:, 0], c[1] + (p - 0.5) * self.height, c[2] - h * x[:, 1]]

    def to_data(self, world: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`to_world` (2D: the height is dropped)."""
        w = (np.asarray(world, np.float64) - self.center) / self.half
        return w if self.dims == 3 else np.array([w[0], -w[2]])

    def set_field(self, f) -> None:
        """Show an engine.compute.field.Field (its dims must match)."""
        if f.dims != self.dims:
            raise ValueError(f"a {f.dims}D field for a {self.dims}D decision field: make a new DecisionField")
        self.data = f.data
        self.classes, self.interest = int(f.classes), int(f.interest)
        self.field_version += 1

    def set_points(self, x: np.ndarray, y: np.ndarray, test: np.ndarray | None = None,
                   height01: np.ndarray | None = None) -> None:
        """Data points (N, dims) with class ids; ``test`` marks test points (drawn as rings); 2D
        points sit at ``height01`` (default: their class of interest membership, 1 or 0)."""
        y = np.asarray(y)
        if self.dims == 2 and height01 is None:
            height01 = (y == self.interest).astype(np.float64)
        pts = np.zeros((len(y), 5), np.float32)
        pts[:, :3] = self.to_world(x, height01)
        pts[:, 3] = y
        pts[:, 4] = 0.0 if test is None else np.asarray(test, np.float32)
        self.points = pts
        self.points_version += 1


register_node(DecisionField, "fields", bounds=lambda f: (f.box_min, f.box_min + f.box_size))
