"""Images -> model-ready tensors: where an image goes in a model's example input, and how it is fitted.

An image is handled as a float tensor ``C x h x w`` in [0, 1] (C = 1 gray, 3 RGB or 4 RGBA). ``ImagePlan``
looks at the model's example input and finds every float tensor an image can fill ("slots"):

  * ``B x C x H x W`` (torchvision, our "cnn"): resized so the shorter side covers H x W (bilinear,
    antialiased), centre-cropped, channel-mapped (gray <-> RGB by ITU-R 601 luma; RGBA gets alpha 1) and,
    for 3 channels, normalized ``(x - mean) / std`` with ImageNet mean (0.485, 0.456, 0.406) and std
    (0.229, 0.224, 0.225) -- or with the mean/std of a torchvision model's own weights' transforms when
    ``model_spec`` names one (video models: Kinetics values; optical flow: 0.5/0.5, i.e. [-1, 1]).
  * ``C x H x W`` without batch (torchvision detection models, which normalize inside): fitted, left in [0, 1].
  * ``B x C x T x H x W`` (video models): the image repeated over the T frames, normalized as above.
  * ``B x N`` flat features (our "mlp"): N = S*S -> an S x S gray image, N = 3*S*S -> S x S RGB flattened
    channel-first; values in [0, 1], not normalized (e.g. 64 inputs = an 8 x 8 grayscale image).
  * ``1 x T x F`` (or ``T x 1 x F``) sequences (our "lstm"/"gru"): a gray image resized to T rows of F
    pixels, each row one time step, values in [0, 1].

Other float tensors keep the example's values; integer/bool tensors are never touched.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from engine.compute.errors import InputError
from engine.model.inputs import ExampleInputs

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LUMA = (0.299, 0.587, 0.114)


# ---------------------------------------------------------------- example traversal
def leaves(obj: Any, loc: tuple = ()) -> list[tuple[tuple, Any]]:
    """(location, tensor) for every tensor in a nested args/kwargs structure."""
    if isinstance(obj, torch.Tensor):
        return [(loc, obj)]
    out: list[tuple[tuple, Any]] = []
    if isinstance(obj, (list, tuple)):
        for i, o in enumerate(obj):
            out += leaves(o, loc + (i,))
    elif isinstance(obj, dict):
        for k, o in obj.items():
            out += leaves(o, loc + (k,))
    return out


def replaced(obj: Any, new: dict[tuple, Any], loc: tuple = ()) -> Any:
    """A copy of ``obj`` with the tensors at the given locations replaced; other tensors are cloned."""
    if isinstance(obj, torch.Tensor):
        return new[loc] if loc in new else obj.clone()
    if isinstance(obj, tuple):
        return tuple(replaced(o, new, loc + (i,)) for i, o in enumerate(obj))
    if isinstance(obj, list):
        return [replaced(o, new, loc + (i,)) for i, o in enumerate(obj)]
    if isinstance(obj, dict):
        return {k: replaced(o, new, loc + (k,)) for k, o in obj.items()}
    return obj


def example_leaves(example) -> list[tuple[tuple, torch.Tensor]]:
    """Locations are ("args", i, ...) or ("kwargs", key, ...)."""
    return leaves(tuple(example.args), ("args",)) + leaves(dict(example.kwargs), ("kwargs",))


def rebuild(example, new: dict[tuple, torch.Tensor]):
    args = replaced(tuple(example.args), new, ("args",))
    kwargs = replaced(dict(example.kwargs), new, ("kwargs",))
    return ExampleInputs(args, kwargs, example.family)


# ---------------------------------------------------------------- loading
def load_image(path: Path, mode: str = "RGB", max_side: int | None = None) -> torch.Tensor:
    """An image file as a float ``C x h x w`` tensor in [0, 1] (mode "L", "RGB" or "RGBA"; the first frame of
    an animated GIF; EXIF orientation applied). ``max_side``: shrink big images (box filter) to at most
    about twice that shorter side first, for speed."""
    from PIL import Image, ImageOps, UnidentifiedImageError
    try:
        with Image.open(path) as im:
            im.seek(0)
            im = ImageOps.exif_transpose(im)
            im = im.convert(mode)
            if max_side:
                k = int(min(im.size) // (2 * max_side))
                if k >= 2:
                    im = im.reduce(k)
            arr = np.asarray(im, dtype=np.float32) / 255.0
    except FileNotFoundError:
        raise InputError(f"image {str(path)!r} not found; check the --input path") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise InputError(f"cannot read image {str(path)!r} ({_first_line(e)}); the file is corrupt or not an image: "
                         f"re-save it as PNG or JPEG") from None
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def check_image_header(path: Path) -> None:
    """Raise InputError unless Pillow recognises the file (reads the header only)."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path):
            pass
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise InputError(f"cannot read image {str(path)!r} ({_first_line(e)}); the file is corrupt or not an image: "
                         f"remove it or re-save it as PNG or JPEG") from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:200]


