"""The scene: nodes kept by group (slabs, edges, labels and any registered node type), the
camera, and the look every pass shares. Plain data: tests inspect it without a GL context."""
from __future__ import annotations

import numpy as np

from engine.scene.camera import Camera
from engine.scene.registry import node_type, node_types


class _Group:
    """A Scene attribute that is the list of one node group (assigning replaces the list)."""

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, scene, owner=None) -> list:
        return self if scene is None else scene.groups[self.name]

    def __set__(self, scene, nodes) -> None:
        scene.groups[self.name] = list(nodes)


class Scene:
    """``slabs``, ``edges`` and ``labels`` are the lists of those groups; other node types are
    reached with :meth:`nodes_of` and added with :meth:`add`."""

    def __init__(self, slabs: list | None = None, edges: list | None = None, labels: list | None = None,
                 camera: Camera | None = None, title: str = "", colormap: str = "viridis",
                 diverging: str = "icefire", background: tuple[float, float, float] = (0.02, 0.02, 0.04),
                 show_edges: bool = True, show_labels: bool = True, lod_px: float = 4.0,
                 nodes: list | tuple = ()) -> None:
        self.groups: dict[str, list] = {t.group: [] for t in node_types()}
        self.groups.update(slabs=list(slabs or []), edges=list(edges or []), labels=list(labels or []))
        for n in nodes:
            self.add(n)
        self.camera = camera if camera is not None else Camera()
        self.title = title
        self.colormap = colormap          # for non-negative layers
        self.diverging = diverging        # for signed layers
        self.background = background
        self.show_edges = show_edges
        self.show_labels = show_labels
        self.lod_px = lod_px              # texel size on screen above which a slab is drawn as points
        self.tokens: list[str] | None = None   # the input's token texts, when the scene is labelled with them
        self.token_images: list | None = None  # per token, the picture its labels show (image patches) or None

    # ---- groups
    def nodes_of(self, cls: type) -> list:
        """The scene's nodes of type ``cls`` (the live list: append to add)."""
        return self.groups.setdefault(node_type(cls).group, [])

    def add(self, node) -> None:
        self.nodes_of(type(node)).append(node)

    slabs = _Group()
    edges = _Group()
    labels = _Group()

    # ---- queries
    def slab(self, layer_id: int):
        for s in self.slabs:
            if s.layer_id == layer_id:
                return s
        raise KeyError(f"no slab for layer {layer_id}")

    @property
    def bbox(self) -> tuple[np.ndarray, np.ndarray]:
        """World box of the nodes whose type frames the scene (the layers)."""
        boxes = [t.bounds(n) for t in node_types() if t.frames for n in self.groups.get(t.group, [])]
        lo = np.min([b[0] for b in boxes], axis=0)
        hi = np.max([b[1] for b in boxes], axis=0)
        return lo, hi

    @property
    def neuron_count(self) -> int:
        return sum(s.count for s in self.slabs)

    @property
    def edge_count(self) -> int:
        return sum(e.count for e in self.edges)

    def __repr__(self) -> str:
        counts = ", ".join(f"{len(v)} {k}" for k, v in self.groups.items() if v)
        return f"Scene({self.title!r}: {counts or 'empty'})"
