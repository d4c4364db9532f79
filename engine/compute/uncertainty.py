"""Uncertainty: how much each neuron varies over Monte-Carlo dropout passes (dropout kept on, everything
else in eval mode) or over an ensemble of weight files, and the predictive entropy of the averaged
output. Each slab shows its per-neuron standard deviation."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from engine.compute.errors import InputError
from engine.model.graph import LayerGraph

__all__ = ["Spread", "spread_of", "dropout_on", "apply_spread"]

DROPOUTS = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout)


@dataclass
class Spread:
    label: str                                                    # "12 MC-dropout passes", "3 weight files"
    std: dict[str, np.ndarray] = field(default_factory=dict)      # layer name -> per-neuron std, flat
    entropy: float | None = None                                  # of the mean softmax of the output (nats)
    classes: int = 0

    def hud(self, top: list[tuple[str, float]]) -> list[str]:
        lines = [f"uncertainty over {self.label}: per-neuron standard deviation"]
        if self.entropy is not None:
            lines.append(f"  predictive entropy {self.entropy:.3f} nats (max {np.log(max(self.classes, 1)):.3f})")
        lines += [f"  mean std {v:.3g}  {n}" for n, v in top]
        return lines


@contextlib.contextmanager
def dropout_on(model: nn.Module):
    """The model's dropout modules drop (as in training) while everything else stays in eval mode,
    also inside a recording (which puts every module in eval mode)."""
    mods = [m for m in model.modules() if isinstance(m, DROPOUTS)]
    if not mods:
        raise InputError("Monte-Carlo dropout needs nn.Dropout layers and this model has none; compare weight "
                         "files with --ensemble instead")
    for m in mods:
        m.forward = (lambda mod: lambda x: nn.functional.dropout(x, mod.p, True, False))(m)
    try:
        yield
    finally:
        for m in mods:
            del m.forward


def spread_of(graphs: list[LayerGraph], label: str) -> Spread:
    """Per-neuron std over recordings (with values) of the same graph; entropy of the mean output."""
    if len(graphs) < 2:
        raise InputError("uncertainty needs at least 2 passes or weight files")
    out = Spread(label)
    for layer in graphs[0].layers:
        runs = [next((l for l in g.layers if l.name == layer.name), None) for g in graphs]
        if any(r is None or r.values is None or tuple(r.shape) != tuple(layer.shape) for r in runs):
            continue
        stack = np.stack([np.asarray(r.values, np.float64).reshape(-1) for r in runs])
        out.std[layer.name] = np.nan_to_num(stack.std(axis=0)).astype(np.float32)
    last = graphs[0].layers[-1]
    n = int(last.shape[-1]) if len(last.shape) > 1 else int(last.neurons)
    logits = [np.asarray(l.values, np.float64).reshape(-1, n) for g in graphs
              for l in [next(x for x in g.layers if x.name == last.name)] if l.values is not None]
    if logits and n > 1:          # per position (a language model's tokens), then averaged over them
        p = torch.softmax(torch.from_numpy(np.stack(logits)), -1).mean(0)
        out.entropy = float(-(p * torch.log(p.clamp_min(1e-12))).sum(-1).mean())
        out.classes = n
    return out


def apply_spread(scene, graph: LayerGraph, s: Spread, top: int = 5) -> list[tuple[str, float]]:
    """Slabs show their std (sequential scale); the layers with the largest mean std."""
    ids = {l.id: l.name for l in graph.layers}
    for sl in scene.slabs:
        v = s.std.get(ids.get(sl.layer_id, ""))
        if v is not None and v.size == sl.count:
            m = float(np.percentile(v, 99.5)) if v.size > 200 else float(v.max(initial=0.0))
            sl.values, sl.signed, sl.scale = v, False, (1.0 / m if m > 0 else 1.0)
        else:
            sl.values, sl.signed, sl.scale = np.zeros(sl.count, np.float32), False, 1.0
    ranked = sorted(((n, float(v.mean())) for n, v in s.std.items()), key=lambda kv: -kv[1])
    return ranked[:top]
