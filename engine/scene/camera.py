"""Fly camera as plain data: position + yaw/pitch, matrices in numpy (row-major; upload transposed)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

WORLD_UP = np.array([0.0, 1.0, 0.0])


@dataclass
class Camera:
    position: np.ndarray = field(default_factory=lambda: np.array([0.0, 0.0, 10.0]))
    yaw: float = -90.0     # degrees; -90 looks along -z
    pitch: float = 0.0     # degrees, clamped to (-89, 89)
    fov: float = 60.0      # vertical field of view, degrees
    near: float = 0.05
    far: float = 5000.0

    def __post_init__(self) -> None:
        self.position = np.asarray(self.position, dtype=np.float64)

    @property
    def forward(self) -> np.ndarray:
        y, p = np.radians(self.yaw), np.radians(self.pitch)
        return np.array([np.cos(p) * np.cos(y), np.sin(p), np.cos(p) * np.sin(y)])

    @property
    def right(self) -> np.ndarray:
        r = np.cross(self.forward, WORLD_UP)
        return r / (np.linalg.norm(r) or 1.0)

    @property
    def up(self) -> np.ndarray:
        return np.cross(self.right, self.forward)

    def look_at(self, target) -> "Camera":
        """Turn to face ``target`` (world point); returns self for chaining."""
        d = np.asarray(target, dtype=np.float64) - self.position
        n = np.linalg.norm(d)
        if n > 0:
            d /= n
            self.pitch = float(np.degrees(np.arcsin(np.clip(d[1], -1, 1))))
            self.yaw = float(np.degrees(np.arctan2(d[2], d[0])))
        self.pitch = float(np.clip(self.pitch, -89.0, 89.0))
        return self

    def view_matrix(self) -> np.ndarray:
        f, r, u = self.forward, self.right, self.up
        m = np.identity(4)
        m[0, :3], m[1, :3], m[2, :3] = r, u, -f
        m[:3, 3] = -m[:3, :3] @ self.position
        return m

    def projection_matrix(self, aspect: float) -> np.ndarray:
        t = 1.0 / np.tan(np.radians(self.fov) / 2)
        n, f = self.near, self.far
        m = np.zeros((4, 4))
        m[0, 0], m[1, 1] = t / aspect, t
        m[2, 2], m[2, 3] = (f + n) / (n - f), 2 * f * n / (n - f)
        m[3, 2] = -1.0
        return m

    def view_projection(self, aspect: float) -> np.ndarray:
        return self.projection_matrix(aspect) @ self.view_matrix()

    def reaching(self, corners: np.ndarray) -> "Camera":
        """This camera, or a copy whose far plane reaches past the farthest of ``corners`` (N, 3) -- a
        scene laid out bigger than the default far plane (huge texels) would otherwise be clipped
        away -- with the near plane moved out to keep depth precision (far / near <= 1e6)."""
        d = float(np.sqrt(((np.asarray(corners, np.float64) - self.position) ** 2).sum(axis=1)).max())
        if not np.isfinite(d) or d * 1.1 <= self.far:
            return self
        from dataclasses import replace
        far = d * 1.1
        return replace(self, position=self.position.copy(), far=far, near=max(self.near, far * 1e-6))

    def framing(self, corners: np.ndarray, aspect: float, margin: float = 0.9) -> "Camera":
        """A copy looking the same way, moved along its view axis to the nearest point from which all of
        ``corners`` (N, 3) fit in the picture (``margin`` of the half-width/height kept)."""
        from dataclasses import replace
        pts = np.asarray(corners, np.float64).reshape(-1, 3)
        mid = (pts.min(axis=0) + pts.max(axis=0)) / 2
        rel = pts - mid
        ty = np.tan(np.radians(self.fov) / 2) * margin
        tx = ty * max(float(aspect), 1e-3)
        depth = rel @ self.forward
        dist = float(np.max(np.maximum(depth + np.abs(rel @ self.right) / tx, depth + np.abs(rel @ self.up) / ty)))
        dist = max(dist, float(depth.max()) + 2 * self.near, 1e-3)
        return replace(self, position=mid - self.forward * dist)

    def focal_px(self, viewport_h: int) -> float:
        """Pixels per world unit at distance 1 (for level-of-detail decisions)."""
        return viewport_h / (2 * np.tan(np.radians(self.fov) / 2))

    def ray(self, x: float, y: float, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """World ray (origin, unit direction) through window pixel (x, y), origin top-left."""
        w, h = size
        ndc_x, ndc_y = 2 * (x + 0.5) / w - 1, 1 - 2 * (y + 0.5) / h
        t = np.tan(np.radians(self.fov) / 2)
        d = self.forward + self.right * ndc_x * t * (w / h) + self.up * ndc_y * t
        return self.position.copy(), d / np.linalg.norm(d)

    def to_dict(self) -> dict:
        return {"position": [float(v) for v in self.position], "yaw": self.yaw, "pitch": self.pitch,
                "fov": self.fov}
