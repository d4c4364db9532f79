"""Contrast: what changes between two inputs, or between two sets of weights, neuron by neuron.

Both runs are recordings with every value captured; each layer shows A - B on a diverging scale,
and the HUD ranks the layers by how much they changed relative to their own size,
||A - B|| / ||A||, so the layer where two images part ways, or where fine-tuning touched the
network, stands out."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.compute.errors import InputError
from engine.model.graph import LayerGraph

__all__ = ["Contrast", "contrast_graphs", "apply_contrast"]


@dataclass
class Contrast:
    label: str                                        # what B is, for the HUD
    layers: dict[int, np.ndarray] = field(default_factory=dict)   # layer id (of A's graph) -> A - B, flat
    change: dict[int, float] = field(default_factory=dict)        # layer id -> ||A - B|| / ||A||

    def hud(self, graph: LayerGraph, top: int = 5) -> list[str]:
        names = {l.id: l.name for l in graph.layers}
        ranked = sorted(self.change.items(), key=lambda kv: -kv[1])[:top]
        return [f"A - B, B = {self.label}; layers that changed most (||A-B|| / ||A||):"] + \
            [f"  {v:7.1%}  {names[lid]}" for lid, v in ranked]


def contrast_graphs(a: LayerGraph, b: LayerGraph, label: str) -> Contrast:
    """A - B for every layer the two recordings share by name and shape (both with values)."""
    by_name = {l.name: l for l in b.layers}
    out = Contrast(label)
    for la in a.layers:
        lb = by_name.get(la.name)
        if la.values is None or lb is None or lb.values is None or tuple(la.shape) != tuple(lb.shape):
            continue
        va = np.asarray(la.values, np.float64).reshape(-1)
        d = va - np.asarray(lb.values, np.float64).reshape(-1)
        finite = np.isfinite(d)
        d = np.where(finite, d, 0.0)
        norm = float(np.linalg.norm(np.where(np.isfinite(va), va, 0.0)))
        out.layers[la.id] = d.astype(np.float32)
        out.change[la.id] = float(np.linalg.norm(d)) / norm if norm > 0 else float(np.linalg.norm(d) > 0)
    if not out.layers:
        raise InputError(f"nothing to compare with {label}: no layer has the same name and shape in both runs")
    return out


def apply_contrast(scene, c: Contrast) -> int:
    """Each slab shows its A - B (diverging; layers without a counterpart go blank); how many got one."""
    n = 0
    for s in scene.slabs:
        d = c.layers.get(s.layer_id)
        if d is not None and d.size == s.count:
            a = np.abs(d)
            m = float(np.percentile(a, 99.5)) if a.size > 200 else float(a.max(initial=0.0))
            s.values, s.signed, s.scale = d, True, (1.0 / m if m > 0 else 1.0)
            n += 1
        else:
            s.values, s.signed, s.scale = np.zeros(s.count, np.float32), True, 1.0
    return n
