"""Record a PyTorch model into a LayerGraph by running it once.

How: one forward pass under ``torch.no_grad()`` with

* a ``TorchFunctionMode`` that sees every torch function / Tensor method called in Python and links
  producer -> consumer by tensor identity (a weakref callback forgets a tensor's id when it dies, so
  a reused id never inherits a producer, without keeping every activation alive), and
* global module forward pre/post hooks that give the module scope and turn each call of a *leaf*
  module (no children, or an atomic module: RNNs, nn.MultiheadAttention, TorchScript) into one layer.
  Ops inside leaf modules are not recorded.

Ops outside leaf modules become layers named ``<scope>.<op>`` (``add``, ``softmax``, ``matmul`` ...),
except pure shape/view/dtype ops (view, reshape, flatten, permute, transpose, getitem, to, ...) which
pass their input's producer through, and ops on constants only (no recorded input), which are not
layers. Ops whose output is integer/bool (masks, indices) pass through as well. Functional layers whose
output reaches neither another layer nor the model's output (e.g. ``x.mean()`` of an ``if``) are
dropped. Per-op work during the pass is a dict lookup and a few list appends; names, kinds, depths and
edge kinds are worked out after the pass (engine/model/assemble.py).
"""
from __future__ import annotations

import contextlib

import weakref
from typing import Any

import torch
from torch import Tensor, _C, nn
from torch.nn.modules import module as _module_mod
from torch.overrides import TorchFunctionMode

from engine.model.assemble import ATTN, FUNC, INPUT, LEAF, RNN, assemble
from engine.model.attention import (SDPA, is_sdpa, mha_inputs, mha_probs, mha_shape, sdpa_inputs, sdpa_probs_of_call,
                                    sdpa_shape)
from engine.model.errors import ModelError, first_line
from engine.model.graph import LayerGraph
from engine.model.inputs import ExampleInputs, shape_text
from engine.model.kinds import ATOMIC_MODULES
from engine.model.ops import IGNORE, PASS, WRITE, policy
from engine.model.recurrent import RNN_MODULES, rnn_state_names, rnn_state_shape, rnn_states
from engine.model.structure import MetaShadow, is_structure_only, parameter_bytes
from engine.model.tensors import flat_tensors, infer_family, item0, item0_numpy, to_device, to_example_inputs

__all__ = ["record", "ExampleInputs", "to_example_inputs", "infer_family", "ATOMIC_MODULES"]


