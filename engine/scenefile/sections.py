"""The tables of a scene file that no engine room owns (scene, model, input, camera, render), as
dataclasses the schema is derived from; and the frame-size rule shared with --size."""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.errors import NeuroscapeError

MAX_SIDE = 16384


class SizeError(NeuroscapeError, ValueError):
    """A size that is not WIDTHxHEIGHT with both sides in 1..MAX_SIDE."""


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1080"`` -> ``(1920, 1080)``: one rule for --size, [render] size and the Python API."""
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
        if w <= 0 or h <= 0 or w > MAX_SIDE or h > MAX_SIDE:
            raise ValueError
    except ValueError:
        raise SizeError(f"bad size {text!r}: use WIDTHxHEIGHT, e.g. 1920x1080") from None
    return w, h


@dataclass
class SceneInfo:
    title: str = ""
    description: str = ""


@dataclass
class ModelTable:
    name: str | None = None           # a model name or "package.module:callable" (required without [playground])
    weights: str | None = None        # relative to the scene file
    input_shape: str | None = None
    input_dtype: str | None = None
    structure: bool = False           # no weights: shapes only (engine/model/structure.py)


@dataclass
class InputTable:
    seed: int = 0
    kind: str | None = None           # digits, photo, noise, text ...
    path: str | None = None
    text: str | None = None
    generate: int = field(default=0, metadata={"min": 0, "max": 4096})         # --generate N: tokens to write
    temperature: float = field(default=0.0, metadata={"min": 0, "max": 100})  # 0: greedy


@dataclass
class CameraTable:
    position: tuple[float, float, float] | None = None
    look_at: tuple[float, float, float] | None = None
    fov: float | None = field(default=None, metadata={"above": 0, "max": 179})


@dataclass
class RenderTable:
    size: str | None = field(default=None, metadata={"check": parse_size})
    samples: int | None = field(default=None, metadata={"min": 0})
