"""A picked layer's activation histogram as a small picture: where the picked neuron sits among its
layer's values, whether the layer is saturated, dead or heavy-tailed. Drawn with numpy and Pillow in a
millisecond or two, so it follows live frames (matplotlib would take ~100 ms a frame)."""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from engine.render.text import get_font

BINS = 48
BG = (10, 12, 20, 215)
BAR = (120, 170, 230, 255)
ZERO_BAR = (90, 100, 120, 255)      # the bin holding 0 (a ReLU layer's dead units pile up there)
MARK = (255, 230, 40, 255)          # the picked neuron's value
TEXT = (225, 232, 240, 255)


def histogram_image(values: np.ndarray, marker: float | None = None, title: str = "",
                    size: tuple[int, int] = (360, 150)) -> np.ndarray:
    """(H, W, 4) straight-alpha RGBA uint8: ``values``' histogram (counts on a square-root scale, so
    a few outliers stay visible beside a peak), ``marker`` as a vertical line, min / max below and
    ``title`` with the share of zeros and non-finite values above."""
    w, h = size
    v = np.asarray(values, np.float64).reshape(-1)
    finite = np.isfinite(v)
    masked = int(np.isneginf(v).sum())
    bad = int((~finite).sum()) - masked
    v = v[finite]
    img = Image.new("RGBA", (w, h), BG)
    d = ImageDraw.Draw(img)
    font = get_font(max(10, h // 12), mono=True)
    pad, top, bottom = 8, h // 6 + 4, h - h // 7 - 6
    extra = []
    if len(v):
        extra.append(f"zeros {np.mean(v == 0):.0%}")
    if bad:
        extra.append(f"NaN/Inf {bad:,}")
    if masked:
        extra.append(f"masked {masked:,}")
    d.text((pad, 3), "   ".join([title, *extra]).strip(), font=font, fill=TEXT)
    if not len(v):
        d.text((pad, top), "no finite values", font=font, fill=TEXT)
        return np.asarray(img)
    lo, hi = float(v.min()), float(v.max())
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(v, BINS, (lo, hi))
    heights = np.sqrt(counts / max(counts.max(), 1))
    x0, x1 = pad, w - pad
    bw = (x1 - x0) / BINS
    for i, c in enumerate(heights):
        if counts[i] == 0:
            continue
        y = bottom - max(1, int(round(c * (bottom - top))))
        zero = edges[i] <= 0 <= edges[i + 1]
        d.rectangle((x0 + i * bw, y, x0 + (i + 1) * bw - (1 if bw > 3 else 0), bottom), fill=ZERO_BAR if zero else BAR)
    d.line((x0, bottom, x1, bottom), fill=TEXT)
    d.text((x0, bottom + 3), f"{lo:+.3g}", font=font, fill=TEXT)
    right = f"{hi:+.3g}"
    d.text((x1 - d.textlength(right, font=font), bottom + 3), right, font=font, fill=TEXT)
    if marker is not None and np.isfinite(marker):
        mx = x0 + (float(np.clip(marker, lo, hi)) - lo) / (hi - lo) * (x1 - x0)
        d.line((mx, top - 2, mx, bottom), fill=MARK, width=2)
        label = f"{marker:+.3g}"
        tx = min(max(mx - d.textlength(label, font=font) / 2, x0), x1 - d.textlength(label, font=font))
        d.text((tx, bottom + 3), label, font=font, fill=MARK)
    return np.asarray(img)


def stack(top: np.ndarray | None, bottom: np.ndarray | None, gap: int = 6) -> np.ndarray | None:
    """Two RGBA panels one above the other (left-aligned; a transparent gap between)."""
    if top is None or bottom is None:
        return bottom if top is None else top
    w = max(top.shape[1], bottom.shape[1])
    out = np.zeros((top.shape[0] + gap + bottom.shape[0], w, 4), np.uint8)
    out[:top.shape[0], :top.shape[1]] = top
    out[top.shape[0] + gap:, :bottom.shape[1]] = bottom
    return out


__all__ = ["histogram_image", "stack"]
