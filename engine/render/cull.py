"""Vectorised twin of engine.scene.lod.choose_lod for the per-frame path.

choose_lod loops over slabs in Python (~0.15 ms a slab: 25 ms for resnet50's 166 layers, a
large share of a frame); this computes the same decision for all slabs at once from arrays
packed when the renderer is built. tests/test_render_offscreen.py checks both agree.
"""
from __future__ import annotations

import numpy as np

from engine.scene.camera import Camera

CULL, SLAB, POINTS = 0, 1, 2
MODE_NAMES = ("cull", "slab", "points")
MODE_CODES = {name: code for code, name in enumerate(MODE_NAMES)}


class SlabArrays:
    """Per-slab geometry as (N, ...) float64 arrays."""

    def __init__(self, slabs) -> None:
        n = len(slabs)
        self.ids = [s.layer_id for s in slabs]
        self.corners = np.array([s.corners for s in slabs], np.float64).reshape(n, 4, 3)
        self.corners_h = np.concatenate([self.corners, np.ones((n, 4, 1))], axis=2)   # (N, 4, 4)
        self.origin = np.array([s.origin for s in slabs], np.float64).reshape(n, 3)
        self.U = np.array([np.asarray(s.u, np.float64) * s.cols for s in slabs]).reshape(n, 3)
        self.V = np.array([np.asarray(s.v, np.float64) * s.rows for s in slabs]).reshape(n, 3)
        self.UU = np.maximum((self.U * self.U).sum(axis=1), 1e-300)
        self.VV = np.maximum((self.V * self.V).sum(axis=1), 1e-300)
        self.u_len = np.array([np.linalg.norm(s.u) for s in slabs], np.float64).reshape(n)
        self.centers = np.array([s.center for s in slabs], np.float64).reshape(n, 3)

    def modes(self, cam: Camera, size: tuple[int, int], lod_px: float, vp: np.ndarray | None = None) -> np.ndarray:
        """int8 array: CULL / SLAB / POINTS per slab, exactly as choose_lod decides."""
        n = len(self.ids)
        if n == 0:
            return np.zeros(0, np.int8)
        if vp is None:
            vp = cam.view_projection(size[0] / size[1])
        clip = self.corners_h @ vp.T                     # (N, 4, 4)
        w = clip[:, :, 3]
        xyz = clip[:, :, :3]
        outside = ((xyz > w[:, :, None]).all(axis=1) | (xyz < -w[:, :, None]).all(axis=1)).any(axis=1)
        outside |= (w <= 0).all(axis=1)
        d = cam.position - self.origin                    # (N, 3)
        a = np.clip((d * self.U).sum(axis=1) / self.UU, 0.0, 1.0)
        b = np.clip((d * self.V).sum(axis=1) / self.VV, 0.0, 1.0)
        nearest = self.origin + a[:, None] * self.U + b[:, None] * self.V
        dist = np.maximum(np.linalg.norm(cam.position - nearest, axis=1), cam.near)
        texel_px = self.u_len * cam.focal_px(size[1]) / dist
        out = np.where(texel_px >= lod_px, POINTS, SLAB).astype(np.int8)
        out[outside] = CULL
        return out

    def as_dict(self, modes: np.ndarray) -> dict[int, str]:
        return {lid: MODE_NAMES[m] for lid, m in zip(self.ids, modes.tolist())}

    def from_dict(self, lod: dict[int, str]) -> np.ndarray:
        """Modes from a choose_lod-style dict; layers it does not name are drawn as slabs."""
        return np.array([MODE_CODES.get(lod.get(lid, "slab"), SLAB) for lid in self.ids], np.int8)
