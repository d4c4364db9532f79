"""Why the model decided: attributions of one output, computed with Captum and drawn on the network.

The input slab shows the input attribution of the chosen method (gradient saliency, gradient x
input, Integrated Gradients, or Grad-CAM on a conv layer, upsampled to the input); every layer shows
its own activation x gradient for the same output, so what mattered lights up through the whole
network: modules called once through Captum's layer hooks, the rest (residual sums and other torch
functions, modules called several times, modules returning tuples) through a replay of the pass with
autograd on (engine/model/replay.py). Attention probabilities computed beside a fused attention call
and recomputed RNN states are not on the path to the output: they have no gradient and stay blank. The output explained is ``target`` (the top class by default); the
top-5 predictions are named with the model's categories where they are known offline.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from engine.compute.errors import InputError
from engine.model.graph import LayerGraph
from engine.model.inputs import ExampleInputs

__all__ = ["METHODS", "Explanation", "explain", "apply_to_scene", "categories_for"]

METHODS = ("saliency", "gxi", "ig", "gradcam")
_TUPLE_OUTPUTS = (nn.MultiheadAttention, nn.RNNBase)     # modules returning tuples: not hooked by Captum
IG_STEPS = 50


@dataclass
class Explanation:
    method: str
    target: int
    input_map: np.ndarray                       # attribution of each input element (batch item 0), input's shape
    layers: dict[int, np.ndarray] = field(default_factory=dict)   # layer id -> activation x gradient, flat
    top: list[tuple[int, str, float]] = field(default_factory=list)   # (class, name, probability), top-5
    delta: float | None = None                  # Integrated Gradients: sum(attr) - (f(x) - f(baseline))

    def hud(self) -> list[str]:
        """Lines for the HUD: the method and output explained, then the top-5 predictions."""
        name = next((n for c, n, _ in self.top if c == self.target), str(self.target))
        lines = [f"explaining output {self.target} ({name}) with {self.method}"]
        lines += [f"  {p:6.1%}  {c:>5}  {n}" for c, n, p in self.top]
        return lines


def categories_for(model_name: str) -> list[str] | None:
    """Class names of a torchvision classifier from its weights' metadata (offline), else None."""
    try:
        import torchvision
        weights = torchvision.models.get_model_weights(model_name)
        return list(weights.DEFAULT.meta["categories"])
    except Exception:  # noqa: BLE001 - not a torchvision model, or no categories
        return None


def _logits(out) -> torch.Tensor:
    """(batch, outputs) scores: a classifier's logits, or a sequence model's last position (its next token)."""
    t = out if isinstance(out, torch.Tensor) else getattr(out, "logits", None)
    if t is None and isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        t = out[0]
    if not isinstance(t, torch.Tensor):
        raise InputError("--explain needs a model whose output is a tensor of scores (a classifier's logits)")
    if t.dim() == 3:
        t = t[:, -1]
    return t.reshape(t.shape[0], -1)


def _leaf_modules(model: nn.Module, graph: LayerGraph) -> list[tuple[int, nn.Module]]:
    """(layer id, module) of the layers that are a leaf module's only call."""
    mods = dict(model.named_modules())
    calls: dict[str, int] = {}
    for l in graph.layers:
        if l.site and l.site[0] == "leaf":
            calls[l.site[1]] = calls.get(l.site[1], 0) + 1
    return [(l.id, mods[l.site[1]]) for l in graph.layers
            if l.site and l.site[0] == "leaf" and calls[l.site[1]] == 1 and l.site[1] in mods
            and not isinstance(mods[l.site[1]], _TUPLE_OUTPUTS)]


