"""Attention rollout (Abnar & Zuidema 2020): how much each output position draws on each input token
through all the attention layers -- R = prod over layers of (a I + (1 - a) mean over heads of A),
rows renormalised -- computed from the attention maps the scene shows, and drawn as lines from the
last token plane's row back to the first plane's token rows."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from engine.scene.nodes import Scene, Slab

__all__ = ["attention_rollout", "Rollout", "scene_rollout", "RESIDUAL"]

RESIDUAL = 0.5          # the residual connection's share at every layer


def attention_rollout(maps: list[np.ndarray], residual: float = RESIDUAL) -> np.ndarray:
    """(T, T) rollout of attention maps given in data-flow order, each (heads, T, T) or (T, T)."""
    if not maps:
        raise ValueError("attention rollout needs at least one attention map")
    n = maps[0].shape[-1]
    r = np.eye(n)
    for a in maps:
        a = np.nan_to_num(np.asarray(a, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        a = a.reshape(-1, n, n).mean(axis=0)
        a = residual * np.eye(n) + (1.0 - residual) * a
        a /= np.maximum(a.sum(axis=-1, keepdims=True), 1e-12)
        r = a @ r
    return r


class Rollout:
    """A scene's rollout: the matrix, the maps it came from, the first and last token planes."""

    def __init__(self, matrix: np.ndarray, maps: list[Slab], first: Slab, last: Slab, filled: int) -> None:
        self.matrix, self.maps, self.first, self.last = matrix, maps, first, last
        self.filled = filled            # query rows with attention so far (--generate fills them in turn)

    def segments(self, q: int, min_weight: float = 0.02) -> tuple[np.ndarray, np.ndarray]:
        """Lines from output row ``q`` of the last plane to each input row of the first plane it
        draws on, weights relative to the strongest."""
        w = self.matrix[q]
        peak = float(w.max()) or 1.0
        ks = np.flatnonzero(w >= min_weight * peak)
        src = _row_point(self.last, q)
        seg = np.empty((2 * ks.size, 3))
        seg[0::2] = src
        seg[1::2] = [_row_point(self.first, int(k)) for k in ks]
        return seg.astype(np.float32), np.repeat(w[ks] / peak, 2).astype(np.float32)


def _row_point(slab: Slab, row: int) -> np.ndarray:
    """Left end of a token plane's row."""
    return slab.origin + (row + 0.5) * slab.v


def scene_rollout(scene: Scene, values: Mapping[int, np.ndarray]) -> Rollout | None:
    """The rollout of a scene labelled with its tokens (None when it has no attention maps over them)."""
    n = len(scene.tokens or [])
    if n == 0:
        return None
    maps = sorted((s for s in scene.slabs if s.kind == "attention" and s.mosaic.th == n == s.mosaic.tw
                   and s.count % (n * n) == 0), key=lambda s: s.rank)
    planes = sorted((s for s in scene.slabs if s.kind in ("embedding", "add") and s.mosaic.ntiles == 1
                     and s.rows == n), key=lambda s: s.rank)
    got = [np.asarray(values[s.layer_id]).reshape(-1, n, n) for s in maps if s.layer_id in values]
    if not got or not planes:
        return None
    rows = np.flatnonzero(np.nan_to_num(got[0]).reshape(-1, n, n).sum(axis=(0, 2)) > 0)
    filled = int(rows[-1]) + 1 if rows.size else n
    return Rollout(attention_rollout(got), maps, planes[0], planes[-1], filled)
