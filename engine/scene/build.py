"""LayerGraph + Layout -> Scene: slabs, edge buffers, labels and a starting camera."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.layout.placement import Layout, Placement, layout_graph
from engine.model.graph import Layer, LayerGraph
from engine.scene.camera import Camera
from engine.scene.nodes import EdgeSet, Label, Scene, Slab


@dataclass
class Look:
    """Look options (the [look] table of a scene file)."""

    colormap: str = "viridis"
    diverging: str = "icefire"
    background: tuple[float, float, float] = (0.02, 0.02, 0.04)
    show_edges: bool = True
    show_labels: bool = True
    hide: tuple[str, ...] = ("dropout",)
    max_edges_per_layer: int = 2048
    edge_budget: int = 40000           # weight edges in the whole scene, shared by its weight layers
    weight_edges_per_neuron: int = 4
    lod_px: float = 4.0
    texel: float | None = None
    arc_segments: int = 24
    quiet_kinds: tuple[str, ...] = ("norm", "activation", "dropout", "reshape")   # unlabelled in big models
    label_all_below: int = 40          # layers up to which every slab gets a label
    extra: dict = field(default_factory=dict)


def _norm(values: np.ndarray | None) -> tuple[bool, float]:
    """(signed, scale): scale maps the 99.5th percentile of |value| to the end of the colormap,
    so one outlier does not wash the whole layer into the colormap's centre."""
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
    signed, scale = _norm(layer.values)
    shape = "x".join(str(s) for s in layer.shape[1:]) or "1"
    return Slab(layer.id, layer.name, layer.kind, m.rows, m.cols, m.count, (m.th, m.tw),
                p.origin.astype(np.float64), p.u, p.v, values, signed, scale,
                label=f"{layer.name}  {layer.kind} {shape}", rank=p.rank)


def _arc(a: np.ndarray, b: np.ndarray, lift: float, n: int) -> np.ndarray:
    """Quadratic Bezier from a to b bulging up by ``lift``, as (2n, 3) line-segment endpoints."""
    c = (a + b) / 2 + np.array([0.0, lift, 0.0])
    t = np.linspace(0, 1, n + 1)[:, None]
    pts = (1 - t) ** 2 * a + 2 * (1 - t) * t * c + t ** 2 * b
    return np.repeat(pts, 2, axis=0)[1:-1]


def _weight_edges(layer: Layer, dst: Placement, src: Placement, src_layer: Layer, look: Look,
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


def default_camera(slabs: list[Slab]) -> Camera:
    """Three-quarter view from beside and above, framing the first stretch of the network
    (all of it when it is short) so the data flow reads from front-left to back-right."""
    lo = np.min([s.bbox[0] for s in slabs], axis=0)
    hi = np.max([s.bbox[1] for s in slabs], axis=0)
    length = hi[2] - lo[2]
    width = max(hi[0] - lo[0], hi[1] - lo[1], 1.0)
    shown = min(length, 5 * width)
    target = np.array([0.0, 0.0, hi[2] - 0.4 * shown])
    dist = 0.6 * max(shown, 1.5 * width)
    pos = target + dist * np.array([0.66, 0.36, 0.64])
    return Camera(position=pos).look_at(target)


def build_scene(graph: LayerGraph, look: Look | None = None, layout: Layout | None = None) -> Scene:
    """Scene of ``graph``: one slab per shown layer, flow/skip/weight edges, labels, camera."""
    look = look or Look()
    layout = layout or layout_graph(graph, hide=look.hide, texel=look.texel)
    layers = {l.id: l for l in graph.layers}
    slabs = [make_slab(layers[i], p) for i, p in layout.placements.items()]
    P = layout.placements
    flow, skip, wts = [], [], []
    n_weighted = sum(1 for _, d, _ in layout.edges if layers[d].top_in is not None) or 1
    budget = max(look.weight_edges_per_neuron, look.edge_budget // n_weighted)
    for s, d, kind in layout.edges:
        a, b = P[s].center, P[d].center
        if kind == "skip" or P[d].rank - P[s].rank > 1:
            lift = max(P[s].height, P[d].height) / 2 + 0.5 + 0.05 * abs(a[2] - b[2])
            skip.append(_arc(a, b, lift, look.arc_segments))
        else:
            flow.append(np.array([a, b]))
        e = _weight_edges(layers[d], P[d], P[s], layers[s], look, budget) if layers[d].top_in is not None else None
        if e is not None:
            wts.append(e)
    edges: list[EdgeSet] = []
    if flow:
        pos = np.concatenate(flow).astype(np.float32)
        edges.append(EdgeSet("flow", pos, np.ones(len(pos), np.float32)))
    if skip:
        pos = np.concatenate(skip).astype(np.float32)
        edges.append(EdgeSet("skip", pos, np.ones(len(pos), np.float32)))
    edges.extend(wts)
    labels = []
    for sl in slabs:
        if sl.kind in look.quiet_kinds and len(slabs) > look.label_all_below:
            continue    # norm/activation slabs sit right behind their conv: its label names them
        h = float(np.clip(0.06 * max(sl.cols, sl.rows) * np.linalg.norm(sl.u), 0.12, 0.8))
        labels.append(Label(sl.label, sl.origin + np.array([0.0, 0.25 * h, 0.0]), h, layer_id=sl.layer_id))
    return Scene(slabs, edges, labels, default_camera(slabs), title=graph.model_name,
                 colormap=look.colormap, diverging=look.diverging, background=tuple(look.background),
                 show_edges=look.show_edges, show_labels=look.show_labels, lod_px=look.lod_px)
