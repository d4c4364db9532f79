"""EdgeSet: line segments between layers -- the data flow (straight), skip connections (arcs)
and the strongest weights of dense and conv layers (neuron to neuron, channel to channel)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.layout.placement import Placement
from engine.model.graph import Layer
from engine.scene.registry import register_node

ARC_SEGMENTS = 24                  # line segments per skip arc
TIME_ARC_SEGMENTS = 4        # segments of an arc between two time steps of a recurrent state
BUS_MIN = 8                  # long edges from one layer beyond which they run as one bus


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


def _arc(a: np.ndarray, b: np.ndarray, lift: float, n: int) -> np.ndarray:
    """Quadratic Bezier from a to b bulging up by ``lift``, as (2n, 3) line-segment endpoints."""
    c = (a + b) / 2 + np.array([0.0, lift, 0.0])
    t = np.linspace(0, 1, n + 1)[:, None]
    pts = (1 - t) ** 2 * a + 2 * (1 - t) * t * c + t ** 2 * b
    return np.repeat(pts, 2, axis=0)[1:-1]


def _skip_arc(p: Placement, q: Placement) -> np.ndarray:
    a, b = p.center, q.center
    lift = max(p.height, q.height) / 2 + 0.5 + 0.05 * abs(a[2] - b[2])
    return _arc(a, b, lift, ARC_SEGMENTS)


def _weight_edges(layer: Layer, dst: Placement, src: Placement, src_layer: Layer, look,
                  budget: int) -> EdgeSet | None:
    """The strongest incoming weights: dense layers neuron to neuron, conv channel tile to tile."""
    if layer.top_in is None or layer.top_w is None:
        return None
    k = min(look.weight_edges_per_neuron, layer.top_in.shape[1])
    idx, w = layer.top_in[:, :k], layer.top_w[:, :k]
    n_out = idx.shape[0]
    per = max(1, min(look.max_edges_per_layer, budget) // k)
    outs = np.argsort(-np.abs(w[:, 0]), kind="stable")[:per]  # neurons with the strongest weights
    outs.sort()
    src_idx, out_rep = idx[outs].reshape(-1), np.repeat(outs, k)
    if layer.kind == "conv":
        if src.mosaic.ntiles < int(src_idx.max(initial=0)) + 1 or dst.mosaic.ntiles < n_out:
            return None
        a, b = src.tile_position(src_idx), dst.tile_position(out_rep)
    else:
        if src_idx.max(initial=0) >= src_layer.neurons or n_out > max(layer.neurons, 1):
            return None
        # dense over the last dim of a token plane: indices fall in the first token's row
        a = src.neuron_position(src_idx)
        b = dst.neuron_position(out_rep)
    ww = w[outs].reshape(-1)
    ww = ww / (np.abs(ww).max() or 1.0)
    pos = np.empty((2 * len(a), 3), np.float32)
    pos[0::2], pos[1::2] = a, b
    return EdgeSet("weights", pos, np.repeat(ww, 2).astype(np.float32), src_layer.id, layer.id)


def time_arcs(p: Placement, steps: int) -> np.ndarray:
    """A recurrent state's edges along time, as (2n, 3) segment endpoints: unrolled (a plane per
    step), an arc over the top from each step's plane to the next; one row per step, an arc from each
    row to the next bulging out of the slab's left edge."""
    m = p.mosaic
    if m.ntiles == steps and steps > 1:
        k = np.arange(steps)
        ends = p.tile_position(k) - (m.th / 2) * p.v              # top centre of each step's plane
        out = -p.v / (np.linalg.norm(p.v) or 1.0)
        bulge = 0.45 * m.th * float(np.linalg.norm(p.v))
    else:
        ends = p.origin + (np.arange(steps)[:, None] + 0.5) * p.v
        out = -p.u / (np.linalg.norm(p.u) or 1.0)
        bulge = 0.6 * float(np.linalg.norm(p.v))
    t = np.linspace(0, 1, TIME_ARC_SEGMENTS + 1)[:, None]
    parts = []
    for a, b in zip(ends[:-1], ends[1:]):
        c = (a + b) / 2 + bulge * out
        pts = (1 - t) ** 2 * a + 2 * (1 - t) * t * c + t ** 2 * b
        parts.append(np.repeat(pts, 2, axis=0)[1:-1])
    return np.concatenate(parts) if parts else np.zeros((0, 3))


def build_edges(ctx) -> list[EdgeSet]:
    """One flow and one skip set for the whole graph (with the recurrent states' arcs along time; a
    layer read by more than BUS_MIN far layers reaches them as one bus, hopping from reader to reader),
    then one weight set per weighted layer (``look.edge_budget`` weight edges shared by the weighted
    layers)."""
    P, layers, look = ctx.layout.placements, ctx.layers, ctx.look
    flow, skip, wts = [], [], []
    n_weighted = sum(1 for _, d, _ in ctx.layout.edges if layers[d].top_in is not None) or 1
    budget = max(look.weight_edges_per_neuron, look.edge_budget // n_weighted)
    far = [(s, d) for s, d, kind in ctx.layout.edges if kind == "skip" or P[d].rank - P[s].rank > 1]
    fans: dict[int, list[int]] = {}
    for s, d in far:
        fans.setdefault(s, []).append(d)
    for s, d, kind in ctx.layout.edges:
        a, b = P[s].center, P[d].center
        if kind == "skip" or P[d].rank - P[s].rank > 1:
            if len(fans[s]) <= BUS_MIN:
                skip.append(_skip_arc(P[s], P[d]))
        else:
            flow.append(np.array([a, b]))
        e = _weight_edges(layers[d], P[d], P[s], layers[s], look, budget) if layers[d].top_in is not None else None
        if e is not None:
            wts.append(e)
    for s, ds in fans.items():     # e.g. rotary position tables read by every attention layer
        if len(ds) > BUS_MIN:
            stops = [s] + sorted(set(ds), key=lambda d: (P[d].rank, d))
            skip.extend(_skip_arc(P[x], P[y]) for x, y in zip(stops, stops[1:]))
    for i, p in P.items():
        l = layers[i]
        if l.op == "rnn_state" and len(l.shape) == 3 and (p.mosaic.ntiles == l.shape[1] or (
                p.mosaic.ntiles == 1 and p.mosaic.rows == l.shape[1])):
            flow.append(time_arcs(p, int(l.shape[1])))
    edges: list[EdgeSet] = []
    for kind, parts in (("flow", flow), ("skip", skip)):
        if parts:
            pos = np.concatenate(parts).astype(np.float32)
            edges.append(EdgeSet(kind, pos, np.ones(len(pos), np.float32)))
    return edges + wts


def edge_bounds(e: EdgeSet) -> tuple[np.ndarray, np.ndarray]:
    pos = np.asarray(e.positions, np.float64).reshape(-1, 3)
    return (pos.min(axis=0), pos.max(axis=0)) if len(pos) else (np.zeros(3), np.zeros(3))


register_node(EdgeSet, "edges", build=build_edges, bounds=edge_bounds)
