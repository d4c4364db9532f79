"""Every colour the engine draws with, in one place (GL-free, so passes, shaders' uniforms and
compute's images agree): colormaps by name -- vispy's, plus our own, one file each in this
package, registered by one import line below -- and the named colours of engine.colormaps.palette.

    colormap_table(name, n=256) -> (n, 4) float32 RGBA
    colormap_names() -> every name colormap_table accepts
"""
from engine.colormaps.registry import ColormapError, colormap_names, colormap_table, register_colormap

from engine.colormaps import icefire  # noqa: F401 - registers "icefire"

__all__ = ["ColormapError", "colormap_names", "colormap_table", "register_colormap"]
