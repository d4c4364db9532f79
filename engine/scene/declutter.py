"""Which labels to show from a camera so that none overlaps another: on screen, big enough to read
(the label shader's min_px fade), then greedily the nearest first (the largest on screen at equal
distance) into a coarse occupancy grid of the viewport; the rest are hidden.
Depends only on the camera, so recordings stay reproducible."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.scene.camera import Camera

__all__ = ["LabelBoxes", "visible_labels", "CELL_PX"]

CELL_PX = 6            # occupancy grid cell: labels closer than this may still touch, never overlap


@dataclass
class LabelBoxes:
    """The labels' geometry as the shader sees it: anchor (bottom-left), quad width/height along the
    camera's right/up, glyph height, min/max px (engine/scene/nodes/label.py)."""

    anchor: np.ndarray     # (N, 3)
    width: np.ndarray      # (N,) world
    height: np.ndarray     # (N,) world
    glyph: np.ndarray      # (N,) world
    min_px: np.ndarray
    max_px: np.ndarray
    keep: np.ndarray | None = None     # (N,) bool: shown whenever on screen (pictures laid out not to overlap)

    def __len__(self) -> int:
        return len(self.anchor)


def visible_labels(boxes: LabelBoxes, camera: Camera, size: tuple[int, int]) -> np.ndarray:
    """(N,) bool: the labels to draw so that no two overlap on screen."""
    n = len(boxes)
    show = np.zeros(n, bool)
    if n == 0:
        return show
    w, h = int(size[0]), int(size[1])
    fwd = camera.forward
    depth = (boxes.anchor - camera.position) @ fwd
    focal = camera.focal_px(h)
    ok = depth > 1e-3
    px = np.where(ok, boxes.glyph * focal / np.maximum(depth, 1e-3), 0.0)
    scale = np.where((boxes.max_px > 0) & (px > boxes.max_px), boxes.max_px / np.maximum(px, 1e-9), 1.0)
    ok &= (boxes.min_px <= 0) | (px >= 0.7 * boxes.min_px)            # drawn by the shader at all
    vp = camera.view_projection(w / h)
    clip = np.c_[boxes.anchor, np.ones(n)] @ vp.T
    cw = np.where(np.abs(clip[:, 3]) > 1e-9, clip[:, 3], 1e-9)
    x0 = (clip[:, 0] / cw * 0.5 + 0.5) * w
    y1 = (1.0 - (clip[:, 1] / cw * 0.5 + 0.5)) * h                    # bottom edge, rows down
    k = focal / np.maximum(depth, 1e-3) * scale
    x1, y0 = x0 + boxes.width * k, y1 - boxes.height * k
    ok &= (x1 > 0) & (x0 < w) & (y1 > 0) & (y0 < h)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return show
    keep = np.zeros(n, bool) if boxes.keep is None else np.asarray(boxes.keep, bool)
    order = idx[np.lexsort((-(px[idx] * scale[idx]), np.round(depth[idx], 3), ~keep[idx]))]   # kept, nearest, largest
    gw, gh = -(-w // CELL_PX), -(-h // CELL_PX)
    occ = np.zeros((gh, gw), bool)
    c0 = np.clip((x0 / CELL_PX).astype(np.int64), 0, gw - 1)
    c1 = np.clip(np.ceil(x1 / CELL_PX).astype(np.int64), 1, gw)
    r0 = np.clip((y0 / CELL_PX).astype(np.int64), 0, gh - 1)
    r1 = np.clip(np.ceil(y1 / CELL_PX).astype(np.int64), 1, gh)
    for i in order.tolist():
        cell = occ[r0[i]:r1[i], c0[i]:c1[i]]
        if keep[i] or not cell.any():
            cell[...] = True
            show[i] = True
    return show
