"""Fly and orbit camera control as pure logic (window-free, so tests drive it directly)."""
from __future__ import annotations

import numpy as np

from engine.scene.camera import WORLD_UP, Camera

MOVE_KEYS = {"w": (1, 0, 0), "s": (-1, 0, 0), "d": (0, 1, 0), "a": (0, -1, 0), "e": (0, 0, 1), "q": (0, 0, -1)}


def _smooth(t: float) -> float:
    t = min(max(t, 0.0), 1.0)
    return t * t * (3 - 2 * t)


class CameraController:
    """WASD fly, Q/E down/up, Shift faster, drag to look; orbit mode drags around a target."""

    def __init__(self, camera: Camera, extent: float, target: np.ndarray | None = None) -> None:
        self.camera = camera
        self.speed = max(extent / 8.0, 0.5)        # world units per second
        self.mode = "fly"
        self.held: set[str] = set()
        self.fast = False
        self.target = np.zeros(3) if target is None else np.asarray(target, dtype=np.float64)
        self.look_sensitivity = 0.15               # degrees per pixel
        self._flight: tuple | None = None
        self.base_distance = max(extent / 8.0, 0.5)
        #: position -> distance to the nearest geometry (None: speed as set). Flying is slower near
        #: it (down to a tenth of ``speed`` at a tenth of the scene's eighth), full speed far out.
        self.nearest = None

    # ---- input -------------------------------------------------------------------------
    def key(self, name: str, down: bool) -> None:
        if name == "shift":
            self.fast = down
        elif name in MOVE_KEYS:
            (self.held.add if down else self.held.discard)(name)

    def drag(self, dx: float, dy: float) -> None:
        self._flight = None
        cam = self.camera
        if self.mode == "fly":
            cam.yaw += dx * self.look_sensitivity
            cam.pitch = float(np.clip(cam.pitch - dy * self.look_sensitivity, -89, 89))
            return
        offset = cam.position - self.target
        r = np.linalg.norm(offset) or 1.0
        yaw = np.arctan2(offset[2], offset[0]) + np.radians(dx * self.look_sensitivity)
        pitch = np.clip(np.arcsin(np.clip(offset[1] / r, -1, 1)) + np.radians(dy * self.look_sensitivity),
                        np.radians(-89), np.radians(89))
        cam.position = self.target + r * np.array([np.cos(pitch) * np.cos(yaw), np.sin(pitch),
                                                   np.cos(pitch) * np.sin(yaw)])
        cam.look_at(self.target)

    def scroll(self, dy: float) -> None:
        if self.mode == "fly":
            self.speed = float(np.clip(self.speed * 1.25 ** dy, 1e-3, 1e5))
        else:
            off = self.camera.position - self.target
            self.camera.position = self.target + off * 0.85 ** dy

    def toggle_orbit(self, target: np.ndarray | None = None) -> str:
        self.mode = "orbit" if self.mode == "fly" else "fly"
        if self.mode == "orbit":
            if target is not None:
                self.target = np.asarray(target, dtype=np.float64)
            self.camera.look_at(self.target)
        return self.mode

    def fly_to(self, position: np.ndarray, target: np.ndarray, duration: float = 0.8) -> None:
        """Smooth flight to ``position`` ending up looking at ``target``."""
        end = Camera(position=np.asarray(position, dtype=np.float64), fov=self.camera.fov).look_at(target)
        c = self.camera
        self._flight = (c.position.copy(), c.yaw, c.pitch, end.position, end.yaw, end.pitch, 0.0, duration)
        self.target = np.asarray(target, dtype=np.float64)

    @property
    def flying(self) -> bool:
        return self._flight is not None

    # ---- per frame ---------------------------------------------------------------------
    def update(self, dt: float) -> bool:
        """Advance by ``dt`` seconds; True if the camera moved."""
        cam = self.camera
        if self._flight is not None:
            p0, y0, pi0, p1, y1, pi1, t, dur = self._flight
            t += dt
            s = _smooth(t / dur)
            dyaw = (y1 - y0 + 180) % 360 - 180
            cam.position = p0 + (p1 - p0) * s
            cam.yaw, cam.pitch = y0 + dyaw * s, pi0 + (pi1 - pi0) * s
            self._flight = None if t >= dur else (p0, y0, pi0, p1, y1, pi1, t, dur)
            return True
        if not self.held:
            return False
        f, r, u = np.sum([MOVE_KEYS[k] for k in self.held], axis=0)
        move = cam.forward * f + cam.right * r + WORLD_UP * u
        n = np.linalg.norm(move)
        if n == 0:
            return False
        near = 1.0 if self.nearest is None else float(np.clip(self.nearest(cam.position) / self.base_distance,
                                                               0.1, 1.0))
        step = self.speed * near * (4.0 if self.fast else 1.0) * dt
        cam.position = cam.position + move / n * step
        if self.mode == "orbit":
            self.target = self.target + move / n * step
        return True
