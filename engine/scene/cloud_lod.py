"""Level of detail for big point clouds, decided on plain data (no GL).

Software GL pays per point whatever its size (about a quarter of a microsecond each on llvmpipe), so a
million-point cloud cannot be drawn point by point every frame. The cloud is cut into chunks (a grid
over its box) and, like the slabs' mean pyramids, into coarser levels whose points are voxels: the mean
position and colour of the points inside, with their count. Each frame a chunk outside the view is
skipped and each other chunk is drawn at the coarsest level whose voxels still cover at most
``px_limit`` pixels there, or point by point when even the finest level's voxels would look bigger.
Given a budget of sprites (software GL), the limit is raised until the frame fits: far chunks coarsen
first. Every point is represented at every distance (a voxel stands for all of its points, in their
most common colour, so label colours stay distinct); near ones are drawn one by one. The renderer draws
the chosen ranges of one vertex buffer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.scene.camera import Camera
from engine.scene.cull import box_corners_h, outside_frustum

CHUNKS = 8                        # chunks per axis
LEVELS = (16, 32, 64, 128)        # voxels per axis of the aggregated levels, coarse to fine
MIN_POINTS = 100_000              # clouds smaller than this are always drawn point by point
PX_LIMIT = 4.0                    # a voxel drawn in place of its points covers at most this many pixels
SOFTWARE_BUDGET = 150_000         # sprites a frame on software GL (~0.3 us each on llvmpipe)
HARDWARE_BUDGET = 20_000_000      # and on a GPU
VERTEX_FLOATS = 8                 # position 3, colour 3, count, voxel size (0: a single point)


@dataclass
class CloudDraw:
    """One frame's choice: ranges of the vertex buffer to draw, and how many points they stand for."""

    first: np.ndarray             # int32 first vertex of each range
    count: np.ndarray             # int32 vertices in each range
    aggregated_chunks: int = 0    # chunks drawn as voxels

    @property
    def vertices(self) -> int:
        return int(self.count.sum())