def explain(model: nn.Module, graph: LayerGraph, inputs: ExampleInputs, method: str = "ig",
            target: int | None = None, categories: list[str] | None = None, steps: int = IG_STEPS) -> Explanation:
    """Attributions of output ``target`` (default: the top one) for ``inputs``' first floating-point
    tensor; for a model of token ids, for its ids through its first nn.Embedding (Captum's layer methods:
    a token's attribution is the sum over its embedding; a language model's output is the next token's)."""
    from captum.attr import (InputXGradient, IntegratedGradients, LayerAttribution, LayerGradCam,
                             LayerGradientXActivation, LayerIntegratedGradients, Saliency)
    if method not in METHODS:
        raise InputError(f"--explain {method!r} is not a method: use one of {', '.join(METHODS)}")
    args, kwargs = list(inputs.args), dict(inputs.kwargs)
    slots = [("a", i) for i, a in enumerate(args)] + [("k", k) for k in kwargs]
    tensors = [s for s in slots if isinstance(_get(args, kwargs, s), torch.Tensor)]
    slot = next((s for s in tensors if _get(args, kwargs, s).is_floating_point()), None)
    embedding = None
    if slot is None:
        embedding = next((m for m in model.modules() if isinstance(m, nn.Embedding)), None)
        slot = next((s for s in tensors if not _get(args, kwargs, s).is_floating_point()
                     and _get(args, kwargs, s).dtype != torch.bool), None)
        if embedding is None or slot is None:
            raise InputError("--explain needs a floating-point input (an image, a signal) or token ids read by an "
                             "nn.Embedding")
        if method == "gradcam":
            raise InputError("--explain gradcam needs an image model; for token ids use ig, gxi or saliency")
    x = _get(args, kwargs, slot).detach().clone()

    def forward(xx):           # (Captum batches the explained input: the other inputs follow its batch)
        n = xx.shape[0]
        grow = lambda v: v.expand(n, *v.shape[1:]) if isinstance(v, torch.Tensor) and v.dim() and v.shape[0] == 1 \
            and n > 1 else v  # noqa: E731
        a, k = [grow(v) for v in args], {key: grow(v) for key, v in kwargs.items()}
        if slot[0] == "a":
            a[slot[1]] = xx
        else:
            k[slot[1]] = xx
        return _logits(model(*a, **k))

    with torch.no_grad():
        scores = forward(x)
    n = scores.shape[1]
    if target is None:
        target = int(scores[0].argmax())
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < n:
        raise InputError(f"--target {target!r} is out of range: the model has {n} outputs (0..{n - 1})")
    probs = torch.softmax(scores[0].float(), -1)
    top = [(int(c), categories[int(c)] if categories and int(c) < len(categories) else str(int(c)),
            float(probs[c])) for c in probs.topk(min(5, n)).indices]
    delta = None
    warnings.filterwarnings("ignore", message="Input Tensor .* did not already require gradients")
    try:
        if embedding is not None:             # token ids: through the embedding, summed per token
            if method == "ig":
                attr, d = LayerIntegratedGradients(forward, embedding).attribute(
                    x, baselines=torch.zeros_like(x), target=target, n_steps=steps, internal_batch_size=10,
                    return_convergence_delta=True)
                delta = float(d.abs().max())
            else:
                attr = LayerGradientXActivation(forward, embedding, multiply_by_inputs=method == "gxi").attribute(
                    x, target=target)
            attr = attr.sum(-1)
        elif method == "saliency":
            attr = Saliency(forward).attribute(x, target=target, abs=False)
        elif method == "gxi":
            attr = InputXGradient(forward).attribute(x, target=target)
        elif method == "ig":
            attr, d = IntegratedGradients(forward).attribute(x, target=target, n_steps=steps, internal_batch_size=10,
                                                             return_convergence_delta=True)
            delta = float(d.abs().max())
        else:
            convs = [m for _, m in _leaf_modules(model, graph) if isinstance(m, nn.Conv2d)]
            if not convs or x.dim() != 4:
                raise InputError("--explain gradcam needs a model with a Conv2d layer and an image input; use ig")
            cam = LayerGradCam(forward, convs[-1]).attribute(x, target=target, relu_attributions=True)
            attr = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), "bilinear").expand_as(x)
        out = replayed_layer_attributions(model, graph, inputs, target, scores)
        if out is None:                       # a pass the replay cannot follow: Captum's hooks on single-call modules
            layers = _leaf_modules(model, graph)
            per = LayerGradientXActivation(forward, [m for _, m in layers]).attribute(x, target=target) \
                if layers else []
            per = per if isinstance(per, (list, tuple)) else [per]
            out = {lid: (a[0] if a.dim() > 1 else a).detach().float().reshape(-1).numpy()
                   for (lid, _), a in zip(layers, per) if isinstance(a, torch.Tensor)}
    except InputError:
        raise
    except RuntimeError as e:
        raise InputError(f"--explain {method}: the model cannot be differentiated on this input "
                         f"({str(e).splitlines()[0][:160]})") from e
    return Explanation(method, target, attr[0].detach().float().numpy(), out, top, delta)





