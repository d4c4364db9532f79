"""Replay: find chosen layers' outputs again in later forward passes, without recording.

A recording (engine/model/recorder.py) tracks every tensor to build the graph: ~15% over a bare
forward pass. Live probes only need the outputs of layers already known, so the replay keeps
just enough to find them again: each recorded Layer has a ``site`` -- the k-th call of a leaf
module, or the n-th torch function call made outside leaf modules -- and the replay counts calls
the same way. No tensor is tracked and nothing is copied, unless a later op overwrites a
captured output in place (``x += y``, ``ReLU(inplace=True)``): calibration finds those with the
tensors' version counters, switches ``inplace`` modules that overwrite a captured output to out
of place (same values, one more buffer; ``restore()`` undoes it) and clones the rest at capture.

A replay whose calls do not line up with the recording (value-dependent control flow, another
input shape) reports it, and the caller records again.
"""
from __future__ import annotations

import torch
from torch import Tensor, _C, nn
from torch.nn.modules import module as _module_mod
from torch.overrides import TorchFunctionMode

from engine.model.graph import LayerGraph
from engine.model.inputs import ExampleInputs
from engine.model.recorder import ATOMIC_MODULES, _flat, _to_device

__all__ = ["Replayer", "ReplayMismatch"]


class ReplayMismatch(RuntimeError):
    """The forward pass did not make the calls the recording saw (``structural``: record
    again), or overwrote a captured output in place (cloned from the next run on)."""

    def __init__(self, message: str, structural: bool = True) -> None:
        super().__init__(message)
        self.structural = structural


def _item0(t: Tensor) -> Tensor:
    t = t.detach()
    return t[0] if t.dim() > 1 else t


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
        lid = r.func_sites.get(call)
        if lid is not None:
            first = out if isinstance(out, Tensor) else next(iter(_flat(out, [])), None)
            if first is not None:
                r._capture(lid, first)
        return out


