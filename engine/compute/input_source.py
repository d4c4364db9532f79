"""InputSource: a list of model-ready inputs shaped like the model's example input, and what every kind of
--input shares: the perturbation of a single input in live mode (see engine/compute/inputs.py), the example
input itself (ExampleSource) and lists of images (ImageListSource)."""
from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from engine.compute import images as _img
from engine.compute.errors import InputError
from engine.model.inputs import ExampleInputs

__all__ = ["InputSource", "ExampleSource", "ImageListSource", "image_plan", "keyed_generator", "salt", "token_locs",
           "tensor_at", "short", "drift", "PERTURB", "HOLD", "TOKEN_PERIOD", "CACHE"]

PERTURB = 0.15     # live: amplitude of the smooth noise added to a single float input
HOLD = 30          # live: frames each input of a list is shown
TOKEN_PERIOD = 10  # live: frames between two token replacements of a single text input
CACHE = 64         # inputs kept made per source


def keyed_generator(*keys: int) -> torch.Generator:
    """A CPU generator seeded by the keys (the same keys, the same numbers)."""
    state = np.random.SeedSequence([int(k) % (1 << 32) for k in keys]).generate_state(2)
    return torch.Generator().manual_seed(int(state[0]) << 31 ^ int(state[1]))


def salt(loc: tuple) -> int:
    """A small number that tells an input's tensors apart (mixed into their noise keys)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(repr(loc))) % 100003


def token_locs(example: ExampleInputs) -> tuple[tuple | None, tuple | None, tuple | None]:
    """Locations of (input_ids, attention_mask, token_type_ids) in the example; ids: kwargs["input_ids"] or the
    first integer tensor."""
    kw = example.kwargs or {}
    ids = ("kwargs", "input_ids") if isinstance(kw.get("input_ids"), torch.Tensor) else None
    if ids is None:
        for loc, t in _img.example_leaves(example):
            if not t.is_floating_point() and t.dtype != torch.bool and t.dim() >= 1:
                ids = loc
                break
    mask = ("kwargs", "attention_mask") if isinstance(kw.get("attention_mask"), torch.Tensor) else None
    types = ("kwargs", "token_type_ids") if isinstance(kw.get("token_type_ids"), torch.Tensor) else None
    return ids, mask, types


def tensor_at(example: ExampleInputs, loc: tuple) -> torch.Tensor:
    """The tensor of ``example`` at a location of images.example_leaves()."""
    obj: Any = example.args if loc[0] == "args" else example.kwargs
    for k in loc[1:]:
        obj = obj[k]
    return obj


def short(text: str, n: int = 24) -> str:
    """``text`` cut to ``n`` characters with an ellipsis."""
    return text if len(text) <= n else text[: n - 1] + "…"


def _key_noise(shape, keys: tuple, cache: OrderedDict) -> torch.Tensor:
    if keys not in cache:
        cache[keys] = torch.randn(*shape, generator=keyed_generator(*keys))
        while len(cache) > 16:
            cache.popitem(last=False)
    return cache[keys]


def drift(shape, t: int, period: int, keys: tuple, cache: OrderedDict) -> torch.Tensor:
    """Unit-variance noise that moves smoothly from one seeded field to the next every ``period`` frames."""
    period = max(1, int(period))
    k, f = divmod(int(t), period)
    a = _key_noise(shape, keys + (k,), cache)
    b = _key_noise(shape, keys + (k + 1,), cache)
    th = 0.5 * math.pi * f / period
    return a * math.cos(th) + b * math.sin(th)


class InputSource:
    """A list of model-ready inputs. Subclasses set ``label`` and implement ``_make(i)`` / ``_name(i)``."""

    label: str = "input"
    hold: int = HOLD
    token_period: int = TOKEN_PERIOD
    amplitude: float = PERTURB

    def __init__(self, example: ExampleInputs, *, n: int, seed: int = 0, vocab_size: int = 2,
                 special_ids: set[int] | None = None):
        self.example = example
        self.seed = int(seed)
        self._n = int(n)
        self.vocab_size = int(vocab_size)
        self.special_ids = set(special_ids or ())
        self._ids_loc, self._mask_loc, self._types_loc = token_locs(example)
        self._cache: OrderedDict[int, ExampleInputs] = OrderedDict()
        self._noise: OrderedDict = OrderedDict()

    # -- public API
    def __len__(self) -> int:
        return self._n

    def get(self, i: int) -> ExampleInputs:
        """The i-th input (i wraps around modulo len); fresh tensors each call."""
        i = int(i) % self._n
        if i not in self._cache:
            self._cache[i] = self._make(i)
            while len(self._cache) > CACHE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(i)
        return _img.rebuild(self._cache[i], {})

    def describe(self, i: int) -> str:
        i = int(i) % self._n
        name = self._name(i)
        return name if self._n == 1 else f"{name} ({i + 1}/{self._n})"

    def index(self, t: int, live: bool) -> int:
        """Which input frame(t, live) shows."""
        return (int(t) // max(1, self.hold)) % self._n if live else 0

    def describe_frame(self, t: int, live: bool) -> str:
        text = self.describe(self.index(t, live))
        return text + (" ~live" if live and self._n == 1 else "")

    def frame(self, t: int, live: bool = False) -> ExampleInputs:
        if not live:
            return self.get(0)
        if self._n > 1:
            return self.get(self.index(t, live))
        return self._perturb(self.get(0), int(t))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label!r} x{self._n}>"

    # -- for subclasses
    def _make(self, i: int) -> ExampleInputs:
        raise NotImplementedError

    def _name(self, i: int) -> str:
        return self.label

    def _perturb(self, base: ExampleInputs, t: int) -> ExampleInputs:
        if self._ids_loc is not None:
            return self._perturb_tokens(base, t)
        new = {}
        for loc, x in _img.example_leaves(base):
            if x.is_floating_point():
                new[loc] = (x.float() + self.amplitude * self._smooth(loc, x.shape, t)).to(x.dtype)
        return _img.rebuild(base, new)

    def _smooth(self, loc: tuple, shape, t: int) -> torch.Tensor:
        """Noise smooth in t (and in space for images: a coarse field upsampled bilinearly)."""
        shape = tuple(shape)
        keys = (self.seed, 7, salt(loc))
        if len(shape) in (3, 4, 5) and min(shape[-2:]) >= 8:
            h, w = shape[-2:]
            lead = shape[:-2]
            coarse = (max(1, math.prod(lead)), 1, max(2, h // 8), max(2, w // 8))
            field = drift(coarse, t, self.hold, keys, self._noise)
            field = F.interpolate(field, size=(h, w), mode="bilinear", align_corners=True)
            return field.reshape(shape) * 1.5  # bilinear upsampling leaves std ~2/3: bring it back near 1
        return drift(shape, t, self.hold, keys, self._noise)

    def _real_positions(self, ex: ExampleInputs) -> list[int]:
        ids = tensor_at(ex, self._ids_loc).reshape(-1)
        mask = tensor_at(ex, self._mask_loc).reshape(-1) if self._mask_loc is not None else torch.ones_like(ids)
        return [p for p in range(ids.numel()) if int(mask[p]) != 0 and int(ids[p]) not in self.special_ids]

    def _perturb_tokens(self, base: ExampleInputs, t: int) -> ExampleInputs:
        pos = self._real_positions(base)
        if not pos:
            return base
        k = t // max(1, self.token_period)
        g = keyed_generator(self.seed, 11, k)
        p = pos[int(torch.randint(0, len(pos), (1,), generator=g))]
        lo = 1000 if self.vocab_size >= 10000 else 0  # skip the special/[unused]/byte ids of large vocabularies
        new_id = int(torch.randint(lo, self.vocab_size, (1,), generator=g))
        ids = tensor_at(base, self._ids_loc).clone()
        flat = ids.view(-1)
        flat[p] = new_id
        return _img.rebuild(base, {self._ids_loc: ids})


class ExampleSource(InputSource):
    label = "example"

    def _make(self, i):
        return _img.rebuild(self.example, {})

    def _name(self, i):
        return "example input"


class ImageListSource(InputSource):
    """Images from loaders (files, a folder, sample photos, digits, video frames)."""

    def __init__(self, label: str, plan: _img.ImagePlan, names: list[str],
                 load: Callable[[int], torch.Tensor], **kw):
        super().__init__(plan.example, n=len(names), **kw)
        self.label = label
        self.plan = plan
        self.names = names
        self._load = load

    def _make(self, i):
        return self.plan.apply(self._load(i))

    def _name(self, i):
        return self.names[i]


def image_plan(example: ExampleInputs, model_spec: str, what: str, token_model: bool) -> _img.ImagePlan:
    """How images fill the example (an InputError if the model takes token ids: ``what`` names the input)."""
    if token_model:
        raise InputError(f"{what} needs an image model, but this model takes token ids; give it text "
                         f"(--input 'text:...') or use an image model (e.g. resnet18, cnn)")
    return _img.ImagePlan(example, model_spec)
