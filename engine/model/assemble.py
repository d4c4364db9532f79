"""Recorded nodes -> LayerGraph: what the recorder (engine/model/recorder.py) saw while the model ran,
turned into named layers with kinds, replay sites and parameters, functional dead ends pruned, and
typed edges (data, skip, attention)."""
from __future__ import annotations

from typing import Any

import torch

from engine.model.attention import SDPA
from engine.model.graph import Edge, Layer, LayerGraph
from engine.model.kinds import module_attrs, module_kind
from engine.model.ops import op_kind
from engine.model.recurrent import rnn_state_names
from engine.model.topk import RecordedLayer, make_top

__all__ = ["FUNC", "LEAF", "INPUT", "ATTN", "RNN", "assemble"]

# What a recorded node is: [type, func_or_module, scope_module, srcs, shape, dtype, values, params, call].
# ATTN: attention probabilities computed from an SDPA call's or an nn.MultiheadAttention call's
# arguments (engine/model/attention.py), which the model never materialises; RNN: one layer and
# direction's hidden or cell sequence of an LSTM/GRU/RNN (engine/model/recurrent.py).
FUNC, LEAF, INPUT, ATTN, RNN = 0, 1, 2, 3, 4


def assemble(nodes: list[list], outputs: set[int], names: dict[int, str], root_name: str, model_name: str,
             top_k: int, fam: str, input_shapes: list[tuple[int, ...]], device) -> LayerGraph:
    """The LayerGraph of a recording's nodes; ``outputs``: the nodes that produced the model's output,
    ``names``: id(module) -> its qualified name."""
    n = len(nodes)
    # ---- prune functional dead ends (not consumed, not an output)
    consumers: list[list[int]] = [[] for _ in range(n)]
    for i, nd in enumerate(nodes):
        for s in nd[3]:
            consumers[s].append(i)
    alive = [True] * n
    for i in range(n - 1, -1, -1):
        if nodes[i][0] in (FUNC, ATTN) and i not in outputs:
            alive[i] = any(alive[c] for c in consumers[i])
    new_id: dict[int, int] = {}
    for i in range(n):
        if alive[i]:
            new_id[i] = len(new_id)

    # ---- layers
    counts: dict[str, int] = {}
    op_cache: dict[Any, tuple[str, str]] = {}
    seen_params: set[int] = set()
    first_call: dict[int, str] = {}
    top_cache: dict[int, Any] = {}
    layers: list[Layer] = []
    srcs_of: list[list[int]] = []

    def unique(base: str) -> str:
        c = counts.get(base, 0)
        counts[base] = c + 1
        return base if c == 0 else f"{base}:{c}"

    def scope_name(mod) -> str:
        if mod is None:
            return ""
        nm = names.get(id(mod))
        return nm if nm is not None else type(mod).__name__

    def count_params(ps) -> int:
        total = 0
        for p in ps:
            if p is not None and id(p) not in seen_params:
                seen_params.add(id(p))
                total += p.numel()
        return total

    for i, nd in enumerate(nodes):
        if not alive[i]:
            continue
        typ, obj, scope, srcs, shape, dtype, values, params, call = nd
        lid = new_id[i]
        site = None
        attrs: dict = {}
        top = None
        if typ == INPUT:
            lname, kind, op, nparams = unique("input"), "input", "input", 0
            site = ("input", call)
        elif typ == LEAF:
            mod = obj
            base = names.get(id(mod))
            if base is not None:
                site = ("leaf", base, call)
            if base is None:
                sn = scope_name(scope)
                base = f"{sn}.{type(mod).__name__}" if sn else type(mod).__name__
            elif base == "":
                base = root_name
            lname = unique(base)
            kind = module_kind(mod)
            op = type(mod).__name__
            if isinstance(mod, torch.jit.ScriptModule):
                op = str(getattr(mod, "original_name", op))
            attrs = module_attrs(mod)
            attrs["module"] = f"{type(mod).__module__}.{type(mod).__qualname__}"  # marks a leaf-module layer
            plain = type(mod._modules) is dict and not mod._modules and type(mod._parameters) is dict
            nparams = count_params(mod._parameters.values() if plain else mod.parameters())
            if id(mod) in first_call:
                if "weight_shape" in attrs or nparams or next(iter(mod.parameters()), None) is not None:
                    attrs["shares_params_with"] = first_call[id(mod)]
            else:
                first_call[id(mod)] = lname
            if top_k and kind in ("linear", "conv"):
                if id(mod) not in top_cache:
                    top_cache[id(mod)] = make_top(mod, int(top_k))
                top = top_cache[id(mod)]
        elif typ == RNN:
            mod, j = obj
            base = names.get(id(mod))
            site = ("rnn", base, call, j) if base is not None else None
            sn = base if base else scope_name(mod)
            lname = unique(f"{sn}.{rnn_state_names(mod)[j]}")
            kind, op, nparams = "recurrent", "rnn_state", 0
        elif typ == ATTN:
            if obj == SDPA:
                sn = scope_name(scope)
                site = ("attn", call)
            else:
                sn = names.get(id(obj)) or type(obj).__name__
                site = ("mha", names[id(obj)], call) if id(obj) in names else None
            lname = unique(f"{sn}.attention_probs" if sn else "attention_probs")
            kind, op, nparams = "attention", "attention_probs", 0
            if len(shape) == 4:
                attrs["heads"] = int(shape[1])
        else:
            func = obj
            hit = op_cache.get(func)
            if hit is None:
                hit = op_cache[func] = op_kind(func)
            op, kind = hit
            sn = scope_name(scope)
            lname = unique(f"{sn}.{op}" if sn else op)
            site = ("func", call)
            nparams = count_params(params) if params else 0
            if kind == "softmax" and op == "softmax" and len(shape) >= 3:
                scope_text = (sn + " " + (type(scope).__name__ if scope is not None else "")).lower()
                if len(shape) == 4 or "attn" in scope_text or "attention" in scope_text:
                    kind = "attention"
                    if len(shape) == 4:
                        attrs["heads"] = int(shape[1])
        layer = RecordedLayer(id=lid, name=lname, kind=kind, op=op, shape=tuple(int(s) for s in shape),
                              params=int(nparams), dtype=str(dtype).removeprefix("torch."), attrs=attrs,
                              values=values, site=site)
        layer.set_top(top)
        layers.append(layer)
        srcs_of.append([new_id[s] for s in srcs])

    # ---- scores before a softmax: -inf there is a mask (a key not attended), not an error
    for lid, l in enumerate(layers):
        if l.op in ("softmax", "log_softmax", "softmin"):
            for s in srcs_of[lid]:
                layers[s].attrs["neg_inf_is_mask"] = True

    # ---- edges: dedup, depth, kinds
    depth = [0] * len(layers)
    for lid, ss in enumerate(srcs_of):
        if ss:
            depth[lid] = max(depth[s] for s in ss) + 1
    # main data path: layers reachable from the first input (position embeddings, masks built from an
    # attention_mask input etc. are side inputs: their edges stay "data")
    main = [False] * len(layers)
    if layers and layers[0].kind == "input":
        main[0] = True
        for lid, ss in enumerate(srcs_of):
            if any(main[s] for s in ss):
                main[lid] = True
    edges: list[Edge] = []
    att = [l.kind == "attention" and l.op in ("softmax", "attention_probs") for l in layers]
    for lid, ss in enumerate(srcs_of):
        residual = len(ss) >= 2 and layers[lid].kind in ("add", "concat")
        deepest = max(depth[s] for s in ss) if ss else 0
        for s in ss:
            if att[lid] or att[s]:
                kind = "attention"
            elif residual and depth[s] < deepest and main[s]:
                kind = "skip"
            else:
                kind = "data"
            edges.append(Edge(s, lid, kind))

    return LayerGraph(model_name=model_name, layers=layers, edges=edges,
                      input_shapes=input_shapes,
                      family=fam, device=str(device))
