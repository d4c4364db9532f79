"""Label: a text billboard in the world -- one per slab (names, kinds and shapes), except the
norm/activation layers of big models, which sit right behind the layer that names them. On screen
a label keeps a readable size: it fades out below ``min_px`` pixels tall (too small to read, and
what makes far overviews a blur) and stops growing above ``max_px``."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.scene.registry import register_node

QUIET_KINDS = ("norm", "activation", "dropout", "reshape")   # unlabelled in big models
LABEL_ALL_BELOW = 40               # layers up to which every slab gets a label
SLAB_MIN_PX, SLAB_MAX_PX = 5.0, 40.0
STEP_MIN_PX, STEP_MAX_PX = 8.0, 20.0   # a recurrent state's time-step labels
STEP_COLOR = (0.62, 0.72, 0.82, 1.0)


@dataclass
class Label:
    text: str
    position: np.ndarray           # world position of the label's bottom-left
    height: float = 1.0            # world units
    color: tuple[float, float, float, float] = (0.9, 0.9, 0.9, 1.0)
    layer_id: int = -1
    min_px: float = SLAB_MIN_PX    # screen height (pixels) below which the label fades out; 0: never
    max_px: float = SLAB_MAX_PX    # screen height above which it stops growing; 0: no limit
    vertical: bool = False         # text runs bottom to top (a column's token); ``height`` is the glyph height
    image: np.ndarray | None = field(default=None, repr=False)   # (h, w, 3) uint8 shown instead of the text
                                   # (an image patch token); ``text`` then only names it (same text, same image)
    declutter: bool = True         # False: shown whenever on screen (pictures laid out not to overlap)


def build_labels(ctx) -> list[Label]:
    slabs = ctx.scene.slabs
    labels = []
    for sl in slabs:
        if sl.kind in QUIET_KINDS and len(slabs) > LABEL_ALL_BELOW:
            continue
        h = float(np.clip(0.06 * max(sl.cols, sl.rows) * np.linalg.norm(sl.u), 0.12, 0.8))
        labels.append(Label(sl.label, sl.origin + np.array([0.0, 0.25 * h, 0.0]), h, layer_id=sl.layer_id))
        labels.extend(_step_labels(sl, ctx.layers[sl.layer_id]))
    return labels


def _step_labels(sl, layer) -> list[Label]:
    """Time steps of a recurrent state unrolled in time: ``t=k`` under each step's plane, or, when the
    planes wrap into several rows, at the left of each row (the step it starts with)."""
    m = sl.mosaic
    if layer.op != "rnn_state" or len(layer.shape) != 3 or m.ntiles != layer.shape[1] or m.ntiles < 2:
        return []
    du, dv = float(np.linalg.norm(sl.u)), float(np.linalg.norm(sl.v))
    uh, vh = sl.u / (du or 1.0), sl.v / (dv or 1.0)
    h = 0.3 * m.th * dv
    out = []
    if m.tiles_r == 1:
        for k in range(m.ntiles):
            pos = sl.origin + (k + 0.1) * m.tw * sl.u + (m.th * dv + 1.1 * h) * vh
            out.append(Label(f"t={k}", pos, h, STEP_COLOR, sl.layer_id, STEP_MIN_PX, STEP_MAX_PX))
        return out
    for tr in range(m.tiles_r):
        text = f"t={tr * m.tiles_c}"
        pos = sl.origin - (0.62 * h * len(text) + 0.5 * h) * uh + ((tr + 0.5) * m.th * dv + 0.5 * h) * vh
        out.append(Label(text, pos, h, STEP_COLOR, sl.layer_id, STEP_MIN_PX, STEP_MAX_PX))
    return out


register_node(Label, "labels", build=build_labels)