class _Recorder(TorchFunctionMode):
    def __init__(self, capture):
        super().__init__()
        # capture: False, True (float32 numpy copies) or "tensor" (live probes: batch item 0 as a
        # detached tensor on the model's device, no copy; engine/compute reduces it there)
        self.grab = item0 if capture == "tensor" else (item0_numpy if capture else None)
        self.leaf = 0            # >0 while inside a leaf module's forward
        self.popped = False      # True while this mode is off the stack for a leaf's forward
        self.stack: list = [None]  # scope: non-leaf modules being run
        self.prod: dict[int, int] = {}   # id(tensor) -> node index
        self.refs: dict[int, Any] = {}   # id(tensor) -> weakref whose callback forgets the id
        self.keep: list = []             # strong references to inputs and parameter views
        self.pview: dict[int, Tensor] = {}  # id(view of a Parameter) -> the Parameter
        # node: [type, func_or_module, scope_module, srcs, shape, dtype, values, params, call]
        # call: where a replay (engine/model/replay.py) finds the node again: the index of the
        # function call among all calls made outside leaf modules, or the module's k-th leaf call
        self.nodes: list[list] = []
        self.fcalls = 0                  # torch function calls seen outside leaf modules
        self.mcalls: dict[int, int] = {}  # id(leaf module) -> completed calls
        self.policy: dict[Any, int] = {}

    # ---------------------------------------------------------------- ops
    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.leaf:
            return out
        call = self.fcalls
        self.fcalls = call + 1
        pol = self.policy.get(func)
        if pol is None:
            pol = self.policy[func] = policy(func)
        if pol == IGNORE:
            return out
        if pol == WRITE:
            self._write(args)
            return out
        if isinstance(out, Tensor):
            first = out
        elif isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
            first = out[0]
        else:
            return out
        prod = self.prod
        srcs: list[int] = []
        params: list | None = None
        for a in (args if not kwargs else (*args, *kwargs.values())):
            if isinstance(a, Tensor):
                p = prod.get(id(a))
                if p is not None:
                    if p not in srcs:
                        srcs.append(p)
                elif isinstance(a, nn.Parameter) or id(a) in self.pview:
                    (params := params or []).append(self.pview.get(id(a), a))
            elif isinstance(a, (list, tuple)):
                for b in a:
                    if isinstance(b, Tensor):
                        p = prod.get(id(b))
                        if p is not None:
                            if p not in srcs:
                                srcs.append(p)
                        elif isinstance(b, nn.Parameter) or id(b) in self.pview:
                            (params := params or []).append(self.pview.get(id(b), b))
        if not srcs:
            if params:  # e.g. class_token.expand(...), logit_scale.clamp(): remember the parameter
                for t in (out,) if first is out else out:
                    if isinstance(t, Tensor):
                        self.pview[id(t)] = params[0]
                        self.keep.append(t)
            return out
        if pol == PASS or not (first.is_floating_point() or first.is_complex()):
            idx = srcs[0]
        else:
            if is_sdpa(func):
                srcs = self._sdpa_probs(args, kwargs or {}, srcs, call)
            idx = len(self.nodes)
            self.nodes.append([FUNC, func, self.stack[-1], srcs, first.shape, first.dtype,
                               self.grab(first) if self.grab else None, params, call])
        track = self.track
        if first is out:
            track(out, idx)
        else:
            for t in out:
                if isinstance(t, Tensor):
                    track(t, idx)
        return out

    def _attention_node(self, probs, qk: list, srcs: list[int], obj, call) -> list[int]:
        """Append an ATTN node fed by the producers of ``qk`` (query, key and masks); returns the
        sources of the attention op's own output: the probabilities, then its other inputs.
        ``probs`` is a callable giving the map, or its shape when no values are kept."""
        prod = self.prod
        qk_srcs = [p for t in qk if isinstance(t, Tensor) for p in [prod.get(id(t))] if p is not None]
        qk_srcs = list(dict.fromkeys(qk_srcs))
        if not qk_srcs:
            return srcs
        idx = len(self.nodes)
        values = shape = None
        if self.grab:
            p = probs(False)
            values, shape = self.grab(p), p.shape
        else:
            shape = probs(True)
        self.nodes.append([ATTN, obj, self.stack[-1], qk_srcs, shape, torch.float32, values, None, call])
        return [idx] + [s for s in srcs if s not in qk_srcs]

    def _rnn_nodes(self, mod, args, kwargs, srcs: list[int], call: int) -> list[int]:
        """Append a RNN node per layer, direction and state of an LSTM/GRU/RNN call, chained layer
        on layer (layer 0 fed by the module's inputs and initial states); returns the sources of the
        module's output: the top layer's hidden sequences."""
        shape = rnn_state_shape(mod, args)
        if shape is None or not srcs:
            return srcs
        names = rnn_state_names(mod)
        states = rnn_states(mod, args, kwargs) if self.grab else [None] * len(names)
        feed, layer = list(srcs), []
        for j, (name, t) in enumerate(zip(names, states)):
            k = int(name.split(".")[0][5:])
            if layer and k != layer[0][0]:                 # next layer: fed by this one's hidden sequences
                feed, layer = [i for _, i, n in layer if n.endswith(".h")], []
            idx = len(self.nodes)
            self.nodes.append([RNN, (mod, j), self.stack[-1], list(feed), shape, torch.float32,
                               self.grab(t) if self.grab else None, None, call])
            layer.append((k, idx, name))
        return [i for _, i, n in layer if n.endswith(".h")]          # the inputs reach the output through them

    def _sdpa_probs(self, args, kwargs, srcs: list[int], call: int) -> list[int]:
        return self._attention_node(lambda shape_only: sdpa_shape(args, kwargs) if shape_only
                                    else sdpa_probs_of_call(args, kwargs), sdpa_inputs(args, kwargs), srcs, SDPA, call)

    def _write(self, args) -> None:
        """dst.copy_(src) / dst[i] = src: a destination without a producer (a buffer being filled,
        e.g. images padded into a batch) takes the source's producer, and so does its base tensor."""
        if len(args) < 2 or not isinstance(args[0], Tensor):
            return
        src = args[-1] if isinstance(args[-1], Tensor) else None
        p = self.prod.get(id(src)) if src is not None else None
        dst = args[0]
        if p is None or id(dst) in self.prod:
            return
        self.track(dst, p)
        base = dst._base
        if base is not None and id(base) not in self.prod:
            self.track(base, p)

    def track(self, t: Tensor, idx: int) -> None:
        """Map tensor t to node idx. The entry is dropped when t dies (weakref callback), so a later
        tensor that reuses the id never inherits it, and intermediates are freed as in a bare forward."""
        key = id(t)
        if key not in self.prod:
            prod, refs = self.prod, self.refs
            refs[key] = weakref.ref(t, lambda _w, k=key: (prod.pop(k, None), refs.pop(k, None)))
        self.prod[key] = idx

    # ---------------------------------------------------------------- modules
    def pre_hook(self, mod, args):
        if self.leaf:
            self.leaf += 1
        elif not mod._modules or isinstance(mod, ATOMIC_MODULES):
            self.leaf = 1
            # Run the leaf without this mode: its internals are not recorded, so they run at full speed.
            n = _C._len_torch_function_stack()
            if n and _C._get_function_stack_at(n - 1) is self:
                _C._pop_torch_function_stack()
                self.popped = True
        else:
            self.stack.append(mod)

    def post_hook(self, mod, args, kwargs, out):
        if self.leaf:
            if self.leaf == 1:  # still 1: tensor calls made here are not recorded
                k = self.mcalls.get(id(mod), 0)
                self.mcalls[id(mod)] = k + 1
                self._leaf_done(mod, args, kwargs, out, k)
                if self.popped:
                    _C._push_on_torch_function_stack(self)
                    self.popped = False
            self.leaf -= 1
        elif len(self.stack) > 1:
            self.stack.pop()

    def _leaf_done(self, mod, args, kwargs, out, call: int = 0) -> None:
        outs = flat_tensors(out, [])
        if not outs:
            return
        prod = self.prod
        srcs: list[int] = []
        for t in flat_tensors(kwargs, flat_tensors(args, [])):
            p = prod.get(id(t))
            if p is not None and p not in srcs:
                srcs.append(p)
        if isinstance(mod, nn.Identity):
            if not srcs:
                return
            idx = srcs[0]
        else:
            if isinstance(mod, RNN_MODULES):
                srcs = self._rnn_nodes(mod, args, kwargs, srcs, call)
            if isinstance(mod, nn.MultiheadAttention):
                srcs = self._attention_node(lambda shape_only: mha_shape(mod, args, kwargs) if shape_only
                                            else mha_probs(mod, args, kwargs), mha_inputs(args, kwargs), srcs, mod,
                                            call)
            idx = len(self.nodes)
            first = outs[0]
            self.nodes.append([LEAF, mod, self.stack[-1], srcs, first.shape, first.dtype,
                               self.grab(first) if self.grab else None, None, call])
        for t in outs:
            self.track(t, idx)

    def add_input(self, t: Tensor) -> None:
        idx = len(self.nodes)
        self.nodes.append([INPUT, None, None, [], t.shape, t.dtype, self.grab(t) if self.grab else None, None,
                           sum(1 for n in self.nodes if n[0] == INPUT)])
        self.keep.append(t)
        self.track(t, idx)



