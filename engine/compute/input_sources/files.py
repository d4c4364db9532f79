"""--input path/to/img.png, path/to/folder (every image in it, sorted by file name) or path/to/clip.mp4 (the
first ``max_frames`` frames, decoded by imageio-ffmpeg's bundled ffmpeg and scaled down to the model's size).
engine/compute/images.py fits the images to the model."""
from __future__ import annotations

import os
from pathlib import Path

from engine.compute import images as _img
from engine.compute.errors import InputError
from engine.compute.input_kind import InputKind, InputRequest, accepted, register_input
from engine.compute.input_source import ImageListSource, InputSource, image_plan


class VideoSource(ImageListSource):
    hold = 1  # live: one video frame per viewer frame

    def describe(self, i: int) -> str:
        i = int(i) % self._n
        return f"{self.label} frame {i + 1}/{self._n}"


def _folder(req: InputRequest, path: Path) -> InputSource:
    s = req.spec
    files = sorted((p for p in path.iterdir() if p.is_file() and p.suffix.lower() in _img.IMAGE_EXTS),
                   key=lambda p: p.name)
    if not files:
        raise InputError(f"folder {s!r} has no images (.png .jpg .jpeg .bmp .gif .webp .tif); put images in "
                         f"it or pass an image file")
    plan = image_plan(req.example, req.model_spec, f"image folder {s!r}", req.token_model)
    for f in files:
        _img.check_image_header(f)
    side = min(plan.h, plan.w)
    return ImageListSource(path.name or s, plan, [f.name for f in files],
                           lambda i: _img.load_image(files[i], plan.mode, side), **req.common())


def _media_file(req: InputRequest, path: Path, ext: str) -> InputSource:
    s = req.spec
    if not path.exists():
        raise InputError(f"input file {s!r} not found; check the path (or use digits, sample-photo, noise)")
    if not path.is_file():
        raise InputError(f"input {s!r} is not a file; pass an image, a video or a folder of images")
    if ext in _img.IMAGE_EXTS:
        plan = image_plan(req.example, req.model_spec, f"image {path.name!r}", req.token_model)
        img = _img.load_image(path, plan.mode, min(plan.h, plan.w))  # read now: errors surface at once
        return ImageListSource(path.name, plan, [path.name], lambda i: img, **req.common())
    plan = image_plan(req.example, req.model_spec, f"video {path.name!r}", req.token_model)
    frames, _fps = _img.read_video(path, plan.h, plan.w, req.max_frames)
    return VideoSource(path.name, plan, [f"{path.name} frame {k + 1}" for k in range(len(frames))],
                       lambda i: _img.frame_tensor(frames[i]), **req.common())


def _guess(req: InputRequest) -> InputSource | None:
    s = req.spec
    path = Path(os.path.expanduser(s))
    if path.is_dir():
        return _folder(req, path)
    ext = path.suffix.lower()
    if ext in _img.IMAGE_EXTS or ext in _img.VIDEO_EXTS:
        return _media_file(req, path, ext)
    if path.is_file():
        raise InputError(f"input file {s!r} has an unsupported type {ext or '(no extension)'!r}; use an image "
                         f"(.png .jpg .jpeg .bmp .gif .webp .tif) or a video (.mp4 .avi .mov .mkv .webm)")
    if req.looks_like_path and not (req.token_model and req.family == "language"):  # a language model reads text
        raise InputError(f"input {s!r} not found; check the path, or use {accepted()}")
    return None


register_input(InputKind("files", "an image file (.png .jpg .jpeg .bmp .gif .webp .tif), a folder of images, a video "
                                  "(.mp4 .avi .mov .mkv .webm)", guess=_guess))
