"""icefire: diverging with a dark centre, so near-zero neurons sink into the dark background and
both signs stand out (vispy has no such map)."""
from engine.colormaps.registry import register_colormap

register_colormap("icefire",
                  [(0.75, 0.95, 1.0), (0.15, 0.55, 0.95), (0.10, 0.12, 0.22), (0.95, 0.30, 0.12), (1.0, 0.92, 0.55)],
                  [0.0, 0.25, 0.5, 0.75, 1.0])
