"""Node types and their rules: what builds them from a recorded graph, how a ray picks them, and
whether they give the scene its extent. A new kind of thing in the scene (token labels, an
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
    extent: node -> (lo, hi) world box; types with one frame the camera and fade the fog
    """

    cls: type
    group: str
    build: Callable[[Any], list] | None = None
    pick: Callable[[list, Any, Any], Any] | None = None
    extent: Callable[[Any], tuple] | None = None


_TYPES: dict[type, NodeType] = {}


def register_node(cls: type, group: str, *, build=None, pick=None, extent=None) -> type:
    """Register ``cls`` under ``group`` with its rules (see NodeType); returns ``cls``."""
    if any(t.group == group and t.cls is not cls for t in _TYPES.values()):
        raise ValueError(f"node group {group!r} is taken")
    _TYPES[cls] = NodeType(cls, group, build, pick, extent)
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
