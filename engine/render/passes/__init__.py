"""The passes, one module per kind of drawable, each registered with @register_pass when its
module is imported below: a new drawable is one module plus one line here. Drawing order comes
from each pass's stage and order, not from this list."""
from engine.render.passes.base import Pass, Stage, pass_types, register_pass, unregister_pass

from engine.render.passes import slabs  # noqa: F401 - Slab nodes far: textured quads
from engine.render.passes import neurons  # noqa: F401 - Slab nodes near: a sprite per neuron
from engine.render.passes import frames  # noqa: F401 - Slab outlines
from engine.render.passes import edges  # noqa: F401 - EdgeSet nodes
from engine.render.passes import labels  # noqa: F401 - Label nodes
from engine.render.passes import field  # noqa: F401 - DecisionField nodes
from engine.render.passes import cloud  # noqa: F401 - PointCloud nodes
from engine.render.passes import highlight  # noqa: F401 - overlay: highlighted segments
from engine.render.passes import hud  # noqa: F401 - overlay: HUD text
from engine.render.passes import panel  # noqa: F401 - overlay: image panel
from engine.render.passes import strip  # noqa: F401 - overlay: the overview strip

__all__ = ["Pass", "Stage", "pass_types", "register_pass", "unregister_pass"]
