"""Input sources for the live viewer: what the model sees, frame after frame.

``open_input(spec, example=..., family=..., model_spec=..., seed=...)`` returns an ``InputSource``; the viewer
calls ``source.frame(t, live)`` every frame. Every input is model-ready: the same structure, keys, shapes and
dtypes as the model's example input (batch 1, CPU), so the recorded graph stays valid.

Spec forms (``ACCEPTED`` lists them for error messages):

  None / "example"   the model's own example input (1 input)
  path/to/img.png    an image (.png .jpg .jpeg .bmp .gif .webp .tif); see engine.compute.images for the
                     resizing (shorter side, centre crop), channel mapping and ImageNet normalization
  path/to/folder     every image in it, sorted by file name
  path/to/clip.mp4   a video (.mp4 .avi .mov .mkv .webm), decoded with imageio-ffmpeg's bundled ffmpeg;
                     the first ``max_frames`` (300) frames are kept, scaled down to the model's size
  digits             scikit-learn's 1797 8x8 digits (0..16 -> [0, 1]); describe() gives the true label
  sample-photo/photo scikit-learn's sample images china.jpg and flower.jpg
  noise              seeded Gaussian noise of the example's shape (token inputs: random ids in the vocab)
  text:...           text for language models (any other string also means text when the model takes
                     token ids); see engine.compute.text for the tokenizers and the byte-level fallback

``frame(t, live=False)`` is always ``get(0)``. ``frame(t, live=True)`` shows input ``(t // hold) % len`` (each
for ``hold`` frames: 30, video 1 so it plays at the viewer's frame rate); a source of one input is perturbed
instead, deterministically in (seed, t): float inputs get ``+ 0.15 * smooth noise`` that drifts from one random
field to the next every ``hold`` frames (spatially smooth for images), token inputs get one real token position
replaced by a random id every ``token_period`` (10) frames; "noise" becomes a fresh noise field that drifts
smoothly (``cos/sin`` blend of seeded keys, so it keeps unit variance).
"""
from __future__ import annotations

import math
import os
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from engine.compute import images as _img
from engine.compute import text as _text
from engine.compute.errors import InputError
from engine.model.example import vocab_size as model_vocab_size
from engine.model.inputs import ExampleInputs
from engine.model.registry import canonical_name, declared_vocab_size

__all__ = ["InputError", "InputSource", "open_input", "ACCEPTED"]

ACCEPTED = ("example, an image file (.png .jpg .jpeg .bmp .gif .webp .tif), a folder of images, a video "
            "(.mp4 .avi .mov .mkv .webm), digits, sample-photo, noise, or text:... (language models)")
PERTURB = 0.15
HOLD = 30
TOKEN_PERIOD = 10
CACHE = 64


# ---------------------------------------------------------------- helpers
def _gen(*keys: int) -> torch.Generator:
    state = np.random.SeedSequence([int(k) % (1 << 32) for k in keys]).generate_state(2)
    return torch.Generator().manual_seed(int(state[0]) << 31 ^ int(state[1]))


def _salt(loc: tuple) -> int:
    return sum((i + 1) * ord(c) for i, c in enumerate(repr(loc))) % 100003


def _token_locs(example: ExampleInputs) -> tuple[tuple | None, tuple | None, tuple | None]:
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


def _at(example: ExampleInputs, loc: tuple) -> torch.Tensor:
    obj: Any = example.args if loc[0] == "args" else example.kwargs
    for k in loc[1:]:
        obj = obj[k]
    return obj


def _vocab(example: ExampleInputs, ids_loc, model, model_spec: str, vocab_size: int | None) -> int:
    if vocab_size:
        return int(vocab_size)
    if model is not None:
        v = model_vocab_size(model)
        if v:
            return int(v)
    v = declared_vocab_size(model_spec)  # the registry's language models, when no model is given
    if v:
        return v
    if ids_loc is not None:  # ids of the example are valid: stay within them
        return int(_at(example, ids_loc).max().item()) + 1
    return 2


def _short(text: str, n: int = 24) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _key_noise(shape, keys: tuple, cache: OrderedDict) -> torch.Tensor:
    if keys not in cache:
        cache[keys] = torch.randn(*shape, generator=_gen(*keys))
        while len(cache) > 16:
            cache.popitem(last=False)
    return cache[keys]


