"""Node types and their rules: what builds them from a recorded graph, how a ray picks them, their
world bounds (culling, and the scene's extent for the types that frame it) and their level of
detail. A new kind of thing in the scene (token labels, an
embedding point cloud ...) is one module in engine/scene/nodes/ that defines its dataclass and
calls register_node, plus one import line in engine/scene/nodes/__init__.py; its pass in
engine/render/passes/ draws it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable


@dataclass(frozen=True)
class NodeType:
    """The rules of one node type.

    group:  the Scene attribute / key its nodes are kept under ("slabs", "edges", ...)
    build:  BuildContext -> list of nodes, run by engine.scene.build.build_scene in registration order
    pick:   (nodes, ray origin, unit direction) -> the nearest hit (with a ``distance``) or None
    bounds: node -> (lo, hi) world box: frustum culling (engine.scene.cull.outside_view)
    frames: the type's bounds make the scene's extent (camera framing, fog): the layers do
    lod:    nodes -> an object whose ``modes(camera, size, lod_px, vp)`` says per node "cull" / far /
            near (engine.scene.cull: CULL, SLAB, POINTS), decided for all nodes at once each frame
    """

    cls: type
    group: str
    build: Callable[[Any], list] | None = None
    pick: Callable[[list, Any, Any], Any] | None = None
    bounds: Callable[[Any], tuple] | None = None
    frames: bool = False
    lod: Callable[[list], Any] | None = None


_TYPES: dict[type, NodeType] = {}


def register_node(cls: type, group: str, *, build=None, pick=None, bounds=None, frames: bool = False,
                  lod=None) -> type:
    """Register ``cls`` under ``group`` with its rules (see NodeType); returns ``cls``."""
    if any(t.group == group and t.cls is not cls for t in _TYPES.values()):
        raise ValueError(f"node group {group!r} is taken")
    if frames and bounds is None:
        raise ValueError(f"{cls.__name__}: a type that frames the scene needs a bounds rule")
    _TYPES[cls] = NodeType(cls, group, build, pick, bounds, frames, lod)
    return cls


def unregister_node(cls: type) -> None:
    """Remove a registered node type (plugins, tests)."""
    _TYPES.pop(cls, None)


def node_types() -> list[NodeType]:
    """Every registered node type, in registration order."""
    return list(_TYPES.values())


def node_type(cls: type) -> NodeType:
    """The rules of ``cls`` (a registered node type)."""
    try:
        return _TYPES[cls]
    except KeyError:
        raise KeyError(f"{cls.__name__} is not a registered scene node type: call register_node") from None