# ---------------------------------------------------------------- fitting
def map_channels(img: torch.Tensor, c: int) -> torch.Tensor:
    """C x h x w with C in 1/3/4 -> c channels (1 gray, 3 RGB, 4 RGBA)."""
    have = img.shape[0]
    if have == c:
        return img
    rgb = img[:3] if have >= 3 else img[:1].expand(3, *img.shape[1:])
    if c == 1:
        w = torch.tensor(LUMA, dtype=img.dtype).view(3, 1, 1)
        return (rgb * w).sum(0, keepdim=True)
    if c == 3:
        return rgb.contiguous()
    if c == 4:
        return torch.cat([rgb, torch.ones_like(img[:1])], 0)
    raise InputError(f"the model takes {c}-channel images; images map only to 1 (gray), 3 (RGB) or 4 (RGBA) "
                     f"channels: use --input example or noise")


def fit(img: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Resize ``C x h0 x w0`` so it covers h x w (shorter side first), then centre-crop to h x w."""
    _, h0, w0 = img.shape
    if (h0, w0) == (h, w):
        return img
    s = max(h / h0, w / w0)
    nh, nw = max(h, round(h0 * s)), max(w, round(w0 * s))
    x = img.unsqueeze(0)
    if (nh, nw) != (h0, w0):
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=s < 1)
    top, left = (nh - h) // 2, (nw - w) // 2
    return x[0, :, top:top + h, left:left + w].contiguous()


@dataclass
class Slot:
    loc: tuple
    kind: str            # "image" | "chw" | "clip" | "flat" | "rows"
    shape: tuple
    dtype: torch.dtype
    channels: int
    h: int
    w: int


def _slot_for(loc: tuple, t: torch.Tensor) -> Slot | str:
    """A Slot, or a reason string when this float tensor cannot hold an image."""
    s = tuple(int(d) for d in t.shape)
    if t.dim() == 4:
        return Slot(loc, "image", s, t.dtype, s[1], s[2], s[3])
    if t.dim() == 5:
        return Slot(loc, "clip", s, t.dtype, s[1], s[3], s[4])
    if t.dim() == 3 and s[0] in (3, 4) and min(s[1:]) >= 4:
        return Slot(loc, "chw", s, t.dtype, s[0], s[1], s[2])
    if t.dim() == 3 and (s[0] == 1 or s[1] == 1):
        T, Fd = (s[1], s[2]) if s[0] == 1 else (s[0], s[2])
        return Slot(loc, "rows", s, t.dtype, 1, T, Fd)
    if t.dim() == 2:
        n = s[1]
        r = math.isqrt(n)
        if r * r == n:
            return Slot(loc, "flat", s, t.dtype, 1, r, r)
        if n % 3 == 0 and math.isqrt(n // 3) ** 2 == n // 3:
            r = math.isqrt(n // 3)
            return Slot(loc, "flat", s, t.dtype, 3, r, r)
        return f"input {'x'.join(map(str, s))} cannot hold an image (N features must be H*W or 3*H*W)"
    return f"input {'x'.join(map(str, s)) or 'scalar'} cannot hold an image"


def _weights_norm(model_spec: str) -> tuple | None | str:
    """(mean, std) from a torchvision model's weights' transforms; None for "no normalization"; "default" when
    unknown. Reads static metadata only -- nothing is downloaded."""
    if not model_spec or ":" in model_spec or "/" in model_spec:
        return "default"
    try:
        import torchvision
        weights = torchvision.models.get_model_weights(model_spec.strip())
        tr = (getattr(weights, "DEFAULT", None) or list(weights)[0]).transforms()
    except Exception:  # noqa: BLE001 - not a torchvision name, or no weights
        return "default"
    kind = type(tr).__name__
    if kind == "ObjectDetection":
        return None
    if kind == "OpticalFlow":
        return ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    mean, std = getattr(tr, "mean", None), getattr(tr, "std", None)
    if mean is not None and std is not None and len(mean) == 3:
        return (tuple(float(v) for v in mean), tuple(float(v) for v in std))
    return "default"


class ImagePlan:
    """How images fill a model's example input (see the module docstring)."""

    def __init__(self, example, model_spec: str = ""):
        self.example = example
        self.slots: list[Slot] = []
        reasons = []
        for loc, t in example_leaves(example):
            if not t.is_floating_point():
                continue
            s = _slot_for(loc, t)
            if isinstance(s, Slot):
                self.slots.append(s)
            else:
                reasons.append(s)
        if not self.slots:
            why = reasons[0] if reasons else "it takes no float tensors"
            raise InputError(f"this model cannot take an image: {why}; use --input example or noise")
        for s in self.slots:
            if s.kind in ("image", "chw", "clip") and s.channels not in (1, 3, 4):
                raise InputError(f"the model takes {s.channels}-channel images ({'x'.join(map(str, s.shape))}); "
                                 f"images map only to 1 (gray), 3 (RGB) or 4 (RGBA) channels: use --input example "
                                 f"or noise")
        norm = _weights_norm(model_spec) if any(s.channels == 3 and s.kind in ("image", "clip")
                                               for s in self.slots) else "default"
        self.norm = (IMAGENET_MEAN, IMAGENET_STD) if norm == "default" else norm
        chans = {s.channels for s in self.slots}
        self.mode = "RGBA" if 4 in chans else "RGB" if 3 in chans else "L"
        self.h = max(s.h for s in self.slots)
        self.w = max(s.w for s in self.slots)

    def tensor(self, img: torch.Tensor, slot: Slot) -> torch.Tensor:
        x = fit(map_channels(img.float(), slot.channels), slot.h, slot.w)
        if slot.kind in ("image", "clip") and slot.channels == 3 and self.norm is not None:
            mean = torch.tensor(self.norm[0]).view(3, 1, 1)
            std = torch.tensor(self.norm[1]).view(3, 1, 1)
            x = (x - mean) / std
        if slot.kind == "image":
            x = x.unsqueeze(0).expand(slot.shape[0], -1, -1, -1)
        elif slot.kind == "clip":
            x = x.unsqueeze(1).unsqueeze(0).expand(slot.shape[0], -1, slot.shape[2], -1, -1)
        x = x.reshape(slot.shape) if slot.kind in ("flat", "rows", "chw") else x
        return x.contiguous().to(slot.dtype)

    def apply(self, img: torch.Tensor):
        """ExampleInputs with every slot filled from ``img`` (C x h x w in [0, 1])."""
        return rebuild(self.example, {s.loc: self.tensor(img, s) for s in self.slots})


# ---------------------------------------------------------------- video
def read_video(path: Path, h: int, w: int, max_frames: int = 300) -> tuple[list[np.ndarray], float]:
    """Up to ``max_frames`` frames as uint8 ``h' x w' x 3`` arrays, scaled by ffmpeg so they just cover h x w
    (the bundled ffmpeg of imageio-ffmpeg), and the frame rate."""
    import logging
    import imageio_ffmpeg
    logging.getLogger("imageio_ffmpeg").setLevel(logging.ERROR)  # "frame size differs" notice: intended
    vf = f"scale={w}:{h}:force_original_aspect_ratio=increase:flags=area"
    frames: list[np.ndarray] = []
    gen = None
    try:
        gen = imageio_ffmpeg.read_frames(str(path), output_params=["-vf", vf, "-frames:v", str(int(max_frames))])
        meta = next(gen)
        fw, fh = meta["size"]
        for buf in gen:
            frames.append(np.frombuffer(buf, dtype=np.uint8).reshape(fh, fw, 3))
            if len(frames) >= max_frames:
                break
    except Exception as e:  # noqa: BLE001 - ffmpeg errors are RuntimeError/IOError/StopIteration/parse errors
        raise InputError(f"cannot read video {str(path)!r} ({_first_line(e) or type(e).__name__}); the file is "
                         f"corrupt or not a video: re-encode it (e.g. ffmpeg -i in.mov out.mp4)") from None
    finally:
        if gen is not None:
            gen.close()
    if not frames:
        raise InputError(f"video {str(path)!r} has no frames; re-encode it (e.g. ffmpeg -i in.mov out.mp4)")
    return frames, float(meta.get("fps") or 0.0)


def frame_tensor(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frame.transpose(2, 0, 1))).float() / 255.0
