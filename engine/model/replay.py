"""Replay: find chosen layers' outputs again in later forward passes, without recording.

A recording (engine/model/recorder.py) tracks every tensor to build the graph: ~15% over a bare
forward pass. Live probes only need the outputs of layers already known, so the replay keeps
just enough to find them again: each recorded Layer has a ``site`` -- the k-th call of a leaf
module, or the n-th torch function call made outside leaf modules -- and the replay counts calls
the same way. No tensor is tracked and nothing is copied, unless a later op overwrites a
captured output in place (``x += y``, ``ReLU(inplace=True)``): calibration finds those with the
tensors' version counters and, cheapest first,
* switches ``inplace`` modules that overwrite a captured output to out of place (same values,
  one more buffer; ``restore()`` undoes it);
* hands the model an alias of the output on which augmented assignment (``x += y``) makes a new
  tensor, so Python rebinds ``x`` and the captured values stay (kept only if the model's output
  and every captured layer come out bitwise the same as with copies: code that relied on the
  aliasing would differ);
* clones the rest at capture.

Counting torch calls takes a TorchFunctionMode, which sends every torch call of the pass (attribute
reads included) through Python. Calibration also looks for a way around it: an output found by
function-call count is, most of the time, the input of a leaf module called next (a residual sum going
into a norm) or the result of F.scaled_dot_product_attention; when every such layer can be taken
there (a leaf's k-th call's argument, the n-th SDPA call through a patched function) and a pass taken
that way gives bitwise the same outputs, later passes run without the mode.

A replay whose calls do not line up with the recording (value-dependent control flow, another
input shape) reports it, and the caller records again.
"""
from __future__ import annotations

import copy
import threading

import torch
from torch import Tensor, _C, nn
from torch.overrides import TorchFunctionMode

from engine.model.attention import MapBuffers, is_sdpa, mha_probs, sdpa_probs_of_call
from torch.nn import functional as F
from engine.model.graph import LayerGraph
from engine.model.inputs import ExampleInputs
from engine.model.kinds import ATOMIC_MODULES
from engine.model.recurrent import rnn_states
from engine.model.tensors import flat_tensors, item0, to_device

__all__ = ["Replayer", "ReplayMismatch"]


_MISSING = object()
MODE_FREE_CHECK_BYTES = 256 << 20   # outputs compared bitwise (copies) before dropping the mode


class ReplayMismatch(RuntimeError):
    """The forward pass did not make the calls the recording saw (``structural``: record
    again), or overwrote a captured output in place (cloned from the next run on)."""

    def __init__(self, message: str, structural: bool = True) -> None:
        super().__init__(message)
        self.structural = structural


def _broadcasts_to(shape: tuple, target: tuple) -> bool:
    """``shape`` broadcasts to ``target`` unchanged (torch.broadcast_shapes is Python, ~0.1 ms a call)."""
    return len(shape) <= len(target) and all(a == 1 or a == b for a, b in zip(reversed(shape), reversed(target)))


class _Rebinding(Tensor):
    """A captured output as the model sees it: ``x += y`` (and -=, *=, /=) computes a new tensor
    that Python binds to ``x``, leaving the captured values as they were. Everything else is a
    plain tensor (torch functions are not intercepted: the same as nn.Parameter); results of a
    broadcast or type promotion an in-place op would not allow run the in-place op, as eager."""

    __torch_function__ = _C._disabled_torch_function_impl

    def _rebind(self, other, op, inplace):
        with _C.DisableTorchFunction():        # checks unseen by any mode: the replay counts calls
            plain = self.as_subclass(Tensor)
            fits = torch.result_type(plain, other) == plain.dtype and (
                not isinstance(other, Tensor) or _broadcasts_to(other.shape, plain.shape))
            fits = fits and (op is not torch.div or plain.is_floating_point() or plain.is_complex())
        return op(self, other) if fits else inplace(plain, other)   # one torch call either way

    def __iadd__(self, other):
        return self._rebind(other, torch.add, Tensor.add_)

    def __isub__(self, other):
        return self._rebind(other, torch.sub, Tensor.sub_)

    def __imul__(self, other):
        return self._rebind(other, torch.mul, Tensor.mul_)

    def __itruediv__(self, other):
        return self._rebind(other, torch.div, Tensor.div_)