def replayed_layer_attributions(model: nn.Module, graph: LayerGraph, inputs: ExampleInputs, target: int,
                                expected: torch.Tensor) -> dict[int, np.ndarray] | None:
    """Activation x gradient of output ``target`` for every layer the replay finds (leaf module calls,
    torch-function layers): one forward pass with autograd on, capturing each layer's tensor, and one
    backward. Layers off the output's path get none. No calibration (a few forward passes): in-place
    modules run out of place and every captured tensor is handed on as an alias on which ``x += y``
    makes a new tensor; the pass counts only if its output equals ``expected`` (the plain forward's
    scores); otherwise, or when something still wrote over a captured tensor, the replay calibrates
    and tries once more. None: it cannot follow this model."""
    from engine.model.replay import Replayer, ReplayMismatch
    ids = {l.id for l in graph.layers if l.site and l.site[0] in ("func", "leaf")}
    if not ids:
        return {}
    rep = Replayer(model, graph, ids)
    flipped = [m for m in model.modules()          # torch's own (ReLU ...): a user's ``inplace`` may mean anything
               if getattr(m, "inplace", None) is True and type(m).__module__.startswith("torch.nn.")]
    kept: dict[int, torch.Tensor] = {}

    def keep(lid: int, t: torch.Tensor) -> None:
        if t.requires_grad:
            t.retain_grad()
            kept[lid] = t

    def attempt() -> bool:
        kept.clear()
        try:
            rep.run(inputs, keep, keep_output=True, grad=True)
        except ReplayMismatch:
            return False
        scores = _logits(rep.output)
        if scores.shape != expected.shape or not torch.allclose(scores.detach(), expected, rtol=1e-4, atol=1e-5):
            return False
        scores[0, target].backward()
        return True

    for m in flipped:
        m.inplace = False
    try:
        rep.rebind, rep.calibrated = set(ids), True
        if not attempt():
            rep.rebind, rep.clone = set(), set()
            rep.calibrate(inputs)
            if not attempt():
                return None
    except (RuntimeError, InputError):
        return None
    finally:
        for m in flipped:
            m.inplace = True
        rep.output = None
        model.zero_grad(set_to_none=True)
    return {lid: (t.grad * t)[0].detach().float().reshape(-1).numpy()
            for lid, t in kept.items() if t.grad is not None}


def _get(args, kwargs, slot):
    return args[slot[1]] if slot[0] == "a" else kwargs[slot[1]]


def apply_to_scene(scene, graph: LayerGraph, ex: Explanation) -> int:
    """Each slab shows the magnitude of its attribution (a signed map averages to nothing at a
    distance; layers without one go blank); returns how many slabs got one."""
    by_kind = {l.id: l.kind for l in graph.layers}
    inputs = [s for s in scene.slabs if by_kind.get(s.layer_id) == "input"]
    n = 0
    for s in scene.slabs:
        v = ex.layers.get(s.layer_id)
        if v is None and inputs and s is inputs[0]:
            v = ex.input_map.reshape(-1)
        if v is not None and v.size == s.count:
            a = np.abs(np.nan_to_num(v)).astype(np.float32)
            m = float(np.percentile(a, 99.5)) if a.size > 200 else float(a.max(initial=0.0))   # spikes saturate
            s.values, s.signed, s.scale = a, False, (1.0 / m if m > 0 else 1.0)
            n += 1
        else:
            s.values, s.signed, s.scale = np.zeros(s.count, np.float32), False, 1.0
    return n
