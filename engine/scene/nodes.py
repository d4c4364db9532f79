"""Scene nodes: geometry + look as numpy data. The renderer builds GL objects from these."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.scene.camera import Camera


@dataclass
class Slab:
    """A layer's neurons as a 2D mosaic of texels (one texel per neuron) placed in 3D.

    Texel (col, row) sits at ``origin + (col + 0.5) * u + (row + 0.5) * v``. Feature maps are
    tiles of ``tile = (h, w)`` texels inside the mosaic; dense layers are one tile.
    ``values`` holds the ``count`` neurons flat in tensor order (batch item 0), as the renderer
    stores them; the shaders find neuron ``index(col, row)`` for each texel. Texel (col, row) is a neuron iff its tensor index
    ``((row // th) * (cols // tw) + col // tw) * th * tw + (row % th) * tw + col % tw < count``;
    other texels are padding and are not drawn.
    """

    layer_id: int
    name: str
    kind: str
    rows: int
    cols: int
    count: int
    tile: tuple[int, int]
    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    values: np.ndarray | None = None
    signed: bool = False          # diverging colormap around 0 when True
    scale: float = 1.0            # 1 / (max |value|): maps values into [-1, 1] for the colormap
    label: str = ""
    rank: int = 0                 # position along the data flow (longest path from the inputs)

    @property
    def normal(self) -> np.ndarray:
        n = np.cross(self.u, self.v)
        return n / (np.linalg.norm(n) or 1.0)

    @property
    def corners(self) -> np.ndarray:
        """4x3 world corners: origin, +cols*u, +cols*u+rows*v, +rows*v."""
        o, U, V = self.origin, self.u * self.cols, self.v * self.rows
        return np.array([o, o + U, o + U + V, o + V], dtype=np.float64)

    @property
    def center(self) -> np.ndarray:
        return self.origin + 0.5 * (self.u * self.cols + self.v * self.rows)

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        c = self.corners
        return c.min(axis=0), c.max(axis=0)

    def texel_at(self, point: np.ndarray) -> tuple[int, int] | None:
        """(col, row) of the texel under a world point on the slab plane, or None outside."""
        d = np.asarray(point, dtype=np.float64) - self.origin
        uu, vv = np.dot(self.u, self.u), np.dot(self.v, self.v)
        col, row = int(np.floor(np.dot(d, self.u) / uu)), int(np.floor(np.dot(d, self.v) / vv))
        if 0 <= col < self.cols and 0 <= row < self.rows and self.index(col, row) < self.count:
            return col, row
        return None

    @property
    def mosaic(self):
        """The engine.layout.mosaic.Mosaic this slab's texels follow."""
        from engine.layout.mosaic import Mosaic
        th, tw = self.tile if self.tile else (self.rows, self.cols)
        th, tw = max(1, int(th)), max(1, int(tw))
        return Mosaic(int(self.count), -(-int(self.count) // (th * tw)), th, tw, self.rows // th, self.cols // tw)

    def value(self, col: int, row: int) -> float | None:
        """Value of the neuron at texel (col, row), None on padding or without values."""
        i = self.index(col, row)
        if self.values is None or i >= self.count:
            return None
        return float(np.asarray(self.values).reshape(-1)[i])

    def index(self, col: int, row: int) -> int:
        """Tensor index (flattened, batch excluded) of texel (col, row); >= count on padding."""
        th, tw = self.tile
        t = (row // th) * (self.cols // tw) + col // tw
        return t * th * tw + (row % th) * tw + col % tw


@dataclass
class EdgeSet:
    """Line segments between layers: ``positions`` is (2N, 3) endpoints, ``weights`` (2N,) in
    [-1, 1] colours each endpoint (signed weight or 1 for plain data flow)."""

    kind: str                      # "flow", "skip", "weights"
    positions: np.ndarray
    weights: np.ndarray
    src: int = -1
    dst: int = -1

    @property
    def count(self) -> int:
        return len(self.positions) // 2


@dataclass
class Label:
    text: str
    position: np.ndarray           # world position of the label's bottom-left
    height: float = 1.0            # world units
    color: tuple[float, float, float, float] = (0.9, 0.9, 0.9, 1.0)
    layer_id: int = -1


@dataclass
class Scene:
    slabs: list[Slab]
    edges: list[EdgeSet] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    camera: Camera = field(default_factory=Camera)
    title: str = ""
    colormap: str = "viridis"      # for non-negative layers
    diverging: str = "icefire"    # for signed layers
    background: tuple[float, float, float] = (0.02, 0.02, 0.04)
    show_edges: bool = True
    show_labels: bool = True
    lod_px: float = 4.0            # texel size on screen above which a slab is drawn as points

    def slab(self, layer_id: int) -> Slab:
        for s in self.slabs:
            if s.layer_id == layer_id:
                return s
        raise KeyError(f"no slab for layer {layer_id}")

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        lo = np.min([s.bbox[0] for s in self.slabs], axis=0)
        hi = np.max([s.bbox[1] for s in self.slabs], axis=0)
        return lo, hi

    @property
    def neuron_count(self) -> int:
        return sum(s.count for s in self.slabs)

    @property
    def edge_count(self) -> int:
        return sum(e.count for e in self.edges)
