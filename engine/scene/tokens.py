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


def _width(text: str, h: float, picture: bool = False) -> float:
    """Estimated world width of a label ``h`` tall (the label font's average advance; a picture: square)."""
    return h if picture else 0.62 * h * max(1, len(text))


def _label(text: str, pos: np.ndarray, h: float, layer_id: int, picture, vertical: bool = False) -> Label:
    color = (1.0, 1.0, 1.0, 1.0) if picture is not None else TOKEN_COLOR     # pictures in their own colours
    return Label(text, pos, h, color, layer_id, TOKEN_MIN_PX, TOKEN_MAX_PX, vertical, picture)


def head_view_points(slab: Slab, texts: list[str], pictures: list | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """The head view's query and key columns of an attention map and their labels' height."""
    n = len(texts)
    pictures = pictures or [None] * n
    h = 0.8 * slab.rows * float(np.linalg.norm(slab.v)) / n
    room = max(_width(t, h, p is not None) for t, p in zip(texts, pictures)) + 0.6 * h
    q, k = head_view_columns(slab, n, room)
    return q, k, h


def add_token_labels(scene: Scene, graph: LayerGraph, tokens: list[str],
                     images: list[np.ndarray | None] | None = None) -> int:
    """Label the rows (and attention maps' columns) of the scene's token planes with ``tokens``
    (``images``: a picture per token shown instead of its text, e.g. a ViT's image patches; names
    must then be unique per picture); returns how many labels were added."""
    n = len(tokens)
    if n == 0:
        return 0
    pics = list(images) if images is not None else [None] * n
    if len(pics) != n:
        raise ValueError(f"{len(pics)} token images for {n} tokens")
    texts = [token_text(t) for t in tokens]
    scene.tokens, scene.token_images = texts, pics
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
                width = _width(text, h, pics[q] is not None) + 0.6 * h
                pos = s.origin + row * s.v - width * uh + 0.4 * h * vh
                added.append(_label(text, pos, h, s.layer_id, pics[q]))
        if columns:                                   # the head view's two columns
            qs, ks, hh = head_view_points(s, texts, pics)
            for text, qp, kp, pic in zip(texts, qs, ks, pics):
                lift = 0.4 * hh * vh
                added.append(_label(text, qp - (_width(text, hh, pic is not None) + 0.3 * hh) * uh + lift, hh,
                                    s.layer_id, pic))
                added.append(_label(text, kp + 0.3 * hh * uh + lift, hh, s.layer_id, pic))
        if columns:
            g = 0.8 * du
            for tc in range(tiles_c):
                for k, text in enumerate(texts):
                    col = tc * n + k + 0.5
                    pos = s.origin + col * s.u - 0.5 * g * uh - 0.5 * g * vh
                    added.append(_label(text, pos, g, s.layer_id, pics[k], vertical=True))
        if len(added) > MAX_TOKEN_LABELS:
            break
    scene.labels.extend(added[:MAX_TOKEN_LABELS])
    return min(len(added), MAX_TOKEN_LABELS)
