"""Scene files: TOML that says which model or playground, input, layout, look, camera, camera path
and render options (see README). Parsed and checked against the dataclasses each table fills.

    load_scene_file(path) -> SceneSpec          resolve_spec("resnet50" or "x.toml", **overrides)
    look_of(spec) -> Look    layout_of(spec) -> LayoutOptions    camera_of(spec, default) -> Camera
"""
from __future__ import annotations

import numpy as np

from engine.layout.placement import LayoutOptions
from engine.scene.camera import Camera
from engine.scene.look import Look
from engine.scenefile.file import SceneFileError, SceneSpec, find_scene, load_scene_file, resolve_spec
from engine.scenefile.schema import fill
from engine.scenefile.sections import SizeError, parse_size


def look_of(spec: SceneSpec) -> Look:
    """The spec's [look] table as a Look."""
    return fill(Look, spec.look)


def layout_of(spec: SceneSpec) -> LayoutOptions:
    """The spec's [layout] table as LayoutOptions."""
    return fill(LayoutOptions, spec.layout)


def camera_of(spec: SceneSpec, default: Camera) -> Camera:
    """The spec's [camera] table applied to ``default`` (returned as it is without one)."""
    c = spec.camera
    if not c:
        return default
    cam = Camera(position=np.array(c.get("position", default.position), dtype=np.float64),
                 yaw=default.yaw, pitch=default.pitch, fov=float(c.get("fov", default.fov)))
    if "look_at" in c:
        cam.look_at(c["look_at"])
    return cam


__all__ = ["SceneFileError", "SceneSpec", "SizeError", "camera_of", "find_scene", "layout_of", "load_scene_file",
           "look_of", "parse_size", "resolve_spec"]
