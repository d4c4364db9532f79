"""Head view (BertViz's, in 3D beside the map): for one head of an attention map, a column of query
tokens and a column of key tokens to the right of the map, and a line from each query to every key
it attends, its width and opacity by the weight. The picked query's lines are drawn at full weight,
the other queries' fainter (every key they attend up to ALL_QUERIES tokens; beyond, their TOP_KEYS
strongest, so a 1024-token head stays readable)."""
from __future__ import annotations

import numpy as np

from engine.scene.nodes import Slab

__all__ = ["head_view_columns", "head_view_segments", "attention_cell", "ALL_QUERIES", "TOP_KEYS", "MIN_WEIGHT"]

ALL_QUERIES = 64        # longer sequences: the picked query's lines, and the others' TOP_KEYS strongest
TOP_KEYS = 3
MIN_WEIGHT = 0.02       # weaker attention draws no line
OTHERS = 0.45           # the other queries' lines, relative to the picked one's


def attention_cell(slab: Slab, index: int, n: int) -> tuple[int, int, int] | None:
    """(head, query, key) of neuron ``index`` of an attention map laid out heads x queries x keys."""
    if index is None or n <= 0 or index >= slab.count or slab.count % (n * n):
        return None
    head, rest = divmod(int(index), n * n)
    q, k = divmod(rest, n)
    return head, q, k


def head_view_columns(slab: Slab, n: int, label_room: float) -> tuple[np.ndarray, np.ndarray]:
    """World points of the query column and the key column ((n, 3) each) to the right of the map,
    spanning its height; ``label_room``: world width left free for the query labels."""
    du, dv = float(np.linalg.norm(slab.u)), float(np.linalg.norm(slab.v))
    uh, vh = slab.u / (du or 1.0), slab.v / (dv or 1.0)
    height = slab.rows * dv
    step = height / n
    right = slab.origin + slab.cols * slab.u
    q0 = right + (0.05 * height + label_room) * uh
    k0 = q0 + 0.6 * height * uh
    t = (np.arange(n) + 0.5)[:, None] * step * vh
    return q0 + t, k0 + t


def head_view_segments(probs: np.ndarray, queries: np.ndarray, keys: np.ndarray,
                       picked: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(2N, 3) segments and (2N,) weights for one head's (n, n) probabilities."""
    p = np.nan_to_num(np.asarray(probs, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    n = p.shape[0]
    seg, wts = [], []
    for q in range(n):
        ks = np.flatnonzero(p[q] >= MIN_WEIGHT)
        if n > ALL_QUERIES and q != picked and ks.size > TOP_KEYS:
            ks = ks[np.argsort(-p[q, ks], kind="stable")[:TOP_KEYS]]
        if ks.size == 0:
            continue
        w = p[q, ks] * (1.0 if q == picked or picked is None else OTHERS)
        pts = np.empty((2 * ks.size, 3))
        pts[0::2] = queries[q]
        pts[1::2] = keys[ks]
        seg.append(pts)
        wts.append(np.repeat(np.clip(w, 0.0, 1.0), 2))
    if not seg:
        return np.zeros((0, 3), np.float32), np.zeros(0, np.float32)
    return np.concatenate(seg).astype(np.float32), np.concatenate(wts).astype(np.float32)
