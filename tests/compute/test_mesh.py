"""Isosurface mesh export: vertices lie on the p = 0.5 surface, files parse, bad requests are clear."""
import numpy as np
import pytest

from engine.compute.field import Field
from engine.compute.mesh import MeshError, export_mesh, isosurface


def sphere_field(res=48, r=0.5):
    c = -1 + (np.arange(res) + 0.5) * (2 / res)
    z, y, x = np.meshgrid(c, c, c, indexing="ij")
    d = np.sqrt(x ** 2 + y ** 2 + z ** 2)
    p = 1 / (1 + np.exp(20 * (d - r)))          # p = 0.5 exactly on the sphere of radius r
    return Field(p.astype(np.float32), 3, res, -1.0, 1.0, 2, 0)


def test_vertices_lie_on_the_half_probability_sphere():
    verts, faces = isosurface(sphere_field())
    radius = np.linalg.norm(verts, axis=1)
    assert len(faces) > 100
    np.testing.assert_allclose(radius, 0.5, atol=0.03)


def test_offset_surface_keeps_axis_order():
    res = 40
    c = -1 + (np.arange(res) + 0.5) * (2 / res)
    z, y, x = np.meshgrid(c, c, c, indexing="ij")
    p = 1 / (1 + np.exp(-20 * (x - 0.3)))       # boundary is the plane x = 0.3
    verts, _ = isosurface(Field(p.astype(np.float32), 3, res, -1.0, 1.0, 2, 0))
    np.testing.assert_allclose(verts[:, 0], 0.3, atol=0.02)
    assert np.ptp(verts[:, 1]) > 1.5 and np.ptp(verts[:, 2]) > 1.5


@pytest.mark.parametrize("ext", ["obj", "ply"])
def test_export_writes_a_mesh_file(tmp_path, ext):
    path = export_mesh(sphere_field(24), tmp_path / f"s.{ext}")
    text = path.read_text()
    verts, faces = isosurface(sphere_field(24))
    if ext == "obj":
        assert text.count("\nv ") == len(verts) and text.count("\nf ") == len(faces)
    else:
        assert f"element vertex {len(verts)}" in text and f"element face {len(faces)}" in text


def test_bad_requests_are_clear(tmp_path):
    with pytest.raises(MeshError, match="3D field"):
        isosurface(Field(np.zeros((8, 8), np.float32), 2, 8, -1.0, 1.0, 2, 0))
    with pytest.raises(MeshError, match="never crosses"):
        isosurface(Field(np.full((8, 8, 8), 0.9, np.float32), 3, 8, -1.0, 1.0, 2, 0))
    with pytest.raises(MeshError, match=".obj or .ply"):
        export_mesh(sphere_field(16), tmp_path / "s.stl")
