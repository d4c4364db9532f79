"""How a scene looks: colormaps, background, which edges and labels, level of detail."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Look:
    """Look options (the [look] table of a scene file; ``hide`` and ``texel`` come from [layout])."""

    colormap: str = "viridis"
    diverging: str = "icefire"
    background: tuple[float, float, float] = (0.02, 0.02, 0.04)
    show_edges: bool = True
    show_labels: bool = True
    hide: tuple[str, ...] = ("dropout",)
    max_edges_per_layer: int = 2048
    edge_budget: int = 40000           # weight edges in the whole scene, shared by its weight layers
    weight_edges_per_neuron: int = 4
    lod_px: float = 4.0
    texel: float | None = None
    arc_segments: int = 24
    quiet_kinds: tuple[str, ...] = ("norm", "activation", "dropout", "reshape")   # unlabelled in big models
    label_all_below: int = 40          # layers up to which every slab gets a label
