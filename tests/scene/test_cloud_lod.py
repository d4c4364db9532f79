"""Level of detail of big point clouds (engine/scene/cloud_lod.py): every point is represented at every
level, far chunks become voxels, near ones stay points, a budget is honoured, and the picture with
level of detail matches the one with every point drawn."""
from __future__ import annotations

import numpy as np
import pytest

from engine.scene.camera import Camera
from engine.scene.cloud_lod import CloudLevels
from engine.scene.nodes.cloud import PointCloud

SIZE = (320, 240)


def clustered(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 4, n)
    pos = (rng.uniform(-1, 1, (4, 3))[label] + rng.standard_normal((n, 3)) * 0.2).astype(np.float32)
    return pos, np.eye(3, dtype=np.float32)[label % 3]


def camera_at(distance: float) -> Camera:
    return Camera(position=np.array([0.0, 0.0, distance])).look_at(np.zeros(3))


def test_every_level_stands_for_every_point_with_its_mean_and_most_common_colour():
    pos, col = clustered(20_000)
    lv = CloudLevels(pos, col, min_points=1000)
    v = lv.vertices
    assert lv.levels == 5
    for k in range(lv.levels):
        rows = np.concatenate([np.arange(f, f + c) for f, c in zip(lv.first[k], lv.count[k])])
        assert v[rows, 6].sum() == len(pos)               # counts add up to all points
        assert ((v[rows, 7] > 0) == (k > 0)).all()         # points at level 0, voxels above
    full = v[lv.first[0].min():lv.first[0].min() + len(pos)]
    assert np.allclose(np.sort(full[:, 0]), np.sort(pos[:, 0]))
    # one coarse voxel checked by hand: its mean position and its majority colour
    k = 1
    r = lv.first[k][lv.count[k] > 0][0]
    voxel = lv.voxel[k]
    cell = np.floor((pos - lv.lo) / voxel).astype(int)
    mine = cell == np.floor((v[r, :3] - lv.lo) / voxel).astype(int)
    inside = mine.all(axis=1)
    assert inside.sum() == v[r, 6]
    assert np.allclose(v[r, :3], pos[inside].mean(axis=0), atol=1e-4)
    values, counts = np.unique(col[inside], axis=0, return_counts=True)
    assert np.allclose(v[r, 3:6], values[counts.argmax()])


def test_far_chunks_are_voxels_near_ones_points_and_unseen_ones_skipped():
    pos, col = clustered(50_000)
    lv = CloudLevels(pos, col, min_points=1000)
    far = lv.choose(camera_at(200.0), SIZE)
    near = lv.choose(camera_at(1.5), SIZE)
    assert far.vertices < len(pos) / 10 and far.aggregated_chunks > 0
    assert near.vertices > far.vertices
    every = lv.choose(camera_at(200.0), SIZE, px_limit=0)
    assert every.vertices == len(pos) and every.aggregated_chunks == 0
    away = Camera(position=np.array([0.0, 0.0, 20.0]))
    away.look_at(np.array([0.0, 0.0, 40.0]))              # looking away from the cloud
    assert lv.choose(away, SIZE).vertices == 0


def test_a_budget_coarsens_until_the_frame_fits():
    pos, col = clustered(50_000)
    lv = CloudLevels(pos, col, min_points=1000)
    cam = camera_at(4.0)
    free = lv.choose(cam, SIZE)
    capped = lv.choose(cam, SIZE, budget=5_000)
    assert free.vertices > 5_000 >= capped.vertices > 0
    assert capped.aggregated_chunks >= free.aggregated_chunks


def test_small_clouds_are_always_drawn_point_by_point():
    pos, col = clustered(500)
    lv = CloudLevels(pos, col)
    assert lv.levels == 1
    assert lv.choose(camera_at(500.0), SIZE).vertices == 500


@pytest.mark.parametrize("kwargs, message", [
    ({"positions": np.full((3, 3), np.nan, np.float32)}, "finite"),
    ({"positions": np.zeros((3, 2), np.float32)}, "(N, 3)"),
    ({"size": 0.0}, "size"),
    ({"lod_px": float("inf")}, "lod_px"),
    ({"lod_px": -1.0}, "lod_px"),
])
def test_bad_clouds_are_refused_with_the_value_named(kwargs, message):
    args = {"positions": np.zeros((3, 3), np.float32), "colors": np.zeros((3, 3), np.float32)} | kwargs
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PointCloud(**args)


def test_the_picture_with_level_of_detail_matches_every_point_drawn():
    from engine.render.context import OffscreenContext
    from engine.render.renderer import Renderer
    from engine.scene import Scene

    pos, col = clustered(200_000)
    images = {}
    cam = camera_at(6.0)
    with OffscreenContext():
        for lod in (4.0, 0.0):
            scene = Scene()
            scene.add(PointCloud(pos, col, size=0.01, lod_px=lod))
            r = Renderer(scene, SIZE)
            r.draw(cam)
            images[lod] = r.read_pixels()[..., :3].astype(np.int32)
            drawn = r.passes[[type(p).__name__ for p in r.passes].index("CloudPass")].last[0]
            r.release()
            if lod:
                assert drawn.aggregated_chunks > 0 and drawn.vertices < len(pos) / 2
    lit = {k: (im.sum(axis=2) > 60) for k, im in images.items()}
    assert lit[0.0].mean() > 0.05                        # the cloud is on screen
    overlap = (lit[4.0] & lit[0.0]).sum() / (lit[4.0] | lit[0.0]).sum()
    assert overlap > 0.9
    both = lit[4.0] & lit[0.0]
    # where both are lit, the colour (the clusters' labels) agrees
    same = (np.abs(images[4.0] - images[0.0]).max(axis=2) < 80)[both].mean()
    assert same > 0.8
