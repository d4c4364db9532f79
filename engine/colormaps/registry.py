"""Colormaps by name: our own (registered by the modules of this package) before vispy's."""
from __future__ import annotations

import numpy as np

from engine.errors import NeuroscapeError

_OWN: dict[str, tuple[list, list]] = {}


class ColormapError(NeuroscapeError):
    """An unknown colormap name."""


def register_colormap(name: str, colors: list[tuple[float, float, float]], controls: list[float]) -> None:
    """A colormap through ``colors`` at ``controls`` (0..1, increasing), under ``name``."""
    if len(colors) != len(controls) or len(colors) < 2:
        raise ValueError(f"colormap {name!r}: one control point per colour, at least two")
    _OWN[name] = (list(colors), list(controls))


def colormap_names() -> list[str]:
    """Every accepted name, sorted."""
    from vispy.color import get_colormaps
    return sorted({*get_colormaps(), *_OWN})


def colormap_table(name: str, n: int = 256) -> np.ndarray:
    """(n, 4) float32 RGBA of the colormap ``name`` sampled evenly over [0, 1]."""
    from vispy.color import Colormap, get_colormap
    try:
        cmap = Colormap(*_OWN[name]) if name in _OWN else get_colormap(name)
    except (KeyError, ValueError, TypeError):
        raise ColormapError(f"unknown colormap {name!r}: use one of vispy's colormaps "
                            f"({', '.join(colormap_names())})") from None
    rgba = np.asarray(cmap.map(np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]), dtype=np.float32)  # (n, 1): every vispy map accepts it
    return rgba.reshape(n, 4)
