"""A pass draws one kind of drawable: it owns its program(s), buffers and draw, and is registered
by the scene node type it draws (None: a screen-space overlay fed through the Renderer). The
Renderer runs every registered pass in stage order and never names a kind -- the way pygfx
registers one render function per (object, material) and napari picks a vispy adapter per layer
type. A new drawable is one module here plus one import line in passes/__init__.py."""
from __future__ import annotations

from enum import IntEnum

from engine.render.frame import FrameState


class Stage(IntEnum):
    """When a pass draws. The Renderer sets each stage's base state; a pass changes what it needs."""

    OPAQUE = 0        # depth test and depth writes on, blending off
    TRANSPARENT = 1   # depth-tested, not depth-written, straight-alpha blending on
    OVERLAY = 2       # screen space, over everything (passes turn the depth test off)


class Pass:
    """Base class: override what the kind needs. Create with the GL context current."""

    node_type: type | None = None   # the scene node type drawn (scene.nodes_of(node_type))
    stage: Stage = Stage.TRANSPARENT
    order: int = 0                  # within the stage, lower first
    temporal: bool = False          # its picture depends on earlier frames (fades): see Renderer.replay

    def __init__(self, shared) -> None:
        self.shared = shared

    def build(self, scene) -> None:
        """(Re)make the GL objects for ``scene``'s nodes (at creation and on Renderer.rebuild)."""

    def prepare(self, frame: FrameState, scene) -> None:
        """Per-frame uploads, before any draw of the frame is queued (llvmpipe flushes queued
        drawing when a texture it reads changes)."""

    def draw(self, frame: FrameState, scene) -> None:
        """Queue this pass's draws into the bound framebuffer."""

    def after_frame(self) -> None:
        """After every pass drew (fences, freeing what the GPU no longer reads)."""

    def release(self) -> None:
        """Delete the GL objects (context current; idempotent)."""


_PASSES: list[type[Pass]] = []


def register_pass(cls: type[Pass]) -> type[Pass]:
    """Class decorator: the Renderer will run ``cls``."""
    if cls not in _PASSES:
        _PASSES.append(cls)
    return cls


def unregister_pass(cls: type[Pass]) -> None:
    """Stop running ``cls`` in Renderers made from now on (plugins, tests)."""
    if cls in _PASSES:
        _PASSES.remove(cls)


def pass_types() -> list[type[Pass]]:
    """Registered passes in drawing order (stage, then order)."""
    return sorted(_PASSES, key=lambda c: (int(c.stage), c.order))