class _Mode(TorchFunctionMode):
    """Counts torch function calls outside leaf modules, as the recorder does."""

    def __init__(self, replayer: "Replayer") -> None:
        super().__init__()
        self.r = replayer

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        r = self.r
        if r.leaf:
            return out
        call = r.fcalls
        r.fcalls = call + 1
        alid = r.attn_sites.get(call)
        if alid is not None and is_sdpa(func):      # probabilities the call never made, from its arguments
            # (another function here: the calls no longer line up; the map stays missing -> mismatch)
            r._capture(alid, sdpa_probs_of_call(args, kwargs or {}, r.maps, alid))
        lid = r.func_sites.get(call)
        res = out if lid is None else r._take(lid, out)
        if r._taps is not None:
            r._note_call(call, func, res)
        return res


def _identical(a: tuple[dict[int, Tensor], list], b: tuple[dict[int, Tensor], list]) -> bool:
    """Same captured layers and model outputs, bitwise (NaN where NaN)."""
    (la, oa), (lb, ob) = a, b
    if la.keys() != lb.keys() or len(oa) != len(ob):
        return False
    pairs = [(la[k], lb[k]) for k in la] + list(zip(oa, ob))
    return all(x.shape == y.shape and x.dtype == y.dtype and torch.equal(x.nan_to_num(), y.nan_to_num())
               if x.is_floating_point() else torch.equal(x, y) for x, y in pairs)


