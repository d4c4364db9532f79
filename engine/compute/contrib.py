"""What feeds a picked neuron: its strongest incoming contributions (weight x activation).

- ``nn.Linear``: output index -> (token, out feature o) over the last dim; input feature j
  contributes ``W[o, j] * x[token, j]`` (src_index = token * in_features + j).
- ``nn.Conv2d``: output (c, y, x); input channel ci contributes the sum over the kernel window
  of ``W[c, ci - group offset] * X[ci, window]`` (stride, padding incl. 'same' and padding
  modes, dilation and groups respected); src_index is the centre of the receptive field in ci,
  weight is the kernel slice's sum (its response to a constant input).
- ``nn.BatchNorm2d`` (eval statistics): the same neuron of the input, weight gamma/sqrt(var+eps).
- Max/average pooling (incl. adaptive average): the window's neurons in the same channel.
- Anything else whose inputs have the layer's size (activations, norms, adds, dropout,
  reshapes): the same index in each input, value = its activation, weight 1.

For Linear and Conv2d the contributions of all inputs plus the bias sum to the layer's
output value. Source values are tensor-order flat arrays by layer id (batch item 0), e.g.
``engine.compute.unmosaic.SceneValues``; sources without values (hidden layers) are looked
through to their own single input.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import ceil, floor, prod

import numpy as np
import torch
from torch import nn

from engine.model.graph import Layer, LayerGraph


@dataclass
class Contribution:
    """One input's share of a neuron's value."""

    src_layer_id: int
    src_index: int        # flattened neuron index in the source layer's output (batch excluded)
    value: float          # weight * activation (conv: summed over the kernel window)
    weight: float


def module_of(model: nn.Module | None, layer: Layer) -> nn.Module | None:
    """The module a layer was recorded from (its name minus any ':n' call suffix), or None."""
    if model is None or layer.kind == "input":
        return None
    name = layer.name.split(":")[0]
    try:
        return model.get_submodule(name) if name else model
    except (AttributeError, ValueError):
        return None


def _as_layer(graph: LayerGraph, layer: Layer | int | str) -> Layer:
    if isinstance(layer, Layer):
        return layer
    if isinstance(layer, str):
        return graph.layer(layer)
    return next(l for l in graph.layers if l.id == int(layer))


def _sources(graph: LayerGraph, layer: Layer, values: Mapping[int, np.ndarray]) -> list[tuple[int, np.ndarray]]:
    """(layer id, flat values) of the layer's inputs, looking through layers without values
    (hidden dropout, ...) along single-input chains."""
    out = []
    for src in graph.predecessors(layer.id):
        seen = set()
        while src not in values and src not in seen:
            seen.add(src)
            preds = graph.predecessors(src)
            if len(preds) != 1:
                break
            src = preds[0]
        if src in values:
            out.append((src, np.asarray(values[src], np.float64).reshape(-1)))
    return out


def _top(items: list[Contribution], k: int | None) -> list[Contribution]:
    items.sort(key=lambda c: -abs(c.value))
    return items if k is None else items[:k]


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().to("cpu", torch.float64).numpy()


def _linear(m: nn.Linear, layer: Layer, index: int, src: tuple[int, np.ndarray]) -> list[Contribution]:
    sid, x = src
    n_in, n_out = m.in_features, m.out_features
    if x.size % n_in:
        return []
    token, o = divmod(int(index), n_out)
    if token >= x.size // n_in:
        return []
    w = _np(m.weight)[o]
    xs = x.reshape(-1, n_in)[token]
    vals = w * xs
    return [Contribution(sid, token * n_in + j, float(vals[j]), float(w[j])) for j in range(n_in)]


def _conv_pads(m: nn.Conv2d) -> tuple[int, int, int, int]:
    """(left, right, top, bottom) padding the module applies (F.pad order)."""
    pads = getattr(m, "_reversed_padding_repeated_twice", None)
    if pads is not None and len(pads) == 4:
        return tuple(int(p) for p in pads)  # type: ignore[return-value]
    ph, pw = (m.padding, m.padding) if isinstance(m.padding, int) else m.padding
    return pw, pw, ph, ph


def _conv2d(m: nn.Conv2d, layer: Layer, index: int, src: tuple[int, np.ndarray],
            src_shape: tuple[int, ...]) -> list[Contribution]:
    sid, x = src
    cin = m.in_channels
    if x.size % cin:
        return []
    if len(src_shape) >= 2 and prod(src_shape[-2:]) * cin == x.size:
        h, w_ = src_shape[-2], src_shape[-1]
    else:
        return []
    cout, ho, wo = layer.shape[-3:]
    c, rem = divmod(int(index), ho * wo)
    oy, ox = divmod(rem, wo)
    kh, kw = m.kernel_size
    sy, sx = m.stride
    dy, dx = m.dilation
    g = m.groups
    cin_g, cout_g = cin // g, cout // g
    c0 = (c // cout_g) * cin_g
    left, right, top, bottom = _conv_pads(m)
    xs = torch.from_numpy(x.reshape(1, cin, h, w_)[:, c0:c0 + cin_g])
    if left or right or top or bottom:
        mode = "constant" if m.padding_mode == "zeros" else m.padding_mode
        xs = torch.nn.functional.pad(xs, (left, right, top, bottom), mode=mode)
    xp = xs[0].numpy()
    rows = oy * sy + dy * np.arange(kh)
    cols = ox * sx + dx * np.arange(kw)
    window = xp[:, rows][:, :, cols]                     # (cin_g, kh, kw)
    wk = _np(m.weight)[c]                                # (cin_g, kh, kw)
    vals = (wk * window).sum(axis=(1, 2))
    cy = int(np.clip(round(oy * sy - top + dy * (kh - 1) / 2), 0, h - 1))
    cx = int(np.clip(round(ox * sx - left + dx * (kw - 1) / 2), 0, w_ - 1))
    wsum = wk.sum(axis=(1, 2))
    return [Contribution(sid, (c0 + j) * h * w_ + cy * w_ + cx, float(vals[j]), float(wsum[j]))
            for j in range(cin_g)]


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _pool2d(m: nn.Module, layer: Layer, index: int, src: tuple[int, np.ndarray],
            src_shape: tuple[int, ...]) -> list[Contribution]:
    sid, x = src
    if len(src_shape) < 3 or len(layer.shape) < 3:
        return []
    h, w_ = src_shape[-2], src_shape[-1]
    ho, wo = layer.shape[-2], layer.shape[-1]
    if x.size % (h * w_):
        return []
    c, rem = divmod(int(index), ho * wo)
    oy, ox = divmod(rem, wo)
    if isinstance(m, nn.AdaptiveAvgPool2d):
        ys = range(floor(oy * h / ho), ceil((oy + 1) * h / ho))
        xs = range(floor(ox * w_ / wo), ceil((ox + 1) * w_ / wo))
    else:
        (kh, kw), (sy, sx), (ph, pw) = _pair(m.kernel_size), _pair(m.stride or m.kernel_size), _pair(m.padding)
        (dy, dx) = _pair(getattr(m, "dilation", 1))
        ys = [oy * sy - ph + dy * i for i in range(kh) if 0 <= oy * sy - ph + dy * i < h]
        xs = [ox * sx - pw + dx * j for j in range(kw) if 0 <= ox * sx - pw + dx * j < w_]
    idx = [c * h * w_ + yy * w_ + xx for yy in ys for xx in xs]
    if not idx:
        return []
    wt = 1.0 if isinstance(m, nn.MaxPool2d) else 1.0 / len(idx)
    return [Contribution(sid, i, float(x[i] * wt), wt) for i in idx]


def _elementwise(layer: Layer, index: int, srcs: list[tuple[int, np.ndarray]],
                 m: nn.Module | None) -> list[Contribution]:
    out = []
    for sid, x in srcs:
        if x.size != layer.neurons or index >= x.size:
            continue
        w = 1.0
        if isinstance(m, nn.BatchNorm2d) and m.running_var is not None and len(layer.shape) == 4:
            ch = int(index) // (layer.shape[2] * layer.shape[3])
            gamma = float(m.weight.detach()[ch]) if m.weight is not None else 1.0
            w = gamma / float(np.sqrt(float(m.running_var.detach()[ch]) + m.eps))
        out.append(Contribution(sid, int(index), float(w * x[index]), w))
    return out


def contributions(model: nn.Module | None, graph: LayerGraph, layer: Layer | int | str, index: int,
                  src_values: Mapping[int, np.ndarray], k: int | None = 6) -> list[Contribution]:
    """The ``k`` strongest contributions (by |value|) to neuron ``index`` (flat, batch excluded)
    of ``layer``; ``k=None`` returns all of them. Empty when nothing can be said (an input layer,
    no source values, an op this module does not model)."""
    layer = _as_layer(graph, layer)
    srcs = _sources(graph, layer, src_values)
    if not srcs or index < 0 or index >= max(layer.neurons, 1):
        return []
    m = module_of(model, layer)
    shapes = {l.id: tuple(l.shape[1:]) if len(l.shape) > 1 else tuple(l.shape) for l in graph.layers}
    with torch.no_grad():
        if isinstance(m, nn.Linear):
            items = _linear(m, layer, index, srcs[0])
        elif isinstance(m, nn.Conv2d) and len(layer.shape) >= 3:
            items = _conv2d(m, layer, index, srcs[0], shapes.get(srcs[0][0], ()))
        elif isinstance(m, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
            items = _pool2d(m, layer, index, srcs[0], shapes.get(srcs[0][0], ()))
        else:
            items = _elementwise(layer, index, srcs, m)
    return _top(items, k)


def bias_of(model: nn.Module | None, layer: Layer, index: int) -> float:
    """The bias term of neuron ``index`` for Linear / Conv2d layers (0 otherwise)."""
    m = module_of(model, layer)
    if isinstance(m, nn.Linear) and m.bias is not None:
        return float(m.bias.detach()[int(index) % m.out_features])
    if isinstance(m, nn.Conv2d) and m.bias is not None and len(layer.shape) >= 3:
        per = layer.shape[-2] * layer.shape[-1]
        return float(m.bias.detach()[int(index) // per])
    return 0.0
