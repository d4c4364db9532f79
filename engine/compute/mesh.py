"""Isosurface mesh export of a 3D decision field (marching cubes, on request only: the viewer
raymarches the field every frame and never builds a CPU mesh)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.compute.field import Field
from engine.errors import NeuroscapeError


class MeshError(NeuroscapeError):
    pass


def isosurface(field: Field, level: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (N, 3) in data coordinates x, y, z; triangles (M, 3)) where p = ``level``."""
    if field.dims != 3:
        raise MeshError("mesh export needs a 3D field: pick a 3D dataset (shells3d, helices3d, iris, digits)")
    p = field.prob                                      # (z, y, x)
    if not (p.min() < level < p.max()):
        raise MeshError(f"the field never crosses p = {level} yet: train longer or choose another level")
    from skimage.measure import marching_cubes
    verts, faces, _normals, _values = marching_cubes(p, level=level)
    step = (field.hi - field.lo) / field.res
    xyz = field.lo + (verts[:, ::-1] + 0.5) * step      # cell index (z, y, x) -> cell centre (x, y, z)
    return xyz.astype(np.float32), faces.astype(np.int64)


def export_mesh(field: Field, path: str | Path, level: float = 0.5) -> Path:
    """Write the p = ``level`` isosurface as Wavefront OBJ (.obj) or ASCII PLY (.ply)."""
    path = Path(path)
    if path.suffix.lower() not in (".obj", ".ply"):
        raise MeshError(f"mesh file {path} needs a .obj or .ply extension")
    verts, faces = isosurface(field, level)
    try:
        with path.open("w", encoding="ascii") as f:
            if path.suffix.lower() == ".obj":
                f.write(f"# neuroscape isosurface p = {level}\n")
                np.savetxt(f, verts, fmt="v %.6f %.6f %.6f")
                np.savetxt(f, faces + 1, fmt="f %d %d %d")
            else:
                f.write(f"ply\nformat ascii 1.0\nelement vertex {len(verts)}\nproperty float x\nproperty float y\n"
                        f"property float z\nelement face {len(faces)}\nproperty list uchar int vertex_indices\n"
                        "end_header\n")
                np.savetxt(f, verts, fmt="%.6f %.6f %.6f")
                np.savetxt(f, np.c_[np.full(len(faces), 3), faces], fmt="%d %d %d %d")
    except OSError as e:
        raise MeshError(f"cannot write {path} ({e.strerror}): choose a writable folder") from None
    return path