class CloudLevels:
    """A cloud's vertex data sorted by chunk, full points first then each aggregated level, with the
    range of every (level, chunk)."""

    def __init__(self, positions: np.ndarray, colors: np.ndarray, *, min_points: int = MIN_POINTS,
                 chunks: int = CHUNKS, levels: tuple[int, ...] = LEVELS) -> None:
        p = np.asarray(positions, np.float32).reshape(-1, 3)
        c = np.asarray(colors, np.float32).reshape(-1, 3)
        self.n = len(p)
        lo = p.min(axis=0) if self.n else np.zeros(3, np.float32)
        hi = p.max(axis=0) if self.n else np.zeros(3, np.float32)
        self.lo = lo.astype(np.float64)
        self.extent = max(float((hi - lo).max()), 1e-6)
        self.chunks = chunks if self.n >= min_points else 1
        self.voxel = [0.0] + ([self.extent / r for r in levels] if self.n >= min_points else [])
        u = np.clip((p - lo) / self.extent, 0.0, 1.0 - 1e-7) if self.n else np.zeros((0, 3), np.float32)
        nc = self.chunks
        chunk = self._index(np.floor(u * nc).astype(np.int64), nc)
        order = np.argsort(chunk, kind="stable")
        parts = [np.c_[p[order], c[order], np.ones((self.n, 1), np.float32), np.zeros((self.n, 1), np.float32)]]
        bounds = [np.searchsorted(chunk[order], np.arange(nc ** 3 + 1))]
        for r, size in zip(levels, self.voxel[1:]):
            sub = r // nc
            cell = np.floor(u * r).astype(np.int64)
            key = chunk * sub ** 3 + self._index(cell % sub, sub)
            keys, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
            mean = np.stack([np.bincount(inverse, p[:, k], len(keys)) for k in range(3)], axis=1) / counts[:, None]
            parts.append(np.c_[mean, _mode_colours(c, inverse, len(keys)), counts,
                               np.full(len(keys), size)].astype(np.float32))
            bounds.append(np.searchsorted(keys // sub ** 3, np.arange(nc ** 3 + 1)))
        self.vertices = np.ascontiguousarray(np.concatenate(parts), np.float32)
        offsets = np.cumsum([0] + [len(x) for x in parts[:-1]])
        self.first = np.stack([b[:-1] + o for b, o in zip(bounds, offsets)]).astype(np.int32)   # (L, chunks^3)
        self.count = np.stack([np.diff(b) for b in bounds]).astype(np.int32)
        occupied = np.flatnonzero(self.count[0])
        self.occupied = occupied
        ijk = np.stack([occupied // nc ** 2, (occupied // nc) % nc, occupied % nc], axis=1)
        step = self.extent / nc
        self.box_lo = self.lo + ijk * step
        self.box_hi = self.box_lo + step
        self.corners_h = box_corners_h(self.box_lo, self.box_hi)

    @staticmethod
    def _index(ijk: np.ndarray, n: int) -> np.ndarray:
        return (ijk[:, 0] * n + ijk[:, 1]) * n + ijk[:, 2]

    @property
    def levels(self) -> int:
        return len(self.voxel)

    def choose(self, cam: Camera, size: tuple[int, int], vp: np.ndarray | None = None,
               px_limit: float = PX_LIMIT, budget: int | None = None) -> CloudDraw:
        """The ranges to draw this frame (see the module docstring); ``px_limit`` 0 draws every point."""
        if not len(self.occupied):
            return CloudDraw(np.zeros(0, np.int32), np.zeros(0, np.int32))
        if vp is None:
            vp = cam.view_projection(size[0] / size[1])
        keep = ~outside_frustum(self.corners_h, vp)
        idx = self.occupied[keep]
        pos = np.asarray(cam.position, np.float64)
        near = np.clip(pos, self.box_lo[keep], self.box_hi[keep])
        dist = np.maximum(np.linalg.norm(near - pos, axis=1), cam.near)
        voxel_px = np.asarray(self.voxel[1:])[:, None] * (cam.focal_px(size[1]) / dist)[None]   # (levels-1, chunks)
        counts = self.count[:, idx]

        def levels_at(limit: float) -> np.ndarray:
            ok = voxel_px <= limit                    # coarse to fine: the first True is the coarsest that fits
            return np.where(ok.any(axis=0), ok.argmax(axis=0) + 1, 0) if len(ok) else np.zeros(len(idx), np.int64)

        level = levels_at(px_limit) if px_limit > 0 else np.zeros(len(idx), np.int64)
        if px_limit > 0 and budget is not None and self.levels > 1:
            def total(lv):
                return int(counts[lv, np.arange(len(idx))].sum())
            if total(level) > budget:
                lo, hi = px_limit, max(px_limit, float(voxel_px.max())) * 2
                for _ in range(24):                   # the smallest limit whose frame fits the budget
                    mid = (lo * hi) ** 0.5
                    lo, hi = (lo, mid) if total(levels_at(mid)) <= budget else (mid, hi)
                level = levels_at(hi)
        first, count = self.first[level, idx], self.count[level, idx]
        nz = count > 0
        return CloudDraw(first[nz], count[nz], int((level > 0).sum()))


def _mode_colours(colors: np.ndarray, voxel: np.ndarray, n: int) -> np.ndarray:
    """Per voxel the most common colour of its points (8 bits a channel), so categorical colours do not
    average into grey where labels mix."""
    q = np.clip(np.rint(colors * 255), 0, 255).astype(np.int64)
    rgb = (q[:, 0] << 16) | (q[:, 1] << 8) | q[:, 2]
    pairs, pair_counts = np.unique(voxel.astype(np.int64) << 24 | rgb, return_counts=True)
    order = np.lexsort((pair_counts, pairs >> 24))   # by voxel, then count: each voxel's last is its mode
    last = order[np.r_[np.flatnonzero(np.diff(pairs[order] >> 24)), len(order) - 1]]
    best = pairs[last] & 0xFFFFFF
    out = np.zeros((n, 3), np.float32)
    out[pairs[last] >> 24] = np.c_[best >> 16, (best >> 8) & 255, best & 255] / 255.0
    return out
