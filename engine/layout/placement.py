"""LayerGraph -> deterministic 3D placement: data flows along -z, one rank (longest path from the
inputs) per plane; layers of the same rank (parallel branches) stand side by side along x; every
slab faces +z with sizes proportional to the real tensor shapes."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from engine.layout.mosaic import Mosaic, mosaic_for, time_mosaic
from engine.model.graph import LayerGraph


@dataclass
class Placement:
    layer_id: int
    mosaic: Mosaic
    origin: np.ndarray     # world position of texel (0, 0)'s outer corner (top-left)
    u: np.ndarray          # world step per column
    v: np.ndarray          # world step per row (points down: row 0 on top, images upright)
    rank: int

    @property
    def center(self) -> np.ndarray:
        return self.origin + 0.5 * (self.u * self.mosaic.cols + self.v * self.mosaic.rows)

    @property
    def width(self) -> float:
        return float(np.linalg.norm(self.u) * self.mosaic.cols)

    @property
    def height(self) -> float:
        return float(np.linalg.norm(self.v) * self.mosaic.rows)

    def neuron_position(self, index: int | np.ndarray) -> np.ndarray:
        """World centre of flattened neuron ``index`` (or an array of them: (N, 3))."""
        col, row = self.mosaic.texel(index)
        col, row = np.asarray(col, dtype=np.float64), np.asarray(row, dtype=np.float64)
        return self.origin + np.multiply.outer(col + 0.5, self.u) + np.multiply.outer(row + 0.5, self.v)

    def tile_position(self, t: int | np.ndarray) -> np.ndarray:
        """World centre of feature-map tile (channel) ``t``."""
        t = np.asarray(t)
        tr, tc = np.divmod(t, self.mosaic.tiles_c)
        cx = (tc + 0.5) * self.mosaic.tw
        cy = (tr + 0.5) * self.mosaic.th
        return self.origin + np.multiply.outer(cx, self.u) + np.multiply.outer(cy, self.v)


@dataclass
class LayoutOptions:
    """How layers are placed (the [layout] table of a scene file; keyword arguments of layout_graph)."""

    hide: tuple[str, ...] = ("dropout",)        # layer kinds left out (edges route through them)
    texel: float | None = field(default=None, metadata={"above": 0})    # world size of one neuron
    max_extent: float = field(default=24.0, metadata={"above": 0})      # the largest slab's span when texel is None
    gap: float = field(default=1.5, metadata={"min": 0})                # between ranks along -z
    spread: float = field(default=0.08, metadata={"min": 0})            # extra gap per unit of the ranks' extent
    max_aspect: float = field(default=4.0, metadata={"above": 0})       # widest width:height of a slab
    model_view: bool = False     # attention maps as a floor grid under the network: a row of heads per layer


@dataclass
class Layout:
    placements: dict[int, Placement]
    edges: list[tuple[int, int, str]]            # display edges (src, dst, kind) after hiding
    texel: float
    hidden: set[int] = field(default_factory=set)

    def ranks(self) -> int:
        return 1 + max((p.rank for p in self.placements.values()), default=0)


def display_edges(graph: LayerGraph, hidden: set[int]) -> list[tuple[int, int, str]]:
    """Edges between shown layers; a hidden layer's inputs connect straight to its consumers."""
    ins: dict[int, list[tuple[int, str]]] = {l.id: [] for l in graph.layers}
    for e in graph.edges:
        ins[e.dst].append((e.src, e.kind))
    resolved: dict[int, list[tuple[int, str]]] = {}
    out: list[tuple[int, int, str]] = []
    seen = set()
    for l in graph.layers:  # execution order is a topological order
        srcs: list[tuple[int, str]] = []
        for s, kind in ins[l.id]:
            srcs.extend((s2, kind if k2 == "data" else k2) for s2, k2 in resolved[s]) if s in hidden \
                else srcs.append((s, kind))
        resolved[l.id] = srcs
        if l.id not in hidden:
            for s, kind in srcs:
                if (s, l.id) not in seen:
                    seen.add((s, l.id))
                    out.append((s, l.id, kind))
    return out