def _drift(shape, t: int, period: int, keys: tuple, cache: OrderedDict) -> torch.Tensor:
    """Unit-variance noise that moves smoothly from one seeded field to the next every ``period`` frames."""
    period = max(1, int(period))
    k, f = divmod(int(t), period)
    a = _key_noise(shape, keys + (k,), cache)
    b = _key_noise(shape, keys + (k + 1,), cache)
    th = 0.5 * math.pi * f / period
    return a * math.cos(th) + b * math.sin(th)


# ---------------------------------------------------------------- sources
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
        self._ids_loc, self._mask_loc, self._types_loc = _token_locs(example)
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
        keys = (self.seed, 7, _salt(loc))
        if len(shape) in (3, 4, 5) and min(shape[-2:]) >= 8:
            h, w = shape[-2:]
            lead = shape[:-2]
            coarse = (max(1, math.prod(lead)), 1, max(2, h // 8), max(2, w // 8))
            field = _drift(coarse, t, self.hold, keys, self._noise)
            field = F.interpolate(field, size=(h, w), mode="bilinear", align_corners=True)
            return field.reshape(shape) * 1.5  # bilinear upsampling leaves std ~2/3: bring it back near 1
        return _drift(shape, t, self.hold, keys, self._noise)

    def _real_positions(self, ex: ExampleInputs) -> list[int]:
        ids = _at(ex, self._ids_loc).reshape(-1)
        mask = _at(ex, self._mask_loc).reshape(-1) if self._mask_loc is not None else torch.ones_like(ids)
        return [p for p in range(ids.numel()) if int(mask[p]) != 0 and int(ids[p]) not in self.special_ids]

    def _perturb_tokens(self, base: ExampleInputs, t: int) -> ExampleInputs:
        pos = self._real_positions(base)
        if not pos:
            return base
        k = t // max(1, self.token_period)
        g = _gen(self.seed, 11, k)
        p = pos[int(torch.randint(0, len(pos), (1,), generator=g))]
        lo = 1000 if self.vocab_size >= 10000 else 0  # skip the special/[unused]/byte ids of large vocabularies
        new_id = int(torch.randint(lo, self.vocab_size, (1,), generator=g))
        ids = _at(base, self._ids_loc).clone()
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


class VideoSource(ImageListSource):
    hold = 1

    def describe(self, i: int) -> str:
        i = int(i) % self._n
        return f"{self.label} frame {i + 1}/{self._n}"


class NoiseSource(InputSource):
    """Seeded N(0, 1) floats of the example's shapes/dtypes; token ids uniform in [0, vocab)."""

    def __init__(self, example: ExampleInputs, **kw):
        super().__init__(example, n=1, **kw)
        self.label = "noise"

    def _make(self, i):
        new = {}
        for loc, x in _img.example_leaves(self.example):
            if x.is_floating_point():
                new[loc] = torch.randn(x.shape, generator=_gen(self.seed, 3, _salt(loc))).to(x.dtype)
            elif loc == self._ids_loc:
                new[loc] = torch.randint(0, self.vocab_size, tuple(x.shape), generator=_gen(self.seed, 5),
                                         dtype=torch.int64).to(x.dtype)
        return _img.rebuild(self.example, new)

    def _name(self, i):
        return f"noise (seed {self.seed})"

    def _perturb(self, base, t):
        new = {}
        for loc, x in _img.example_leaves(base):
            if x.is_floating_point():
                new[loc] = _drift(tuple(x.shape), t, self.hold, (self.seed, 3, _salt(loc)), self._noise).to(x.dtype)
        out = _img.rebuild(base, new)
        return self._perturb_tokens(out, t) if self._ids_loc is not None else out


class TextSource(InputSource):
    def __init__(self, example: ExampleInputs, text: str, encoder, model_spec: str, **kw):
        ids_loc, mask_loc, types_loc = _token_locs(example)
        seq = int(_at(example, ids_loc).shape[-1])
        enc = encoder.encode(text, seq)
        super().__init__(example, n=1, vocab_size=encoder.vocab_size, special_ids=encoder.special_ids, **kw)
        self.text = text
        self.encoder = encoder
        self.encoded = enc
        self.label = f"text: {_short(text)!r}"
        ids_t = _at(example, ids_loc)
        new = {ids_loc: torch.tensor(enc.ids, dtype=ids_t.dtype).reshape(ids_t.shape)}
        if mask_loc is not None:
            m = _at(example, mask_loc)
            new[mask_loc] = torch.tensor(enc.mask, dtype=m.dtype).reshape(m.shape)
        if types_loc is not None:
            ty = _at(example, types_loc)
            new[types_loc] = torch.tensor(enc.type_ids, dtype=ty.dtype).reshape(ty.shape)
        self._inputs = _img.rebuild(example, new)
        how = (f"{encoder.name} tokens" if isinstance(encoder, _text.HFEncoder)
               else f"byte-level ids, no tokenizer for {model_spec or 'this model'!r}")
        extra = f", truncated to {seq}" if enc.truncated else ""
        self._desc = f"{self.label} ({min(enc.n_tokens, seq)} {how}{extra})"

    def _make(self, i):
        return self._inputs

    def _name(self, i):
        return self._desc

    def decode(self, ids=None) -> str:
        """The text the (possibly perturbed) ids stand for."""
        if ids is None:
            ids = _at(self._inputs, self._ids_loc)
        ids = [int(v) for v in torch.as_tensor(ids).reshape(-1)]
        if self._mask_loc is not None:
            mask = [int(v) for v in _at(self._inputs, self._mask_loc).reshape(-1)]
            ids = [v for v, m in zip(ids, mask) if m]
        return self.encoder.decode(ids)


# ---------------------------------------------------------------- digits / sample photos
_DIGITS: dict[str, Any] = {}


def _digits():
    if "d" not in _DIGITS:
        from sklearn.datasets import load_digits
        d = load_digits()
        _DIGITS["d"] = (torch.from_numpy(d.images.astype(np.float32) / 16.0), [int(v) for v in d.target])
    return _DIGITS["d"]


def _sample_photo(name: str) -> torch.Tensor:
    from sklearn.datasets import load_sample_image
    arr = load_sample_image(name)
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float() / 255.0


# ---------------------------------------------------------------- open_input
def _is_token_model(example: ExampleInputs, family: str) -> bool:
    ids, _, _ = _token_locs(example)
    return ids is not None


def _plan(example, model_spec, what: str, token_model: bool) -> _img.ImagePlan:
    if token_model:
        raise InputError(f"{what} needs an image model, but this model takes token ids; give it text "
                         f"(--input 'text:...') or use an image model (e.g. resnet18, cnn)")
    return _img.ImagePlan(example, model_spec)


def _looks_like_path(spec: str) -> bool:
    low = spec.lower()
    return (low.endswith(_img.IMAGE_EXTS + _img.VIDEO_EXTS) or os.sep in spec or "/" in spec
            or spec.startswith((".", "~")))


def open_input(spec: str | None, *, example: ExampleInputs, family: str, model_spec: str = "", seed: int = 0,
               model: Any = None, vocab_size: int | None = None, tokenizer: Any = None,
               hold: int | None = None, max_frames: int = 300) -> InputSource:
    """An InputSource for ``spec`` (see the module docstring), shaped like ``example``.

    Optional: ``model`` (its vocabulary size bounds random token ids), ``vocab_size``, ``tokenizer`` (a Hugging
    Face tokenizer to use instead of the built-in choice), ``hold`` (frames per input in live mode),
    ``max_frames`` (video frames kept). Raises InputError with a one-line message.
    """
    token_model = _is_token_model(example, family)
    ids_loc = _token_locs(example)[0]
    vocab = _vocab(example, ids_loc, model, model_spec, vocab_size)
    common = dict(seed=seed, vocab_size=vocab)
    src = _open(spec, example, family, model_spec, token_model, vocab, tokenizer, max_frames, common)
    if hold is not None:
        src.hold = max(1, int(hold))
    return src


def _open(spec, example, family, model_spec, token_model, vocab, tokenizer, max_frames, common) -> InputSource:
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "example")):
        return ExampleSource(example, n=1, **common)
    if not isinstance(spec, (str, os.PathLike)):
        raise InputError(f"bad --input {spec!r}; use {ACCEPTED}")
    raw = os.fspath(spec)
    s = raw.strip()
    low = s.lower()

    if low.startswith("text:"):
        text = s[5:].strip()
        if not token_model:
            raise InputError(f"text input needs a language model (this model takes {_shapes(example)}); use an "
                             f"image, digits, noise or example, or a language model (e.g. minilm, gpt2)")
        return _text_source(example, text, model_spec, vocab, tokenizer, common)
    if low == "noise":
        return NoiseSource(example, **common)
    if low == "digits":
        plan = _plan(example, model_spec, "'digits'", token_model)
        imgs, labels = _digits()
        return ImageListSource("digits", plan, [f"digits #{i} (label {labels[i]})" for i in range(len(labels))],
                               lambda i: imgs[i].unsqueeze(0), **common)
    if low in ("sample-photo", "photo", "sample-photos", "sample_photo"):
        plan = _plan(example, model_spec, "'sample-photo'", token_model)
        names = ["china.jpg", "flower.jpg"]
        return ImageListSource("sample-photo", plan, names, lambda i: _sample_photo(names[i]), **common)

    path = Path(os.path.expanduser(s))
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _img.IMAGE_EXTS),
                       key=lambda p: p.name)
        if not files:
            raise InputError(f"folder {s!r} has no images (.png .jpg .jpeg .bmp .gif .webp .tif); put images in "
                             f"it or pass an image file")
        plan = _plan(example, model_spec, f"image folder {s!r}", token_model)
        for f in files:
            _img.check_image_header(f)
        side = min(plan.h, plan.w)
        return ImageListSource(path.name or s, plan, [f.name for f in files],
                               lambda i: _img.load_image(files[i], plan.mode, side), **common)
    ext = path.suffix.lower()
    if ext in _img.IMAGE_EXTS or ext in _img.VIDEO_EXTS:
        if not path.exists():
            raise InputError(f"input file {s!r} not found; check the path (or use digits, sample-photo, noise)")
        if not path.is_file():
            raise InputError(f"input {s!r} is not a file; pass an image, a video or a folder of images")
        if ext in _img.IMAGE_EXTS:
            plan = _plan(example, model_spec, f"image {path.name!r}", token_model)
            img = _img.load_image(path, plan.mode, min(plan.h, plan.w))  # read now: errors surface at once
            return ImageListSource(path.name, plan, [path.name], lambda i: img, **common)
        plan = _plan(example, model_spec, f"video {path.name!r}", token_model)
        frames, _fps = _img.read_video(path, plan.h, plan.w, max_frames)
        return VideoSource(path.name, plan, [f"{path.name} frame {k + 1}" for k in range(len(frames))],
                           lambda i: _img.frame_tensor(frames[i]), **common)
    if path.is_file():
        raise InputError(f"input file {s!r} has an unsupported type {ext or '(no extension)'!r}; use an image "
                         f"(.png .jpg .jpeg .bmp .gif .webp .tif) or a video (.mp4 .avi .mov .mkv .webm)")
    if token_model and (family == "language" or not _looks_like_path(s)):
        return _text_source(example, s, model_spec, vocab, tokenizer, common)
    if _looks_like_path(s):
        raise InputError(f"input {s!r} not found; check the path, or use {ACCEPTED}")
    if " " in s:
        raise InputError(f"text input needs a language model (this model takes {_shapes(example)}), and "
                         f"{_short(s, 40)!r} is no file; use {ACCEPTED}")
    raise InputError(f"unknown --input {s!r}; use {ACCEPTED}")


def _text_source(example, text, model_spec, vocab, tokenizer, common) -> TextSource:
    if not text:
        raise InputError("empty text input; write it after the prefix, e.g. --input 'text:the cat sat'")
    enc = _text.encoder_for(canonical_name(model_spec), vocab, tokenizer)
    c = dict(common)
    c.pop("vocab_size", None)
    return TextSource(example, text, enc, model_spec, **c)


def _shapes(example: ExampleInputs) -> str:
    parts = [f"{'x'.join(map(str, t.shape))} {str(t.dtype).removeprefix('torch.')}" for t in example.tensors()]
    return ", ".join(parts[:3]) or "no tensors"
