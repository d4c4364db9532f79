"""Token labels: the text of each token beside its row of a token plane, along the rows (queries)
and columns (keys, written bottom to top) of every attention map's heads, and beside the two token
columns of the map's head view (engine/scene/headview.py). They are ordinary Labels that only show
when flown close enough to read (engine/scene/nodes/label.py: min_px / max_px)."""
from __future__ import annotations

import numpy as np

from engine.model.graph import LayerGraph
from engine.scene.headview import head_view_columns
from engine.scene.nodes import Label, Scene, Slab

__all__ = ["token_text", "add_token_labels", "head_view_points", "TOKEN_MIN_PX", "TOKEN_MAX_PX", "LABELLED_KINDS"]

TOKEN_MIN_PX, TOKEN_MAX_PX = 9.0, 24.0
TOKEN_COLOR = (0.95, 0.93, 0.75, 1.0)
LABELLED_KINDS = ("embedding", "add", "attention")                # the residual stream and the maps
MAX_TOKEN_LABELS = 400_000                                        # ~0.5 GB of label vertices


def token_text(piece: str) -> str:
    """A token's text made visible: newlines and tabs as symbols, leading/trailing spaces as open boxes."""
    t = piece.replace("\n", "\u21b5").replace("\t", "\u21e5").replace("\r", "")
    if t.strip() != t or not t:
        core = t.strip()
        lead, trail = len(t) - len(t.lstrip()), len(t) - len(t.rstrip())
        t = "\u2423" * lead + core + ("\u2423" * trail if core else "")
    return t or "\u2423"


def _labelled(slab: Slab, shape: tuple[int, ...], n: int) -> tuple[int, int, bool] | None:
    """(tiles down, tiles across, label the columns too) when the slab's rows are its layer's n tokens."""
    m = slab.mosaic
    if slab.kind == "attention" and len(shape) == 3 and shape[1] == n and shape[2] == n and m.th == n and m.tw == n:
        return m.tiles_r, m.tiles_c, True             # heads x queries x keys
    if len(shape) == 2 and shape[0] == n and m.ntiles == 1 and m.th == n:
        return 1, 1, False                            # tokens x hidden
    return None


def _width(text: str, h: float) -> float:
    """Estimated world width of a label ``h`` tall (the label font's average advance)."""
    return 0.62 * h * max(1, len(text))


def head_view_points(slab: Slab, texts: list[str]) -> tuple[np.ndarray, np.ndarray, float]:
    """The head view's query and key columns of an attention map and their labels' height."""
    n = len(texts)
    h = 0.8 * slab.rows * float(np.linalg.norm(slab.v)) / n
    room = max(_width(t, h) for t in texts) + 0.6 * h
    q, k = head_view_columns(slab, n, room)
    return q, k, h


def add_token_labels(scene: Scene, graph: LayerGraph, tokens: list[str]) -> int:
    """Label the rows (and attention maps' columns) of the scene's token planes with ``tokens``;
    returns how many labels were added."""
    n = len(tokens)
    if n == 0:
        return 0
    texts = [token_text(t) for t in tokens]
    scene.tokens = texts
    shapes = {l.id: tuple(l.shape[1:]) for l in graph.layers}
    added: list[Label] = []
    for s in scene.slabs:
        if s.kind not in LABELLED_KINDS:
            continue
        fit = _labelled(s, shapes.get(s.layer_id, ()), n)
        if fit is None:
            continue
        tiles_r, tiles_c, columns = fit
        du, dv = float(np.linalg.norm(s.u)), float(np.linalg.norm(s.v))
        uh, vh = s.u / (du or 1.0), s.v / (dv or 1.0)
        h = 0.8 * dv
        for tr in range(tiles_r):
            for q, text in enumerate(texts):
                row = tr * n + q + 0.5
                width = _width(text, h) + 0.6 * h
                pos = s.origin + row * s.v - width * uh + 0.4 * h * vh
                added.append(Label(text, pos, h, TOKEN_COLOR, s.layer_id, TOKEN_MIN_PX, TOKEN_MAX_PX))
        if columns:                                   # the head view's two columns
            qs, ks, hh = head_view_points(s, texts)
            for text, qp, kp in zip(texts, qs, ks):
                lift = 0.4 * hh * vh
                added.append(Label(text, qp - (_width(text, hh) + 0.3 * hh) * uh + lift, hh, TOKEN_COLOR,
                                   s.layer_id, TOKEN_MIN_PX, TOKEN_MAX_PX))
                added.append(Label(text, kp + 0.3 * hh * uh + lift, hh, TOKEN_COLOR, s.layer_id, TOKEN_MIN_PX,
                                   TOKEN_MAX_PX))
        if columns:
            g = 0.8 * du
            for tc in range(tiles_c):
                for k, text in enumerate(texts):
                    col = tc * n + k + 0.5
                    pos = s.origin + col * s.u - 0.5 * g * uh - 0.5 * g * vh
                    added.append(Label(text, pos, g, TOKEN_COLOR, s.layer_id, TOKEN_MIN_PX, TOKEN_MAX_PX,
                                       vertical=True))
        if len(added) > MAX_TOKEN_LABELS:
            break
    scene.labels.extend(added[:MAX_TOKEN_LABELS])
    return min(len(added), MAX_TOKEN_LABELS)
