"""Level of detail, frustum and occlusion culling for every slab at once: the per-frame twin of
engine.scene.lod.choose_lod (GL-free; the render passes call it each frame).

choose_lod loops over slabs in Python (~0.15 ms a slab: 25 ms for resnet50's 166 layers, a
large share of a frame); this computes the same decision for all slabs at once from arrays
packed when the renderer is built. The tests check both agree.
"""
from __future__ import annotations

import numpy as np

from engine.scene.camera import Camera
from engine.scene.registry import node_type

CULL, SLAB, POINTS = 0, 1, 2
MODE_NAMES = ("cull", "slab", "points")
MODE_CODES = {name: code for code, name in enumerate(MODE_NAMES)}


def outside_frustum(points_h: np.ndarray, vp: np.ndarray) -> np.ndarray:
    """bool per group: all points of the group on the outer side of one frustum plane.

    ``points_h`` is (G, P, 4) homogeneous world points (e.g. the 8 corners of a bounding box)."""
    clip = points_h @ vp.T
    w = clip[:, :, 3:4]
    xyz = clip[:, :, :3]
    out = ((xyz > w).all(axis=1) | (xyz < -w).all(axis=1)).any(axis=1)
    return out | (clip[:, :, 3] <= 0).all(axis=1)


def visible_params(origin: np.ndarray, U: np.ndarray, V: np.ndarray, vp: np.ndarray,
                   margin: float = 0.02) -> tuple[float, float, float, float] | None:
    """The part of the rectangle origin + a U + b V (a, b in [0, 1]) inside the view frustum, as its
    bounding box (a0, a1, b0, b1) in those parameters; None when none of it is. The rectangle is
    clipped against the frustum's planes in clip space (Sutherland-Hodgman; a, b are carried along,
    as they are affine in the world point), ``margin`` of the picture added so sprites on the edges
    stay whole."""
    poly = [np.array([a, b, *(vp @ np.r_[origin + a * U + b * V, 1.0])]) for a, b in ((0, 0), (1, 0), (1, 1), (0, 1))]
    k = 1.0 + margin
    planes = [(axis, sign) for axis in (0, 1) for sign in (1.0, -1.0)] + [(2, -1.0)]   # x, y sides; near
    for axis, sign in planes:
        # inside: k w - sign * coord >= 0 (for the near plane: z >= -w)
        def d(v):
            return (k if axis < 2 else 1.0) * v[5] - sign * v[2 + axis]
        out = []
        for i, cur in enumerate(poly):
            prev = poly[i - 1]
            dc, dp = d(cur), d(prev)
            if dc >= 0:
                if dp < 0:
                    out.append(prev + (cur - prev) * (dp / (dp - dc)))
                out.append(cur)
            elif dp >= 0:
                out.append(prev + (cur - prev) * (dp / (dp - dc)))
        poly = out
        if not poly:
            return None
    ab = np.array(poly)[:, :2]
    lo, hi = np.clip(ab.min(axis=0), 0, 1), np.clip(ab.max(axis=0), 0, 1)
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def box_corners_h(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """(G, 8, 4) homogeneous corners of G axis-aligned boxes given (G, 3) lo / hi."""
    sel = np.array([[i & 1, (i >> 1) & 1, (i >> 2) & 1] for i in range(8)], bool)
    pts = np.where(sel[None], hi[:, None, :], lo[:, None, :])
    return np.concatenate([pts, np.ones(pts.shape[:2] + (1,))], axis=2)


def bounds_h(nodes: list) -> np.ndarray:
    """(G, 8, 4) homogeneous corners of the world boxes of ``nodes`` (one type, with a bounds rule)."""
    if not nodes:
        return np.zeros((0, 8, 4))
    rule = node_type(type(nodes[0])).bounds
    boxes = [rule(n) for n in nodes]
    return box_corners_h(np.array([b[0] for b in boxes], np.float64).reshape(-1, 3),
                         np.array([b[1] for b in boxes], np.float64).reshape(-1, 3))


def outside_view(nodes: list, vp: np.ndarray) -> np.ndarray:
    """bool per node: its world box lies wholly outside the view (safe to skip drawing)."""
    return outside_frustum(bounds_h(nodes), vp)


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
        outside = outside_frustum(self.corners_h, vp)
        d = cam.position - self.origin                    # (N, 3)
        a = np.clip((d * self.U).sum(axis=1) / self.UU, 0.0, 1.0)
        b = np.clip((d * self.V).sum(axis=1) / self.VV, 0.0, 1.0)
        nearest = self.origin + a[:, None] * self.U + b[:, None] * self.V
        dist = np.maximum(np.linalg.norm(cam.position - nearest, axis=1), cam.near)
        texel_px = self.u_len * cam.focal_px(size[1]) / dist
        #: pixels a texel spans at each slab's nearest point (its finest level of detail)
        self.texel_px = texel_px
        out = np.where(texel_px >= lod_px, POINTS, SLAB).astype(np.int8)
        out[outside] = CULL
        return out

    def occluded(self, modes: np.ndarray, cam: Camera, vp: np.ndarray, size: tuple[int, int],
                 max_occluders: int = 8) -> np.ndarray:
        """bool per slab: hidden entirely behind one opaque ("slab"-mode) slab nearer the camera.

        Looking along a network's axis, every layer covers most of the screen and llvmpipe pays
        for each hidden fragment's depth test; skipping fully hidden layers removes that. A slab
        is hidden by an occluder when (1) the on-screen part of its projected bounding box lies
        inside the occluder's projected quad, shrunk by a pixel, and (2) all its corners are on
        the far side of the occluder's plane. Only the ``max_occluders`` largest on-screen slabs
        are tried as occluders.
        """
        n = len(self.ids)
        hidden = np.zeros(n, bool)
        if n < 2:
            return hidden
        clip = self.corners_h @ vp.T                                  # (N, 4, 4)
        w = clip[:, :, 3]
        front = (w > 1e-9).all(axis=1)
        ndc = clip[:, :, :2] / np.where(front[:, None], w, 1.0)[:, :, None]   # (N, 4, 2)
        lo = np.clip(ndc.min(axis=1), -1.0, 1.0)                      # on-screen part of the bbox
        hi = np.clip(ndc.max(axis=1), -1.0, 1.0)
        area = np.prod(hi - lo, axis=1)
        cand = front & (modes != CULL)
        occ = np.flatnonzero(front & (modes == SLAB) & (area > 0))
        if len(occ) == 0 or not cand.any():
            return hidden
        occ = occ[np.argsort(-area[occ], kind="stable")[:max_occluders]]
        # bbox corners of every candidate, (N, 4, 2)
        box = np.stack([lo, np.c_[hi[:, 0], lo[:, 1]], hi, np.c_[lo[:, 0], hi[:, 1]]], axis=1)
        q = ndc[occ]                                                  # (K, 4, 2) convex quads
        e = np.roll(q, -1, axis=1) - q                                # (K, 4, 2) edges
        orient = np.sign(np.sum(q[:, :, 0] * np.roll(q[:, :, 1], -1, axis=1)
                                - np.roll(q[:, :, 0], -1, axis=1) * q[:, :, 1], axis=1))   # (K,)
        # unit edges, oriented so that "inside" is the positive side
        e = e * (orient[:, None] / np.maximum(np.linalg.norm(e, axis=2), 1e-12))[:, :, None]
        # signed distance (NDC) of each candidate box corner to each occluder edge, (K, N, 4, 4)
        rel = box[None, :, None, :, :] - q[:, None, :, None, :]
        dist = e[:, None, :, None, 0] * rel[..., 1] - e[:, None, :, None, 1] * rel[..., 0]
        margin = 2.0 / min(size)                                      # one pixel, in NDC
        inside = (dist > margin).all(axis=(2, 3)) & (orient != 0)[:, None]          # (K, N)
        normals = np.cross(self.U[occ], self.V[occ])                  # (K, 3)
        side_cam = ((np.asarray(cam.position, np.float64) - self.origin[occ]) * normals).sum(axis=1)   # (K,)
        offset = (self.origin[occ] * normals).sum(axis=1)
        side = np.einsum("nci,ki->knc", self.corners, normals) - offset[:, None, None]   # (K, N, 4)
        tol = 1e-9 * (np.abs(side_cam) + 1.0)
        behind = ((side * side_cam[:, None, None] < 0) & (np.abs(side) > tol[:, None, None])).all(axis=2)
        hit = inside & behind & cand[None, :]
        hit[np.arange(len(occ)), occ] = False
        return hit.any(axis=0)

    def as_dict(self, modes: np.ndarray) -> dict[int, str]:
        return {lid: MODE_NAMES[m] for lid, m in zip(self.ids, modes.tolist())}

    def from_dict(self, lod: dict[int, str]) -> np.ndarray:
        """Modes from a choose_lod-style dict; layers it does not name are drawn as slabs."""
        return np.array([MODE_CODES.get(lod.get(lid, "slab"), SLAB) for lid in self.ids], np.int8)
