"""Text to RGBA images with Pillow (no GL): label atlas packing and HUD panels."""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.colormaps.palette import HIGHLIGHT_POSITIVE
from engine.scene.marks import MARK_OFF, MARK_ON, strip_marks

_SANS = ["DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]
_MONO = ["DejaVuSansMono.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"]
HUD_MARK_BG = tuple(int(round(255 * c)) for c in HIGHLIGHT_POSITIVE) + (255,)   # marked text: the highlight colour
HUD_MARK_TEXT = (12, 12, 16, 255)


def _vispy_font(name: str) -> str | None:
    try:
        import vispy
    except Exception:  # noqa: BLE001
        return None
    p = Path(vispy.__file__).parent / "util" / "fonts" / "data" / name
    return str(p) if p.is_file() else None


@functools.lru_cache(maxsize=32)
def get_font(size: int, mono: bool = False) -> ImageFont.ImageFont:
    """A scalable font at ``size`` px: DejaVu (system) -> OpenSans (ships with vispy) -> Pillow's default."""
    candidates = list(_MONO if mono else []) + _SANS + [_vispy_font("OpenSans-Regular.ttf")]
    for c in candidates:
        if not c:
            continue
        try:
            return ImageFont.truetype(c, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: bitmap font, fixed size
        return ImageFont.load_default()


def render_label(text: str, font_px: int = 48) -> np.ndarray:
    """White text with a dark outline, tight box plus padding, premultiplied RGBA uint8 (H, W, 4).

    The image's height is the font's full line height (ascent + descent) plus the outline,
    so every label of one font size has the same height and a consistent baseline.
    """
    font = get_font(font_px)
    stroke = max(1, font_px // 14)
    pad = stroke + 2
    try:
        ascent, descent = font.getmetrics()
    except AttributeError:
        ascent, descent = font_px, font_px // 4
    x0, _, x1, _ = font.getbbox(text, stroke_width=stroke)
    w = max(1, int(x1 - min(x0, 0)) + 2 * pad)
    h = ascent + descent + 2 * pad
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    ImageDraw.Draw(img).text((pad - min(x0, 0), pad), text, font=font, fill=(255, 255, 255, 255),
                             stroke_width=stroke, stroke_fill=(8, 10, 16, 255))
    return premultiply(np.asarray(img))


def premultiply(rgba: np.ndarray) -> np.ndarray:
    a = rgba[..., 3:4].astype(np.uint16)
    out = rgba.copy()
    out[..., :3] = ((rgba[..., :3].astype(np.uint16) * a + 127) // 255).astype(np.uint8)
    return out


def pack_atlas(images: list[np.ndarray], width: int = 2048, gap: int = 2
               ) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """Shelf-pack RGBA images into one atlas. Returns (atlas (H, W, 4), [(x, y, w, h)] per image)."""
    width = max([width] + [im.shape[1] + 2 * gap for im in images])
    boxes: list[tuple[int, int, int, int]] = []
    x = y = gap
    shelf_h = 0
    for im in images:
        h, w = im.shape[:2]
        if x + w + gap > width:
            x, y = gap, y + shelf_h + gap
            shelf_h = 0
        boxes.append((x, y, w, h))
        x += w + gap
        shelf_h = max(shelf_h, h)
    height = max(1, y + shelf_h + gap)
    atlas = np.zeros((height, width, 4), np.uint8)
    for im, (bx, by, w, h) in zip(images, boxes):
        atlas[by:by + h, bx:bx + w] = im
    return atlas, boxes


def render_panel(lines: list[str], font_px: int = 18) -> np.ndarray:
    """HUD panel: text lines on a translucent dark rounded box, premultiplied RGBA uint8 (H, W, 4)."""
    font = get_font(font_px, mono=True)
    try:
        ascent, descent = font.getmetrics()
    except AttributeError:
        ascent, descent = font_px, font_px // 4
    line_h = ascent + descent + max(2, font_px // 5)
    pad = max(6, font_px // 2)
    widths = [font.getbbox(strip_marks(t))[2] if t else 0 for t in lines] or [0]
    w = int(max(widths)) + 2 * pad
    h = line_h * max(1, len(lines)) + 2 * pad - (line_h - ascent - descent)
    img = Image.new("RGBA", (max(w, 1), max(h, 1)), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, w - 1, h - 1), radius=pad // 2 + 2, fill=(6, 8, 14, 165),
                        outline=(120, 140, 170, 90))
    for i, t in enumerate(lines):
        x, y, marked = pad, pad + i * line_h, False
        for part in t.replace(MARK_OFF, MARK_ON).split(MARK_ON):      # plain, marked, plain, ...
            if part:
                if marked:
                    d.rectangle((x, y, x + font.getlength(part), y + ascent + descent), fill=HUD_MARK_BG)
                d.text((x, y), part, font=font, fill=HUD_MARK_TEXT if marked else (225, 232, 240, 255))
                x += font.getlength(part)
            marked = not marked
    return premultiply(np.asarray(img))