class Replayer:
    """Runs a model and returns ``{layer id: output (batch item 0)}`` for the chosen layers."""

    def __init__(self, model: nn.Module, graph: LayerGraph, layer_ids: set[int],
                 rename: dict[int, int] | None = None) -> None:
        """``layer_ids``: layers of ``graph`` to capture; ``rename`` maps their ids to the ids
        reported (a recording made again numbers layers afresh)."""
        self.model = model
        self.graph = graph
        mods = dict(model.named_modules())
        self.leaf_sites: dict[int, dict[int, int]] = {}     # id(module) -> {k-th call: layer id}
        self.func_sites: dict[int, int] = {}                # call index -> layer id
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
            elif site[0] == "input":
                self.input_sites[int(site[1])] = lid
        self.leaf_mods = [m for m in model.modules() if id(m) in self.leaf_sites]
        self.clone: set[int] = set()          # layer ids cloned at capture (overwritten in place later)
        self.flipped: list[nn.Module] = []    # inplace modules switched to out of place
        self.calibrated = False
        self.fcalls = 0
        self.leaf = 0
        self._popped = False
        self._calls: dict[int, int] = {}
        self._raw: list[tuple[int, Tensor, int]] = []    # (layer id, output, its version) in call order
        self._versions: dict[int, int] = {}
        self._mode = _Mode(self)
        self._watch: dict[int, int] | None = None    # calibration: data_ptr -> layer id
        self._to_flip: set[nn.Module] = set()

    # ------------------------------------------------------------------ hooks
    def _capture(self, lid: int, t: Tensor) -> None:
        """As little as possible while the forward pass runs (work between ops costs more than
        its own time: the intra-op threads go idle); views and checks come after the pass."""
        if lid in self.clone:
            t = _item0(t).clone()
        self._raw.append((lid, t, t._version))
        if self._watch is not None:
            self._watch[t.data_ptr()] = lid

    def _pre(self, mod, args):
        if self.leaf:
            self.leaf += 1
        elif not mod._modules or isinstance(mod, ATOMIC_MODULES):
            self.leaf = 1
            n = _C._len_torch_function_stack()
            if n and _C._get_function_stack_at(n - 1) is self._mode:
                _C._pop_torch_function_stack()
                self._popped = True
        else:
            return
        if self._watch is not None:     # a leaf, the mode is off: tensor calls here are not counted
            self._watch_pre(mod, args)

    def _post(self, mod, args, out):
        if not self.leaf:
            return
        if self.leaf == 1:
            sites = self.leaf_sites.get(id(mod))
            if sites is not None:
                k = self._calls.get(id(mod), 0)
                self._calls[id(mod)] = k + 1
                lid = sites.get(k)
                if lid is not None:
                    first = next(iter(_flat(out, [])), None)
                    if first is not None:
                        self._capture(lid, first)
            if self._popped:
                _C._push_on_torch_function_stack(self._mode)
                self._popped = False
        self.leaf -= 1

    def _leaf_post(self, mod, args, out):   # hooks on the chosen leaf modules only (no function sites)
        sites = self.leaf_sites[id(mod)]
        k = self._calls.get(id(mod), 0)
        self._calls[id(mod)] = k + 1
        lid = sites.get(k)
        if lid is not None:
            first = next(iter(_flat(out, [])), None)
            if first is not None:
                self._capture(lid, first)

    def _watch_pre(self, mod, args):
        if getattr(mod, "inplace", False) is True and args and isinstance(args[0], Tensor) \
                and args[0].data_ptr() in self._watch:
            self._to_flip.add(mod)

    # ------------------------------------------------------------------ running
    def _forward(self, inputs: ExampleInputs) -> dict[int, Tensor]:
        device = next((p.device for p in self.model.parameters()), None)
        args, kwargs = inputs.args, inputs.kwargs
        if device is not None:
            args, kwargs = _to_device(args, device), _to_device(kwargs, device)
        self.fcalls = self.leaf = 0
        self._calls, self._raw = {}, []
        for i, t in enumerate(_flat(kwargs, _flat(args, []))):
            lid = self.input_sites.get(i)
            if lid is not None:
                self._capture(lid, t)
        training = [m for m in self.model.modules() if m.training]
        handles = []
        use_mode = bool(self.func_sites)
        try:
            for m in training:
                m.training = False
            if use_mode:
                handles.append(_module_mod.register_module_forward_pre_hook(self._pre))
                handles.append(_module_mod.register_module_forward_hook(self._post))
            else:
                handles += [m.register_forward_hook(self._leaf_post) for m in self.leaf_mods]
                if self._watch is not None:
                    handles.append(_module_mod.register_module_forward_pre_hook(self._watch_pre))
            with torch.no_grad():
                if use_mode:
                    self._mode.__enter__()
                    try:
                        self.model(*args, **kwargs)
                    finally:
                        if not self._popped:
                            self._mode.__exit__(None, None, None)
                        self._popped = False
                        self.leaf = 0
                else:
                    self.model(*args, **kwargs)
        finally:
            for h in handles:
                h.remove()
            for m in training:
                m.training = True
        out: dict[int, Tensor] = {}
        self._versions = {}
        for lid, t, version in self._raw:
            out[lid] = t if lid in self.clone else _item0(t)
            self._versions[lid] = version
        self._raw = []
        missing = [lid for lid in self.shapes if lid not in out]
        bad = [lid for lid, t in out.items() if tuple(t.shape) != self.shapes[lid]]
        if missing or bad:
            raise ReplayMismatch(f"{len(missing)} layers not found, {len(bad)} with another shape")
        return out

    def calibrate(self, inputs: ExampleInputs) -> None:
        """Find captured outputs that later ops overwrite in place; switch the ``inplace``
        modules among those ops out of place and clone the remaining ones at capture."""
        self.clone = set()
        self._watch, self._to_flip = {}, set()
        try:
            self._forward(inputs)
        finally:
            self._watch = None
        for m in self._to_flip:
            m.inplace = False
            self.flipped.append(m)
        out = self._forward(inputs)
        self.clone = {lid for lid, t in out.items() if t._version != self._versions[lid]}
        self.calibrated = True

    def run(self, inputs: ExampleInputs) -> dict[int, Tensor]:
        """One forward pass; outputs by layer id (batch item 0, the model's own tensors)."""
        if self.unplayable:
            raise ReplayMismatch(f"layers without a replay site: {', '.join(self.unplayable[:3])}")
        if not self.calibrated:
            self.calibrate(inputs)
        out = self._forward(inputs)
        changed = [lid for lid, t in out.items() if t._version != self._versions[lid]]
        if changed:       # an in-place write the calibration did not see: clone them from now on
            self.clone |= set(changed)
            raise ReplayMismatch(f"{len(changed)} captured outputs were overwritten in place", structural=False)
        return out

    def restore(self) -> None:
        """Switch the modules made out of place back to ``inplace=True``."""
        for m in self.flipped:
            m.inplace = True
        self.flipped = []