# ------------------------------------------------------------------------ record
def record(model: nn.Module, example_inputs=None, *, capture: bool | str = False, top_k: int = 8,
           name: str | None = None, family: str | None = None) -> LayerGraph:
    """Run ``model`` once on ``example_inputs`` and return its LayerGraph.

    example_inputs: a tensor, a tuple of positional args, a dict of keyword args, ``(args, kwargs)``
    or ExampleInputs. capture: store each layer's output (batch item 0, float32) in Layer.values;
    "tensor" stores it as a detached tensor on the model's device instead (engine/compute's probes).
    top_k: strongest incoming weights per unit of Linear/Conv layers (0 = skip); for big CPU weights
    they are computed on first access of Layer.top_in/top_w (from a numpy view of the weights, so
    they reflect the weights at that time). name: LayerGraph.model_name. family: overrides the family
    inferred from the inputs ("image" for 4D float, "language" for integer ids, "sequence" for 3D
    float, else "generic"). The model runs once in eval mode under no_grad; its train/eval flags are
    restored afterwards. Raises ModelError if the model fails on the input.
    """
    if not isinstance(model, nn.Module):
        raise ModelError(f"record() needs a torch.nn.Module, got {type(model).__name__}; pass the model object")
    if type(model).__name__ == "OptimizedModule" and isinstance(getattr(model, "_orig_mod", None), nn.Module):
        model = model._orig_mod  # torch.compile wrapper: record the eager module
    ex = to_example_inputs(example_inputs)
    model_name = name or str(getattr(model, "original_name", None) or type(model).__name__)

    # device: move inputs to the model's device
    device = None
    for p in model.parameters():
        device = p.device
        break
    args, kwargs = ex.args, ex.kwargs
    if device is not None and device.type != "meta":      # (structure only: the inputs stay real)
        args, kwargs = to_device(args, device), to_device(kwargs, device)
    in_tensors = flat_tensors(kwargs, flat_tensors(args, []))
    if device is None:
        device = in_tensors[0].device if in_tensors else torch.device("cpu")

    names: dict[int, str] = {id(m): n for n, m in model.named_modules()}
    root_name = str(getattr(model, "original_name", None) or type(model).__name__)

    structure = is_structure_only(model)        # weights on the meta device: shapes only
    if structure:
        capture, top_k = False, 0
    rec = _Recorder(capture)
    for t in in_tensors:
        rec.add_input(t)
    training = [m for m in model.modules() if m.training]
    h_pre = h_post = None
    try:
        for m in training:          # (not model.eval(): torch.export's modules refuse it)
            m.training = False
        h_pre = _module_mod.register_module_forward_pre_hook(rec.pre_hook)
        h_post = _module_mod.register_module_forward_hook(rec.post_hook, with_kwargs=True)
        with torch.no_grad(), (MetaShadow() if structure else contextlib.nullcontext()):
            rec.__enter__()
            try:
                out = model(*args, **kwargs)
            finally:
                if not rec.popped:  # a leaf that raised leaves the mode already off the stack
                    rec.__exit__(None, None, None)
    except Exception as e:  # noqa: BLE001 - anything the user's model raises
        shapes = ", ".join(shape_text(t.shape) for t in in_tensors)
        what = f"shape {shapes}" if len(in_tensors) == 1 else f"shapes {shapes}" if in_tensors else "no tensors"
        raise ModelError(f"model {model_name!r} failed on its example input ({what}): {first_line(e)}; "
                         f"pass --input-shape (and --input-dtype) matching the model") from e
    finally:
        if h_pre is not None:
            h_pre.remove()
        if h_post is not None:
            h_post.remove()
        for m in training:
            m.training = True
    fam = family or ex.family or infer_family(in_tensors)
    outputs = {p for t in flat_tensors(out, []) for p in [rec.prod.get(id(t))] if p is not None}
    graph = assemble(rec.nodes, outputs, names, root_name, model_name, top_k, fam,
                     [tuple(int(v) for v in t.shape) for t in in_tensors], device)
    if structure:
        graph.structure_only, graph.weight_bytes = True, parameter_bytes(model)
    return graph
