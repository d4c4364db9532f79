"""Level of detail and culling, decided on plain data so tests need no GL."""
from __future__ import annotations

import numpy as np

from engine.scene.camera import Camera
from engine.scene.nodes import Scene, Slab


def _visible(s: Slab, vp: np.ndarray) -> bool:
    """Conservative frustum test of the slab's 4 corners in clip space."""
    c = np.c_[s.corners, np.ones(4)] @ vp.T
    w = c[:, 3:4]
    for axis in range(3):
        if np.all(c[:, axis:axis + 1] > w) or np.all(c[:, axis:axis + 1] < -w):
            return False
    return not np.all(w <= 0)


def texel_pixels(s: Slab, cam: Camera, size: tuple[int, int]) -> float:
    """On-screen size (pixels) of one texel at the slab's nearest point to the camera."""
    # nearest point of the slab rectangle to the camera (clamped projection onto the plane)
    d = cam.position - s.origin
    U, V = s.u * s.cols, s.v * s.rows
    a = np.clip(np.dot(d, U) / np.dot(U, U), 0, 1)
    b = np.clip(np.dot(d, V) / np.dot(V, V), 0, 1)
    nearest = s.origin + a * U + b * V
    dist = max(np.linalg.norm(cam.position - nearest), cam.near)
    return float(np.linalg.norm(s.u) * cam.focal_px(size[1]) / dist)


def choose_lod(scene: Scene, cam: Camera, size: tuple[int, int]) -> dict[int, str]:
    """Per layer id: "cull" (outside the view), "points" (near: one sprite per neuron) or
    "slab" (far: textured quad whose mipmaps average every neuron into the pixels it covers)."""
    vp = cam.view_projection(size[0] / size[1])
    out: dict[int, str] = {}
    for s in scene.slabs:
        if not _visible(s, vp):
            out[s.layer_id] = "cull"
        elif texel_pixels(s, cam, size) >= scene.lod_px:
            out[s.layer_id] = "points"
        else:
            out[s.layer_id] = "slab"
    return out