def layout_graph(graph: LayerGraph, options: LayoutOptions | None = None, **overrides) -> Layout:
    """Place every shown layer with ``options`` (LayoutOptions; keyword arguments override its
    fields): data along -z, wide token planes get taller rows up to ``max_aspect``."""
    o = replace(options or LayoutOptions(), **overrides)
    hide, texel, max_extent, gap, spread, max_aspect = o.hide, o.texel, o.max_extent, o.gap, o.spread, o.max_aspect
    hidden = {l.id for l in graph.layers if l.kind in hide}
    shown = [l for l in graph.layers if l.id not in hidden]
    if not shown:
        shown, hidden = list(graph.layers), set()
    edges = display_edges(graph, hidden)
    mosaics = {l.id: layer_mosaic(l) for l in shown}
    unrolled = {l.id for l in shown if mosaics[l.id].ntiles > 1 and l.op == "rnn_state"}
    if texel is None:
        biggest = max(max(m.rows, m.cols) for m in mosaics.values())
        texel = min(0.05, max_extent / biggest)
    preds: dict[int, list[int]] = {l.id: [] for l in shown}
    for s, d, _ in edges:
        preds[d].append(s)
    rank: dict[int, int] = {}
    for l in shown:
        rank[l.id] = 1 + max((rank[p] for p in preds[l.id]), default=-1)
    by_rank: dict[int, list[int]] = {}
    for l in shown:
        by_rank.setdefault(rank[l.id], []).append(l.id)

    placements: dict[int, Placement] = {}
    z = 0.0
    prev_extent = 0.0
    for r in sorted(by_rank):
        ids = by_rank[r]
        widths = [mosaics[i].cols * texel for i in ids]
        # token planes (T x D with D >> T) get taller rows, at most max_aspect : 1, so they read as planes
        # (a recurrent state's planes per time step stay square)
        row_h = {i: texel * (1.0 if i in unrolled else max(1.0, mosaics[i].cols / (max_aspect * mosaics[i].rows)))
                 for i in ids}
        heights = [mosaics[i].rows * row_h[i] for i in ids]
        extent = max(max(widths), max(heights))
        if r > 0:
            z -= gap + spread * max(extent, prev_extent)
        side_gap = max(0.5, 0.1 * extent)
        x = -(sum(widths) + side_gap * (len(ids) - 1)) / 2
        for i, w, h in zip(ids, widths, heights):
            placements[i] = Placement(i, mosaics[i], np.array([x, h / 2, z]), np.array([texel, 0.0, 0.0]),
                                      np.array([0.0, -row_h[i], 0.0]), r)
            x += w + side_gap
        prev_extent = extent
    if o.model_view:
        _model_view(graph, placements, texel, gap, 2 * max_extent)
    return Layout(placements, edges, texel, hidden)


def layer_mosaic(layer) -> Mosaic:
    """A layer's mosaic: its output shape's, except a recurrent state (batch x steps x width), which
    is unrolled in time as one plane per step."""
    if layer.op == "rnn_state" and len(layer.shape) == 3:
        return time_mosaic(int(layer.shape[1]), int(layer.shape[2]))
    return mosaic_for(layer.shape[1:] if len(layer.shape) > 1 else layer.shape)


def _is_map(shape: tuple[int, ...]) -> bool:
    """An attention map: batch x heads x queries x keys, queries == keys."""
    return len(shape) == 4 and shape[2] == shape[3] and shape[1] >= 1


def _model_view(graph: LayerGraph, placements: dict[int, Placement], texel: float, gap: float,
                width: float) -> None:
    """BertViz's model view in 3D: every attention map leaves the network for a floor below it, laid
    flat as one row of its heads (keys along x, queries along -z, facing up), at its layer's depth, so
    the floor is a layers x heads grid to fly over, each layer under the part of the network it
    belongs to. Maps are as large as the room between layers (depth) and ``width`` allow."""
    shapes = {l.id: tuple(int(v) for v in l.shape) for l in graph.layers}
    maps = sorted((i for i in placements if _is_map(shapes[i])), key=lambda i: -placements[i].origin[2])
    if not maps:
        return
    lowest = min(float(p.origin[1] - p.height) for p in placements.values())
    floor = lowest - 4 * gap
    zs = [float(placements[i].origin[2]) for i in maps]
    spacing = min((a - b for a, b in zip(zs, zs[1:])), default=np.inf)
    for i in maps:
        _, heads, n, _ = shapes[i]
        t = min(0.85 * spacing / n, width / (heads * n)) if np.isfinite(spacing) else width / (heads * n)
        t = max(t, min(texel, 0.85 * spacing / n))
        m = Mosaic(heads * n * n, heads, n, n, 1, heads)
        p = placements[i]
        span = m.cols * t
        placements[i] = Placement(i, m, np.array([-span / 2, floor, float(p.origin[2])]),
                                  np.array([t, 0.0, 0.0]), np.array([0.0, 0.0, -t]), p.rank)