class Replayer:
    """Runs a model and returns ``{layer id: output (batch item 0)}`` for the chosen layers."""

    def __init__(self, model: nn.Module, graph: LayerGraph, layer_ids: set[int],
                 rename: dict[int, int] | None = None, map_depth: int = 2, fixed_shapes: bool = True) -> None:
        """``layer_ids``: layers of ``graph`` to capture; ``rename`` maps their ids to the ids
        reported (a recording made again numbers layers afresh). Attention maps computed in the
        pass (engine/model/attention.py) rotate through ``map_depth`` buffers: a run's maps are
        overwritten ``map_depth`` runs later. ``fixed_shapes=False``: outputs only need the
        recorded number of dimensions (token-by-token generation grows the sequence)."""
        self.model = model
        self.fixed_shapes = fixed_shapes
        self.output = None                    # the model's output of the last run(keep_output=True)
        self.maps = MapBuffers(map_depth)
        mods = dict(model.named_modules())
        self.leaf_sites: dict[int, dict[int, int]] = {}     # id(module) -> {k-th call: layer id}
        self.func_sites: dict[int, int] = {}                # call index -> layer id
        self.attn_sites: dict[int, int] = {}                # SDPA call index -> its probabilities' layer id
        self.mha_sites: dict[int, dict[int, int]] = {}      # id(MultiheadAttention) -> {k-th call: layer id}
        self.rnn_sites: dict[int, dict[int, dict[int, int]]] = {}   # id(LSTM...) -> {k-th call: {state: layer id}}
        self.input_sites: dict[int, int] = {}
        self.shapes: dict[int, tuple] = {}
        self.unplayable: list[str] = []
        rename = rename or {}
        for l in graph.layers:
            if l.id not in layer_ids:
                continue
            site, lid = l.site, rename.get(l.id, l.id)
            self.shapes[lid] = tuple(l.shape[1:]) if len(l.shape) > 1 else tuple(l.shape)
            if site is None or (site[0] == "leaf" and site[1] not in mods):
                self.unplayable.append(l.name)
            elif site[0] == "leaf":
                self.leaf_sites.setdefault(id(mods[site[1]]), {})[int(site[2])] = lid
            elif site[0] == "func":
                self.func_sites[int(site[1])] = lid
            elif site[0] == "attn":
                self.attn_sites[int(site[1])] = lid
            elif site[0] == "mha" and site[1] in mods:
                self.mha_sites.setdefault(id(mods[site[1]]), {})[int(site[2])] = lid
            elif site[0] == "rnn" and site[1] in mods:
                self.rnn_sites.setdefault(id(mods[site[1]]), {}).setdefault(int(site[2]), {})[int(site[3])] = lid
            elif site[0] == "input":
                self.input_sites[int(site[1])] = lid
            else:
                self.unplayable.append(l.name)
        self.clone: set[int] = set()          # layer ids cloned at capture (overwritten in place later)
        self.rebind: set[int] = set()         # layer ids handed to the model as _Rebinding aliases
        self.flipped: list[nn.Module] = []    # inplace modules switched to out of place
        self.calibrated = False
        self.result = None                    # the model's output, during calibration
        self.fcalls = 0
        self.leaf = 0
        self._wrappers: list | None = None
        self._modules: list[nn.Module] | None = None
        self._thread = 0
        self._on_capture = None
        self._grad = False                    # run(grad=True): the pass builds autograd's graph
        self._calls: dict[int, int] = {}
        self._raw: list[tuple[int, Tensor, int]] = []    # (layer id, output, its version) in call order
        self._versions: dict[int, int] = {}
        self._mode = _Mode(self)
        # the mode-free path (see the module docstring), found by calibration
        self.mode_free = False
        self.input_taps: dict[int, dict[int, list[tuple[int | str, int]]]] = {}   # id(leaf) -> {k: [(arg, lid)]}
        self.sdpa_taps: dict[int, tuple[int | None, int | None]] = {}   # n-th SDPA call -> (probs lid, output lid)
        self._taps: dict | None = None      # calibration: collecting the taps
        self._pending: dict[int, tuple[int, Tensor]] = {}    # id(func-site output) -> (lid, it), awaiting a leaf
        self._sdpa_n = 0
        self._watch: dict[int, int] | None = None    # calibration: data_ptr -> layer id
        self._to_flip: set[nn.Module] = set()

    # ------------------------------------------------------------------ hooks
    def _capture(self, lid: int, t: Tensor) -> Tensor:
        """As little as possible while the forward pass runs: every torch call between two
        layers costs ~20-50 us there (the layers' data has pushed torch's own out of the
        caches), ~20x its cost in isolation. Views and checks come after the pass. Returns
        what the model gets in place of ``t``."""
        kept = t.clone() if lid in self.clone else t
        self._raw.append((lid, kept, kept._version))
        if self._on_capture is not None:
            self._on_capture(lid, kept)
        if self._watch is not None:
            self._watch[t.data_ptr()] = lid
        return t.as_subclass(_Rebinding) if lid in self.rebind else t

    def _take(self, lid: int, out):
        """Capture a call's output (its first tensor if it returns several) for layer ``lid``;
        returns what the caller gets back."""
        if isinstance(out, Tensor):
            return self._capture(lid, out)
        first = next(iter(flat_tensors(out, [])), None)
        if first is not None:
            self._capture(lid, first)
        return out

    def _wrapper(self, mod: nn.Module, orig):
        """A forward for leaf module ``mod``: keeps the leaf depth (the recorder counts no call
        made inside a leaf; the mode is off there so they run at full speed) and captures the
        output of its chosen calls. An instance attribute, not a hook: hooks send every call
        through nn.Module's slow path (~4% of a resnet50 forward)."""
        r, mode, key = self, self._mode, id(mod)
        sites = self.leaf_sites.get(key)
        attn = self.mha_sites.get(key)
        rnn = self.rnn_sites.get(key)
        taps = self.input_taps.get(key) if self.mode_free else None
        counted = sites is not None or attn is not None or rnn is not None or taps is not None
        is_top = _C._get_function_stack_at
        get_ident = threading.get_ident

        def forward(*args, **kwargs):
            if get_ident() != r._thread:    # another thread calling the module meanwhile: not ours
                return orig(*args, **kwargs)
            if r.leaf:
                r.leaf += 1
                try:
                    return orig(*args, **kwargs)
                finally:
                    r.leaf -= 1
            r.leaf = 1
            popped = False
            n = _C._len_torch_function_stack()
            if n and is_top(n - 1) is mode:
                _C._pop_torch_function_stack()
                popped = True
            try:
                if r._watch is not None:
                    r._watch_pre(mod, args)
                if counted or r._taps is not None:
                    k = r._calls.get(key, 0)
                    r._calls[key] = k + 1
                    if r._pending:
                        r._find_taps(key, k, args, kwargs)
                    if taps is not None:
                        for arg, tlid in taps.get(k, ()):
                            t = args[arg] if isinstance(arg, int) else kwargs[arg]
                            r._capture(tlid, t.clone() if tlid in r.rebind else t)
                out = orig(*args, **kwargs)
                if counted:
                    alid = attn.get(k) if attn is not None else None
                    if alid is not None:
                        r._capture(alid, mha_probs(mod, args, kwargs, r.maps, alid))
                    states = rnn.get(k) if rnn is not None else None
                    if states:                   # every layer's states, recomputed from the weights
                        seqs = rnn_states(mod, args, kwargs)
                        for j, slid in states.items():
                            if j < len(seqs):
                                r._capture(slid, seqs[j])
                    lid = sites.get(k) if sites is not None else None
                    if lid is not None:
                        return r._take(lid, out)
                return out
            finally:
                if popped:
                    _C._push_on_torch_function_stack(mode)
                r.leaf = 0
        return forward

    # ------------------------------------------------------------------ the mode-free path
    def _note_call(self, call: int, func, res) -> None:
        """Calibration, mode on: where the mode's layers could be taken without it."""
        if is_sdpa(func):
            n = self._sdpa_n
            self._sdpa_n = n + 1
            if call in self.attn_sites or call in self.func_sites:
                self._taps["sdpa"][n] = (self.attn_sites.get(call), self.func_sites.get(call))
                if call in self.func_sites:
                    self._taps["found"].add(call)
                if call in self.attn_sites:
                    self._taps["attn"].add(call)
        elif call in self.func_sites:
            first = res if isinstance(res, Tensor) else next(iter(flat_tensors(res, [])), None)
            if first is not None:
                self._pending[id(first)] = (call, first)

    def _find_taps(self, key: int, k: int, args: tuple, kwargs: dict) -> None:
        """Calibration: func-site outputs this top-level leaf call takes as arguments."""
        for arg, a in list(enumerate(args)) + list(kwargs.items()):
            hit = self._pending.get(id(a)) if isinstance(a, Tensor) else None
            if hit is not None and hit[1] is a:
                del self._pending[id(a)]
                self._taps["input"].setdefault(key, {}).setdefault(k, []).append((arg, self.func_sites[hit[0]]))
                self._taps["found"].add(hit[0])

    def _sdpa_patch(self):
        """F.scaled_dot_product_attention counting top-level calls and capturing the tapped ones."""
        r, orig, taps, get_ident = self, F.scaled_dot_product_attention, self.sdpa_taps, threading.get_ident

        def sdpa(*args, **kwargs):
            out = orig(*args, **kwargs)
            if r.leaf or get_ident() != r._thread:
                return out
            n = r._sdpa_n
            r._sdpa_n = n + 1
            plid, olid = taps.get(n, (None, None))
            if plid is not None:
                r._capture(plid, sdpa_probs_of_call(args, kwargs, r.maps, plid))
            return out if olid is None else r._take(olid, out)
        return orig, sdpa

    def _try_mode_free(self, inputs: ExampleInputs, taps: dict | None) -> None:
        """Calibration's last step: a pass without the mode must give bitwise what one with it gives."""
        if taps is None or taps["found"] != set(self.func_sites) or taps["attn"] != set(self.attn_sites):
            return
        def fresh() -> ExampleInputs:      # a pass may change its inputs (a KV cache grows): each its own
            return ExampleInputs(copy.deepcopy(inputs.args), copy.deepcopy(inputs.kwargs), inputs.family)
        ref_out = self._forward(fresh())
        ref_res = flat_tensors(self.result, [])
        if sum(t.numel() * t.element_size() for t in list(ref_out.values()) + ref_res) > MODE_FREE_CHECK_BYTES:
            return
        ref = ({k: v.clone() for k, v in ref_out.items()}, [t.clone() for t in ref_res])
        self.input_taps, self.sdpa_taps = taps["input"], taps["sdpa"]
        self.mode_free, self._wrappers = True, None
        try:
            out = self._forward(fresh())
            same = _identical(ref, (out, flat_tensors(self.result, []))) and not self._changed(out)
        except Exception:  # noqa: BLE001 - anything odd: keep the mode
            same = False
        if not same:
            self.mode_free, self._wrappers, self.input_taps, self.sdpa_taps = False, None, {}, {}

    def _install(self) -> list[tuple[nn.Module, object]]:
        """Put the wrappers on every leaf module; returns what to put back."""
        if self._wrappers is None:
            self._wrappers = []
            for m in self.model.modules():
                if not m._modules or isinstance(m, ATOMIC_MODULES):
                    self._wrappers.append((m, self._wrapper(m, m.forward)))
        undo = []
        for m, w in self._wrappers:
            undo.append((m, m.__dict__.get("forward", _MISSING)))
            m.__dict__["forward"] = w
        return undo

    @staticmethod
    def _uninstall(undo) -> None:
        for m, prev in undo:
            if prev is _MISSING:
                m.__dict__.pop("forward", None)
            else:
                m.__dict__["forward"] = prev

    def _watch_pre(self, mod, args):
        if getattr(mod, "inplace", False) is True and args and isinstance(args[0], Tensor) \
                and args[0].data_ptr() in self._watch:
            self._to_flip.add(mod)

    # ------------------------------------------------------------------ running
    def _forward(self, inputs: ExampleInputs) -> dict[int, Tensor]:
        device = next((p.device for p in self.model.parameters()), None)
        args, kwargs = inputs.args, inputs.kwargs
        if device is not None:
            args, kwargs = to_device(args, device), to_device(kwargs, device)
        self.fcalls = self.leaf = self._sdpa_n = 0
        self._calls, self._raw = {}, []
        self.maps.next_frame()
        for i, t in enumerate(flat_tensors(kwargs, flat_tensors(args, []))):
            lid = self.input_sites.get(i)
            if lid is not None:
                self._capture(lid, t)
        if self._modules is None:
            self._modules = list(self.model.modules())
        training = [m for m in self._modules if m.training]
        use_mode = bool(self.func_sites or self.attn_sites) and not self.mode_free
        patched = self._sdpa_patch() if self.mode_free and self.sdpa_taps else None
        undo = []
        try:
            for m in training:
                m.training = False
            self._thread = threading.get_ident()
            undo = self._install()
            if patched is not None:
                F.scaled_dot_product_attention = patched[1]
            with torch.enable_grad() if self._grad else torch.no_grad():
                if use_mode:
                    with self._mode:
                        self.result = self.model(*args, **kwargs)
                else:
                    self.result = self.model(*args, **kwargs)
        finally:
            if patched is not None:
                F.scaled_dot_product_attention = patched[0]
            self._uninstall(undo)
            self.leaf = 0
            for m in training:
                m.training = True
        out: dict[int, Tensor] = {}
        self._versions = {}
        for lid, t, version in self._raw:
            out[lid] = item0(t)
            self._versions[lid] = version
        self._raw = []
        missing = [lid for lid in self.shapes if lid not in out]
        bad = [lid for lid, t in out.items() if (tuple(t.shape) != self.shapes[lid] if self.fixed_shapes
                                                 else t.dim() != len(self.shapes[lid]))]
        if missing or bad:
            raise ReplayMismatch(f"{len(missing)} layers not found, {len(bad)} with another shape")
        return out

    def calibrate(self, inputs: ExampleInputs) -> None:
        """Find captured outputs that later ops overwrite in place; switch the ``inplace``
        modules among those ops out of place and clone the remaining ones at capture."""
        self.clone = set()
        self._watch, self._to_flip = {}, set()
        self.mode_free, self._wrappers, self.input_taps, self.sdpa_taps = False, None, {}, {}
        use_mode = bool(self.func_sites or self.attn_sites)
        self._taps = {"input": {}, "sdpa": {}, "found": set(), "attn": set()} if use_mode else None
        try:
            self._forward(inputs)
        finally:
            self._watch, taps, self._taps, self._pending = None, self._taps, None, {}
        for m in self._to_flip:
            m.inplace = False
            self.flipped.append(m)
        out = self._forward(inputs)
        overwritten = self._changed(out)
        if overwritten:
            self.clone = overwritten           # the reference: copies taken at capture
            ref = self._forward(inputs), flat_tensors(self.result, [])
            self.clone, self.rebind = set(), set(overwritten)
            try:
                out = self._forward(inputs)
                still = self._changed(out)     # written by other means (x.add_(y) ...): cloned
                if still:
                    self.clone, self.rebind = still, overwritten - still
                    out = self._forward(inputs)
                same = _identical(ref, (out, flat_tensors(self.result, [])))
            except Exception:  # noqa: BLE001 - code the alias upsets (a type check ...): copies then
                same = False
            if not same:
                self.clone, self.rebind = overwritten, set()
        self._try_mode_free(inputs, taps)
        self.result = None
        self.calibrated = True

    def _changed(self, out: dict[int, Tensor]) -> set[int]:
        """Captured outputs written to after their capture (version counters moved)."""
        return {lid for lid, t in out.items() if t._version != self._versions[lid]}

    def run(self, inputs: ExampleInputs, on_capture=None, keep_output: bool = False,
            grad: bool = False) -> dict[int, Tensor]:
        """One forward pass; outputs by layer id (batch item 0, the model's own tensors).
        ``on_capture(layer id, output)`` runs as each output (whole batch) appears; keep it to
        a torch call or two (see _capture). ``keep_output``: the model's output stays in ``output``.
        ``grad``: autograd records the pass (gradients of the output reach the captured tensors)."""
        if self.unplayable:
            raise ReplayMismatch(f"layers without a replay site: {', '.join(self.unplayable[:3])}")
        if not self.calibrated:
            self.calibrate(inputs)
        self._on_capture, self._grad = on_capture, grad
        try:
            out = self._forward(inputs)
            self.output = self.result if keep_output else None
        finally:
            self._on_capture, self._grad = None, False
            self.result = None
        changed = self._changed(out)
        if changed:       # an in-place write the calibration did not see: clone them from now on
            self.clone |= changed
            raise ReplayMismatch(f"{len(changed)} captured outputs were overwritten in place", structural=False)
        return out

    def restore(self) -> None:
        """Switch the modules made out of place back to ``inplace=True``."""
        for m in self.flipped:
            m.inplace = True
        self.flipped = []
