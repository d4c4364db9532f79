"""An Activation Atlas (Carter et al., 2019): a layer's representations of a whole dataset laid out in
2D (PCA, t-SNE or UMAP), cut into a grid; each cell with enough items averages their activations, and
a feature visualization of that average -- an input optimized so the layer's output, less the dataset's
mean, points the way the cell's mean does (what sets the cell apart: uncentred, every cell's mean shares
the dataset's and all icons come out alike) -- becomes the cell's icon. The icons stand as a wall beside the layer, where the dataset's
regions of the layer can be read as pictures. With --workers both the dataset pass and the icons run
on Ray workers (engine/compute/cluster.py), with the one-process results."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from engine.compute.cluster import Workers
from engine.compute.embed import Collected, collect, reduce
from engine.compute.errors import InputError
from engine.compute.featviz import FeatVizSettings, cache_dir, optimize_images, optimize_spread, weights_key
from engine.compute.module_layer import module_layer
from engine.model.graph import LayerGraph

__all__ = ["Atlas", "activation_atlas", "atlas_labels", "MAX_GRID", "COSSIM_POW"]

MAX_GRID = 16                 # cells per side (icons are optimized together: at most 256)
MIN_ITEMS = 3                 # a cell needs this many items to get an icon
COSSIM_POW = 2.0              # lucid's direction objective: dot product x cosine similarity ** this
BATCH = 64                    # icons optimized at once


@dataclass
class Atlas:
    layer: str
    grid: int
    cells: np.ndarray                       # (K, 2) int: (row, column), row 0 at the top
    counts: np.ndarray                      # (K,) items averaged in each cell
    directions: np.ndarray                  # (K, width) float32: the cell's mean activation
    center: np.ndarray                      # (width,) float32: the mean activation of every item
    icons: list[np.ndarray] = field(default_factory=list, repr=False)   # (s, s, 3) uint8 per cell


class Direction:
    """The objective of atlas icons: image k points the layer's output, less ``mu``, the way of
    ``unit[k]`` (lucid's dot product x cosine similarity ** COSSIM_POW). A class, not a closure, so a Ray
    worker can be sent one."""

    def __init__(self, unit: torch.Tensor, mu: torch.Tensor) -> None:
        self.unit, self.mu = unit, mu

    def __call__(self, a: torch.Tensor) -> torch.Tensor:
        a = a.reshape(len(self.unit), -1) - self.mu
        cos = torch.nn.functional.cosine_similarity(a, self.unit, dim=1).clamp_min(1e-3)
        return (a * self.unit).sum(1) * cos ** COSSIM_POW


def _cells(xy: np.ndarray, grid: int) -> np.ndarray:
    """(N, 2) in about [-1, 1] -> (N, 2) (row, column) of a grid x grid layout, y up."""
    u = np.clip((xy + 1.0) / 2.0, 0.0, 1.0 - 1e-9)
    col = np.floor(u[:, 0] * grid).astype(np.int64)
    row = grid - 1 - np.floor(u[:, 1] * grid).astype(np.int64)
    return np.stack([row, col], axis=1)


def activation_atlas(model: nn.Module, graph: LayerGraph, layer_name: str, source, input_size: tuple[int, int],
                     method: str = "pca", grid: int = 8, settings: FeatVizSettings = FeatVizSettings(),
                     limit: int | None = None, progress_items=None, progress_steps=None,
                     workers: Workers | None = None, collected: Collected | None = None) -> Atlas:
    """The atlas of ``layer_name`` over every item of ``source``: a ``grid`` x ``grid`` layout of its 2D
    reduction, an icon for each cell of at least MIN_ITEMS items (cached on disk); the dataset pass and
    the icons on Ray ``workers`` when given. ``collected``: that dataset pass already made."""
    if isinstance(grid, bool) or not isinstance(grid, int) or not 2 <= grid <= MAX_GRID:
        raise InputError(f"--atlas {grid!r}: the grid has 2..{MAX_GRID} cells a side, e.g. --atlas 8")
    layer, module = module_layer(model, graph, layer_name, "--layer")
    c = collected if collected is not None else collect(model, graph, layer_name, source, limit=limit,
                                                         progress=progress_items, workers=workers)
    cell = _cells(reduce(c.feats, method, dims=2), grid)
    key = cell[:, 0] * grid + cell[:, 1]
    used, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    sums = np.zeros((len(used), c.feats.shape[1]), np.float64)
    np.add.at(sums, inverse, c.feats)
    keep = counts >= MIN_ITEMS
    if not keep.any():
        raise InputError(f"no cell of the {grid}x{grid} atlas has {MIN_ITEMS} items: use a smaller --atlas or more items")
    used, counts = used[keep], counts[keep]
    directions = (sums[keep] / counts[:, None]).astype(np.float32)
    center = c.feats.mean(axis=0, dtype=np.float64).astype(np.float32)
    atlas = Atlas(layer_name, grid, np.stack([used // grid, used % grid], axis=1), counts, directions, center)
    digest = hashlib.sha1(directions.tobytes()).hexdigest()[:12]
    path = cache_dir() / "atlas" / hashlib.sha1(repr((graph.model_name, weights_key(model), layer_name, method, grid,
                                                     digest, settings, COSSIM_POW)).encode()).hexdigest()[:20]
    f = path.with_suffix(".npy")
    if f.exists():
        try:
            icons = np.load(f, allow_pickle=False)
            if len(icons) == len(directions):
                atlas.icons = list(icons)
                return atlas
        except (OSError, ValueError):
            pass
    icons: list[np.ndarray] = []
    total = len(directions)
    mu = torch.from_numpy(center)
    units = []
    for start in range(0, total, BATCH):
        v = torch.from_numpy(directions[start:start + BATCH]) - mu
        units.append(v / v.norm(dim=1, keepdim=True).clamp_min(1e-12))
    if workers is None:
        for start, unit in zip(range(0, total, BATCH), units):
            def steps(done, n, start=start, k=len(unit)):
                if progress_steps is not None:
                    progress_steps(start * settings.steps + done * k, total * settings.steps)
            icons += optimize_images(model, module, len(unit), Direction(unit, mu), input_size, settings, steps)
    else:                      # every batch's icons shared out among the workers at once
        def shares(done: int, jobs: int) -> None:
            if progress_steps is not None:
                progress_steps(round(total * settings.steps * done / jobs), total * settings.steps)
        groups = [(len(u), lambda rows, u=u: Direction(u[rows], mu)) for u in units]
        for part in optimize_spread(workers, layer.site[1], groups, input_size, settings,
                                    f"optimizing the atlas icons of {layer_name}", shares):
            icons += part
    f.parent.mkdir(parents=True, exist_ok=True)
    np.save(f, np.stack(icons), allow_pickle=False)
    atlas.icons = icons
    return atlas


def atlas_labels(atlas: Atlas, corner: np.ndarray, side: float, layer_id: int = -1) -> list:
    """Picture labels (engine/scene/nodes/label.py): the icons as a wall ``side`` wide whose top-left
    corner is ``corner``, facing +z, each at its cell (90% of it, so neighbours never touch)."""
    from engine.scene.nodes.label import Label
    step = side / atlas.grid
    out = []
    for (row, col), n, img in zip(atlas.cells, atlas.counts, atlas.icons):
        pos = np.asarray(corner, np.float64) + np.array([(col + 0.05) * step, -(row + 0.95) * step, 0.0])
        out.append(Label(f"{atlas.layer} atlas ({row}, {col}): {n} items", pos, 0.9 * step, (1.0, 1.0, 1.0, 1.0),
                         layer_id, 0.0, 0.0, image=img, declutter=False))
    return out
