"""Slab: a layer's neurons as a 2D mosaic of texels placed in 3D -- built one per shown layer,
picked by casting a ray onto its rectangle, drawn far as a textured quad or near as a point per
neuron (level of detail: engine.scene.cull.SlabArrays), and what gives the scene its extent."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.layout.mosaic import Mosaic
from engine.layout.placement import Placement
from engine.model.graph import Layer
from engine.scene.cull import SlabArrays
from engine.scene.registry import register_node


@dataclass
class Slab:
    """A layer's neurons as a 2D mosaic of texels (one texel per neuron) placed in 3D.

    Texel (col, row) sits at ``origin + (col + 0.5) * u + (row + 0.5) * v``. Feature maps are
    tiles of ``tile = (h, w)`` texels inside the mosaic; dense layers are one tile.
    ``values`` holds the ``count`` neurons flat in tensor order (batch item 0), as the renderer
    stores them; :attr:`mosaic` maps texels to tensor indices (engine/layout/mosaic.py); texels
    whose index is ``>= count`` are padding and are not drawn.
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
    scale: float = 1.0            # maps values into [-1, 1] for the colormap (see make_slab)
    label: str = ""
    rank: int = 0                 # position along the data flow (longest path from the inputs)
    masks: bool = False           # -inf values are masked entries (scores before a softmax), not errors
    per_tile: int = 0             # neurons per tile when fewer than its texels (Mosaic.per_tile)
    shape: tuple[int, ...] = ()   # the layer's tensor shape, batch excluded (positions in its own terms)

    def position(self, index: int) -> str:
        """Where neuron ``index`` is in the tensor's own terms: channel, y, x of a feature map; head,
        query, key of an attention map; token, feature of a token plane; step, unit of a state."""
        shape = tuple(int(d) for d in self.shape)
        if not shape or int(np.prod(shape)) != self.count:
            return f"#{index}"
        at = [int(i) for i in np.unravel_index(int(index), shape)]
        names = {3: ("head", "query", "key") if self.kind == "attention" else ("channel", "y", "x"),
                 2: ("step", "unit") if self.kind == "rnn_state" else ("token", "feature"),
                 1: ("unit",)}.get(len(shape))
        if names is None or (len(shape) == 2 and shape[0] == 1):
            return f"[{', '.join(map(str, at))}]" if len(shape) != 2 else f"unit {at[1]}"
        return ", ".join(f"{n} {i}" for n, i in zip(names, at))

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

    @property
    def mosaic(self) -> Mosaic:
        """The engine.layout.mosaic.Mosaic this slab's texels follow."""
        th, tw = self.tile if self.tile else (self.rows, self.cols)
        th, tw = max(1, int(th)), max(1, int(tw))
        per = int(self.per_tile) or th * tw
        return Mosaic(int(self.count), -(-int(self.count) // per), th, tw, self.rows // th, self.cols // tw,
                      int(self.per_tile))

    def texel_at(self, point: np.ndarray) -> tuple[int, int] | None:
        """(col, row) of the texel under a world point on the slab plane, or None outside."""
        d = np.asarray(point, dtype=np.float64) - self.origin
        uu, vv = np.dot(self.u, self.u), np.dot(self.v, self.v)
        col, row = int(np.floor(np.dot(d, self.u) / uu)), int(np.floor(np.dot(d, self.v) / vv))
        if 0 <= col < self.cols and 0 <= row < self.rows and self.index(col, row) < self.count:
            return col, row
        return None

    def value(self, col: int, row: int) -> float | None:
        """Value of the neuron at texel (col, row), None on padding or without values."""
        i = self.index(col, row)
        if self.values is None or i >= self.count:
            return None
        return float(np.asarray(self.values).reshape(-1)[i])

    def index(self, col: int, row: int) -> int:
        """Tensor index (flattened, batch excluded) of texel (col, row); >= count on padding."""
        return self.mosaic.index(col, row)

    def outline(self, indices: np.ndarray) -> np.ndarray:
        """(8 * boxes, 3) line-segment endpoints around the given neurons: one box per mosaic tile
        they fall in (a token's row in a token plane, a query's row in each head's map)."""
        idx = np.asarray(indices, np.int64).reshape(-1)
        idx = idx[(idx >= 0) & (idx < self.count)]
        if idx.size == 0:
            return np.zeros((0, 3), np.float64)
        m = self.mosaic
        cols, rows = m.texel(idx)
        tile = (rows // m.th) * m.tiles_c + cols // m.tw
        order = np.argsort(tile, kind="stable")
        tile, cols, rows = tile[order], cols[order], rows[order]
        starts = np.flatnonzero(np.r_[True, tile[1:] != tile[:-1]])
        c0, c1 = np.minimum.reduceat(cols, starts), np.maximum.reduceat(cols, starts) + 1
        r0, r1 = np.minimum.reduceat(rows, starts), np.maximum.reduceat(rows, starts) + 1
        corner = [(c0, r0), (c1, r0), (c1, r1), (c0, r1)]
        pts = [self.origin + c[:, None] * self.u + r[:, None] * self.v for c, r in corner]   # 4 x (B, 3)
        seg = np.stack([pts[0], pts[1], pts[1], pts[2], pts[2], pts[3], pts[3], pts[0]], axis=1)
        return seg.reshape(-1, 3)


def color_scale(values: np.ndarray | None) -> tuple[bool, float]:
    """(signed, scale) of a recorded layer: scale maps the 99.5th percentile of |value| to the end
    of the colormap, so one outlier does not wash the whole layer into the colormap's centre."""
    if values is None:
        return False, 1.0
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return False, 1.0
    a = np.abs(finite)
    m = float(np.percentile(a, 99.5)) if a.size > 200 else float(a.max())
    m = m if m > 0 else float(a.max())
    return bool(finite.min() < 0), (1.0 / m if m > 0 else 1.0)


def make_slab(layer: Layer, p: Placement) -> Slab:
    m = p.mosaic
    values = np.asarray(layer.values, np.float32).reshape(-1)[: m.count] if layer.values is not None else None
    signed, scale = color_scale(layer.values)
    shape = "x".join(str(s) for s in layer.shape[1:]) or "1"
    return Slab(layer.id, layer.name, layer.kind, m.rows, m.cols, m.count, (m.th, m.tw),
                p.origin.astype(np.float64), p.u, p.v, values, signed, scale,
                label=f"{layer.name}  {layer.kind} {shape}", rank=p.rank,
                masks=bool(layer.attrs.get("neg_inf_is_mask")), per_tile=m.per_tile,
                shape=tuple(int(d) for d in layer.shape[1:]))


def build_slabs(ctx) -> list[Slab]:
    """One slab per placed layer, in placement order."""
    return [make_slab(ctx.layers[i], p) for i, p in ctx.layout.placements.items()]


@dataclass
class Pick:
    """A ray's hit on a slab, with the neuron (texel) under it."""

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

    def describe(self, value: float | None = None) -> str:
        """The layer, the neuron's position in the tensor's own terms and one value: ``value`` (the
        live one, when the caller knows it) or the slab's."""
        s = self.slab
        text = s.label
        if self.index is not None:
            v = self.value if value is None else value
            text += f"  {s.position(self.index)}"
            if v is not None:
                text += f" = {v:+.4g}"
        return text


def pick_slabs(slabs: list[Slab], origin: np.ndarray, direction: np.ndarray) -> Pick | None:
    """Nearest slab hit by the ray, with the neuron (texel) under it."""
    best: Pick | None = None
    for s in slabs:
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


register_node(Slab, "slabs", build=build_slabs, pick=pick_slabs, bounds=lambda s: s.bbox, frames=True, lod=SlabArrays)
