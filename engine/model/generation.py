"""Token-by-token generation of a causal language model with its KV cache, and the chosen layers'
outputs of every step.

The prompt runs once without a cache; every later step feeds one token and the cache. Each kind of
step makes other calls than the recorded scene (the cache's own ops), so each is recorded once
(shapes only) and replayed (engine/model/replay.py) with its layers matched to the scene's by name:
a step costs a replayed forward, not a recording. Token choice is greedy, or sampled at a
temperature from a seeded generator, so the same settings give the same text.
"""
from __future__ import annotations

import copy
import inspect

import torch
from torch import Tensor, nn

from engine.model.errors import ModelError, first_line
from engine.model.graph import LayerGraph
from engine.model.inputs import ExampleInputs
from engine.model.replay import Replayer, ReplayMismatch

__all__ = ["causal_lm_problem", "context_length", "cache_of", "TokenChooser", "generate_tokens", "StepCapture"]


def causal_lm_problem(model: nn.Module, name: str) -> str | None:
    """Why ``model`` cannot generate text token by token (None: it can)."""
    cfg = getattr(model, "config", None)
    can = getattr(model, "can_generate", None)
    if cfg is None or not callable(can) or not can():
        return (f"{name!r} is not a causal language model (it has no language-model head to generate "
                f"with); --generate needs one, e.g. pydoc-gpt or gpt2")
    if getattr(cfg, "is_encoder_decoder", False):
        return f"{name!r} is an encoder-decoder model; --generate supports decoder-only models such as pydoc-gpt"
    return None


def context_length(model: nn.Module) -> int | None:
    """Longest sequence the model takes (its position embeddings), or None when it does not say."""
    cfg = getattr(model, "config", None)
    for key in ("n_positions", "max_position_embeddings", "n_ctx"):
        v = getattr(cfg, key, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


class TokenChooser:
    """Greedy (temperature 0) or sampled from softmax(logits / temperature) with a seeded generator."""

    def __init__(self, temperature: float = 0.0, seed: int = 0) -> None:
        self.temperature, self.seed = float(temperature), int(seed)
        self.reset()

    def reset(self) -> None:
        self.gen = torch.Generator().manual_seed(self.seed)

    def __call__(self, logits: Tensor) -> int:
        logits = logits.detach().float().cpu()
        if self.temperature <= 0:
            return int(torch.argmax(logits))
        p = torch.softmax(logits / self.temperature, dim=-1)
        return int(torch.multinomial(p, 1, generator=self.gen))


_CACHE_KWARG: dict[type, str] = {}


def _cache_kwarg(model: nn.Module) -> str:
    """The forward's name for the KV cache: ``cache`` (transformers >= 5.2x) or ``past_key_values``."""
    name = _CACHE_KWARG.get(type(model))
    if name is None:
        try:
            params = inspect.signature(model.forward).parameters
        except (TypeError, ValueError):
            params = {}
        name = _CACHE_KWARG[type(model)] = "cache" if "cache" in params else "past_key_values"
    return name


def cache_of(output) -> object:
    """The KV cache a forward returned."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else getattr(output, "past_key_values", None)


def _step_inputs(model: nn.Module, ids: list[int], cache, device) -> ExampleInputs:
    kw = {"input_ids": torch.tensor([ids], dtype=torch.int64, device=device), "use_cache": True}
    if cache is not None:
        kw[_cache_kwarg(model)] = cache
    return ExampleInputs((), kw, "language")


def _device(model: nn.Module) -> torch.device:
    return next((p.device for p in model.parameters()), torch.device("cpu"))


@torch.no_grad()
def generate_tokens(model: nn.Module, prompt: list[int], n: int, chooser: TokenChooser) -> list[int]:
    """``n`` tokens after ``prompt``, a bare KV-cache loop (the reference a captured step is measured against)."""
    chooser.reset()
    device = _device(model)
    try:
        out = model(**_step_inputs(model, prompt, None, device).kwargs)
        tokens: list[int] = []
        for k in range(n):
            tokens.append(chooser(out.logits[0, -1]))
            if k + 1 < n:
                out = model(**_step_inputs(model, tokens[-1:], cache_of(out), device).kwargs)
    except Exception as e:  # noqa: BLE001 - whatever the model raises
        raise ModelError(f"generating with the model failed: {first_line(e)}") from e
    return tokens


class StepCapture:
    """Runs generation steps and returns the scene's layers' outputs of each step, by scene layer id."""

    def __init__(self, model: nn.Module, graph: LayerGraph, layer_ids: set[int], map_depth: int = 2) -> None:
        self.model, self.graph, self.layer_ids, self.map_depth = model, graph, set(layer_ids), map_depth
        self.device = _device(model)
        self._by_name = {l.name: l for l in graph.layers if l.id in self.layer_ids
                         and (l.kind != "input" or l.name == "input")}
        self._replayers: dict[str, Replayer] = {}
        self.matched: dict[str, int] = {}       # step kind -> scene layers found in it

    def _replayer(self, kind: str, inputs: ExampleInputs) -> Replayer:
        """The replayer of a step kind ("prompt" / "next"), made on first use from a recording of the
        step on copies of its inputs (the recording and calibration must not grow the real cache)."""
        rep = self._replayers.get(kind)
        if rep is not None:
            return rep
        from engine.model.recorder import record
        probe = ExampleInputs(inputs.args, copy.deepcopy(inputs.kwargs), inputs.family)
        step_graph = record(self.model, probe, capture=False, top_k=0, name=self.graph.model_name)
        ids, rename = set(), {}
        for l in step_graph.layers:
            target = self._by_name.get(l.name)
            if target is not None and len(l.shape) == len(target.shape):
                ids.add(l.id)
                rename[l.id] = target.id
        rep = Replayer(self.model, step_graph, ids, rename, map_depth=self.map_depth, fixed_shapes=False)
        rep.calibrate(ExampleInputs(inputs.args, copy.deepcopy(inputs.kwargs), inputs.family))
        self._replayers[kind] = rep
        self.matched[kind] = len(ids)
        return rep

    @torch.no_grad()
    def step(self, ids: list[int], cache) -> tuple[dict[int, Tensor], object]:
        """Run ``ids`` (the prompt when ``cache`` is None, else one new token) -> (outputs by scene
        layer id, batch item 0; the model's output: ``logits`` and the cache, see cache_of)."""
        inputs = _step_inputs(self.model, ids, cache, self.device)
        rep = self._replayer("prompt" if cache is None else "next", inputs)
        try:
            values = rep.run(inputs, keep_output=True)
        except ReplayMismatch as e:
            raise ModelError(f"a generation step made other calls than the first one ({e}); "
                             f"the model's forward depends on the step") from e
        except Exception as e:  # noqa: BLE001 - whatever the model raises
            raise ModelError(f"generation step failed: {first_line(e)}") from e
        out, rep.output = rep.output, None
        return values, out

    def close(self) -> None:
        for rep in self._replayers.values():
            rep.restore()
