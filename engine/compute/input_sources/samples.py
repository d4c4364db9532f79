"""--input digits (scikit-learn's 1797 8x8 digits, 0..16 -> [0, 1]; describe() gives the true label) and
--input sample-photo (scikit-learn's sample images china.jpg and flower.jpg)."""
from __future__ import annotations

from typing import Any

import numpy as np
import torch

from engine.compute.input_kind import InputKind, InputRequest, register_input
from engine.compute.input_source import ImageListSource, InputSource, image_plan

_DIGITS: dict[str, Any] = {}
PHOTOS = ["china.jpg", "flower.jpg"]


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


def _open_digits(req: InputRequest) -> InputSource:
    plan = image_plan(req.example, req.model_spec, "'digits'", req.token_model)
    imgs, labels = _digits()
    src = ImageListSource("digits", plan, [f"digits #{i} (label {labels[i]})" for i in range(len(labels))],
                          lambda i: imgs[i].unsqueeze(0), **req.common())
    src.labels = list(labels)            # true classes, for colouring embeddings
    return src


def _open_photos(req: InputRequest) -> InputSource:
    plan = image_plan(req.example, req.model_spec, "'sample-photo'", req.token_model)
    return ImageListSource("sample-photo", plan, list(PHOTOS), lambda i: _sample_photo(PHOTOS[i]), **req.common())


register_input(InputKind("digits", "digits", names=("digits",), open=_open_digits))
register_input(InputKind("sample-photo", "sample-photo",
                         names=("sample-photo", "photo", "sample-photos", "sample_photo"), open=_open_photos))
