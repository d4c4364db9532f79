"""The overview strip: every shown layer in data-flow order as one bar -- height the log of its neurons,
colour its kind -- with a you-are-here marker under the layer nearest the camera; a click on a bar
flies there. Plain data and a numpy picture (no GL): the viewer draws it through Renderer.set_strip,
so in a 500-layer network a newcomer still sees where they are and how the model is shaped."""
from __future__ import annotations

import numpy as np

from engine.colormaps.palette import KIND_COLORS, KIND_OTHER, STRIP_HERE
from engine.scene.scene import Scene

MARGIN = 12             # pixels from the window's bottom-left corner
MAX_BAR_PX = 14         # a bar's width in a short network
WIDTH_SHARE = 0.5       # of the window's width at most (the kernel panel owns the bottom right)
BG = (8, 10, 16, 190)   # the strip's translucent backing


class OverviewStrip:
    def __init__(self, scene: Scene) -> None:
        order = sorted(range(len(scene.slabs)), key=lambda i: (scene.slabs[i].rank, i))
        self.slabs = [scene.slabs[i] for i in order]
        self.centers = np.array([s.center for s in self.slabs], np.float64).reshape(-1, 3)
        counts = np.array([max(s.count, 1) for s in self.slabs], np.float64)
        logs = np.log10(counts) if len(counts) else counts
        top = float(logs.max()) if len(logs) and logs.max() > 0 else 1.0
        self.heights = 0.25 + 0.75 * logs / top            # a one-neuron layer still shows a stub

    def __len__(self) -> int:
        return len(self.slabs)

    def rect(self, size: tuple[int, int]) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) pixels of the strip in a ``size`` window, origin top-left."""
        w, h = size
        bar_h = int(np.clip(h / 16, 20, 56))
        width = int(min(WIDTH_SHARE * w - MARGIN, len(self) * MAX_BAR_PX + 8))
        width = max(width, min(len(self) + 8, int(w - 2 * MARGIN)))
        return MARGIN, h - MARGIN - bar_h, MARGIN + width, h - MARGIN

    def nearest(self, position: np.ndarray, forward: np.ndarray | None = None) -> int | None:
        """Index (in strip order) of the layer you are at: with ``forward``, the one ahead nearest the line
        of sight (off-axis distance plus a third of the distance along it); else, or with nothing ahead,
        the one whose centre is nearest ``position``."""
        if not len(self):
            return None
        rel = self.centers - np.asarray(position, np.float64)
        if forward is not None:
            f = np.asarray(forward, np.float64)
            along = rel @ f
            ahead = along > 0
            if ahead.any():
                off = np.sqrt(np.maximum((rel ** 2).sum(axis=1) - along ** 2, 0.0))
                score = np.where(ahead, off + along / 3, np.inf)
                return int(score.argmin())
        return int((rel ** 2).sum(axis=1).argmin())

    def index_of(self, slab) -> int | None:
        return next((i for i, s in enumerate(self.slabs) if s is slab), None)

    def hit(self, x: float, y: float, size: tuple[int, int]) -> int | None:
        """The layer under window pixel (x, y), or None outside the strip."""
        x0, y0, x1, y1 = self.rect(size)
        if not len(self) or not (x0 <= x < x1 and y0 <= y < y1):
            return None
        inner0, inner1 = x0 + 4, x1 - 4
        return int(np.clip((x - inner0) / max(inner1 - inner0, 1) * len(self), 0, len(self) - 1))

    def image(self, size: tuple[int, int], here: int | None) -> np.ndarray:
        """(h, w, 4) straight-alpha RGBA uint8: the bars, the marker under ``here``."""
        x0, y0, x1, y1 = self.rect(size)
        w, h = x1 - x0, y1 - y0
        img = np.zeros((h, w, 4), np.uint8)
        img[:] = BG
        n = len(self)
        if not n:
            return img
        marker = max(3, h // 7)
        inner = w - 8
        edges = 4 + np.round(np.arange(n + 1) * inner / n).astype(int)
        gap = 1 if inner / n >= 3 else 0
        usable = h - marker - 6
        for i, s in enumerate(self.slabs):
            a, b = edges[i], max(edges[i + 1] - gap, edges[i] + 1)
            top = 3 + int(round(usable * (1 - self.heights[i])))
            rgb = np.array(KIND_COLORS.get(s.kind, KIND_OTHER)) * (1.0 if i == here else 0.75)
            img[top:3 + usable, a:b, :3] = (rgb * 255).astype(np.uint8)
            img[top:3 + usable, a:b, 3] = 255
        if here is not None:                               # a bright bar under the layer, and its outline
            a, b = edges[here], max(edges[here + 1] - gap, edges[here] + 1)
            img[h - marker - 2:h - 2, max(a - 1, 0):min(b + 1, w), :3] = (np.array(STRIP_HERE) * 255).astype(np.uint8)
            img[h - marker - 2:h - 2, max(a - 1, 0):min(b + 1, w), 3] = 255
        return img

    def name(self, i: int) -> str:
        return self.slabs[i].name


__all__ = ["OverviewStrip"]
