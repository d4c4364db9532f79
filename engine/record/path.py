"""Camera paths for recordings. The default flies beside the network from input to output,
keeping each stretch of layers framed by its local size (smoothed, so the motion is calm)."""
from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter1d

from engine.scene.camera import Camera
from engine.scene.nodes import Scene


def default_path(scene: Scene, frames: int) -> list[Camera]:
    zs = np.array([s.center[2] for s in scene.slabs])
    ext = np.array([max(s.cols * np.linalg.norm(s.u), s.rows * np.linalg.norm(s.v)) for s in scene.slabs])
    order = np.argsort(-zs)                  # input end (largest z) first
    zs, ext = zs[order], ext[order]
    grid = np.linspace(zs[0], zs[-1], 256)
    local = np.interp(-grid, -zs, ext)       # np.interp wants increasing x
    local = np.maximum(gaussian_filter1d(local, 12), 1.0)
    cams = []
    fov = scene.camera.fov
    for s in np.linspace(0.0, 1.0, max(frames, 1)):
        s = s * s * (3 - 2 * s)              # ease in and out
        z = zs[0] + (zs[-1] - zs[0]) * s
        e = float(np.interp(-z, -grid, local))
        pos = np.array([0.9 * e, 0.55 * e, z + 1.3 * e])
        cams.append(Camera(position=pos, fov=fov).look_at(np.array([0.0, 0.0, z - 0.4 * e])))
    return cams
