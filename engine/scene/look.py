"""How a scene looks: colormaps, background, which edges and labels, level of detail (the [look]
table of a scene file: each field is a key, checked by its type and bounds)."""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.colormaps import colormap_names


def known_colormap(name: str) -> None:
    if name not in colormap_names():
        raise ValueError(f"unknown colormap {name!r}: use one of {', '.join(colormap_names())}")


def rgb_fraction(rgb) -> None:
    """A colour as three fractions 0..1 (a value beyond is clamped by GL: a colour nobody asked for)."""
    if any(not 0.0 <= float(c) <= 1.0 for c in rgb):
        raise ValueError(f"colour components run from 0 to 1, got {list(rgb)}: e.g. [0.02, 0.02, 0.04]")


@dataclass
class Look:
    colormap: str = field(default="viridis", metadata={"check": known_colormap})    # non-negative layers
    diverging: str = field(default="icefire", metadata={"check": known_colormap})   # signed layers
    background: tuple[float, float, float] = field(default=(0.02, 0.02, 0.04), metadata={"check": rgb_fraction})
    show_edges: bool = True
    show_labels: bool = True
    max_edges_per_layer: int = field(default=2048, metadata={"min": 0})
    edge_budget: int = field(default=40000, metadata={"min": 0})    # weight edges in the scene, shared by its weight layers
    weight_edges_per_neuron: int = field(default=4, metadata={"min": 1})
    lod_px: float = field(default=4.0, metadata={"above": 0})       # texel size on screen from which slabs are points
