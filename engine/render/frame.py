"""One frame's view, shared by every pass: camera, framebuffer size, view-projection, and the
std140 "Frame" uniform block (shaders/common.glsl) that carries them to the shaders."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.colormaps import palette
from engine.scene.camera import Camera

FOG_MAX = 0.6                # how far toward the background the farthest geometry fades
NEURON_GAP = 0.80            # sprite diameter / neuron spacing
BLOCK_FLOATS = 48            # the Frame block's size in floats (std140)


@dataclass
class FrameState:
    camera: Camera
    size: tuple[int, int]
    vp: np.ndarray                      # world -> clip, row-major
    lod: dict[int, str] | None = None   # per layer id: "cull"/"slab"/"points", forced (tests, benchmarks)
    number: int = 0                     # which draw of the renderer this is (1, 2, ...)


class Extent:
    """The scene's world box, for fog: it starts a little past the nearest point of the box and is
    strongest at its farthest corner, with offsets that scale with the box (a shallow scene stays clear)."""

    def __init__(self, scene=None) -> None:
        if scene is not None and scene.slabs:
            lo, hi = scene.bbox
        else:
            lo = hi = np.zeros(3)
        self.corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])],
                                np.float64)
        self.lo, self.hi = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
        self.diag = max(float(np.linalg.norm(self.hi - self.lo)), 1e-3)


def frame_block(out: np.ndarray, frame: FrameState, extent: Extent, background) -> np.ndarray:
    """Fill ``out`` (BLOCK_FLOATS float32) with the Frame uniform block of ``frame``."""
    w, h = frame.size
    cam = frame.camera
    f = out
    f[0:16] = frame.vp.T.ravel()    # column-major for GLSL
    pos = cam.position
    f[16:19] = pos
    f[20:23] = cam.right
    f[24:27] = cam.up
    nearest = np.clip(pos, extent.lo, extent.hi)
    d_near = float(np.linalg.norm(pos - nearest))
    d_far = float(np.sqrt(((extent.corners - pos) ** 2).sum(axis=1).max()))
    f[28] = d_near + 0.15 * extent.diag
    f[29] = max(d_far, f[28]) + 0.1 * extent.diag
    f[30] = FOG_MAX
    f[32:35] = background
    f[36], f[37] = w, h
    f[38] = cam.focal_px(h)
    f[39] = NEURON_GAP
    f[40:43] = palette.NONFINITE
    f[44:47] = palette.MASKED
    return f
