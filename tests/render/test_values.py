"""Where activations live on the GPU: memory shared with the forward pass, persistent-mapped copies,
far slabs' mean pyramids (engine/render/values.py, engine/render/pyramid.py)."""
import numpy as np
import pytest
import torch

from engine.layout.mosaic import to_mosaic
from engine.model.inputs import ExampleInputs
from engine.model.recorder import record
from tests.fixtures import Block


def test_attached_values_share_memory_with_gl():
    from engine.pipeline import scene_from_graph
    from engine.render.context import OffscreenContext
    from engine.render.renderer import Renderer
    model = Block().eval()
    ex = ExampleInputs((torch.randn(1, 4, 6, 6),), {})
    g = record(model, ex, capture=True, top_k=0)
    scene = scene_from_graph(g)
    with OffscreenContext(), Renderer(scene, (160, 120), samples=0) as r:
        if not r.values.zero_copy:
            pytest.skip("driver without GL_AMD_pinned_memory")
        s = scene.slabs[1]
        a = np.arange(s.count, dtype=np.float32)
        assert r.attach_values(s.layer_id, a) is True
        np.testing.assert_array_equal(r.read_texture(s.layer_id), a)
        a[:5] = -7.0                                  # GL reads the array itself: no copy was made
        np.testing.assert_array_equal(r.read_texture(s.layer_id)[:5], -7.0)
        r.draw()
        r.update_values(s.layer_id, np.ones(s.count, np.float32))   # back to a copy in GL's own buffer
        a[:] = 5.0
        np.testing.assert_array_equal(r.read_texture(s.layer_id), 1.0)


def test_far_pyramids_follow_new_values_within_the_budget():
    """Far slabs sample the mean pyramid: with no budget every drawn slab's pyramid is rebuilt
    at once; with a zero budget it waits (the live viewer spreads rebuilds over frames)."""
    from engine.pipeline import scene_from_graph
    from engine.render.context import OffscreenContext
    from engine.render.renderer import Renderer
    from engine.scene.camera import Camera
    model = Block().eval()
    g = record(model, ExampleInputs((torch.randn(1, 4, 6, 6),), {}), capture=True, top_k=0)
    scene = scene_from_graph(g)
    s = scene.slabs[1]                                           # conv1: a 12 x 12 mosaic
    scene.slabs, scene.edges, scene.labels = [s], [], []
    far = Camera(position=s.center + s.normal * 30.0).look_at(s.center)   # ~5 pixels wide: far levels
    with OffscreenContext(), Renderer(scene, (160, 120), samples=0) as r:
        def shot(value, budget):
            r.far_budget = budget
            r.set_signed(s.layer_id, False)
            r.attach_values(s.layer_id, np.full(s.count, value, np.float32), scale=1.0)
            r.draw(far)
            return r.read_pixels().astype(int)
        dark, bright = shot(0.05, None), shot(0.95, None)
        assert np.abs(dark - bright).sum(axis=2).max() > 100          # the far slab changed colour
        stale = shot(0.05, 0.0)
        assert r.values.far_dirty[0] and np.array_equal(stale, bright)    # not rebuilt yet
        assert np.array_equal(shot(0.05, None), dark)


def test_far_slab_averages_every_neuron():
    """A checkerboard of 0s and 1s seen from far looks like 0.5 everywhere (the mean pyramid),
    not like a sample of single neurons (aliasing)."""
    from engine.pipeline import scene_from_graph
    from engine.render.context import OffscreenContext
    from engine.render.renderer import Renderer
    from engine.scene.camera import Camera
    model = Block().eval()
    g = record(model, ExampleInputs((torch.randn(1, 4, 6, 6),), {}), capture=True, top_k=0)
    scene = scene_from_graph(g)
    s = scene.slabs[1]
    scene.slabs, scene.edges, scene.labels = [s], [], []
    col, row = s.mosaic.texel(np.arange(s.count))
    checker = ((col + row) % 2).astype(np.float32)
    far = Camera(position=s.center + s.normal * 11.0).look_at(s.center)   # ~2 texels a pixel
    with OffscreenContext(), Renderer(scene, (160, 120), samples=0) as r:
        r.set_signed(s.layer_id, False)

        def shot(values):
            r.update_values(s.layer_id, values, scale=1.0)
            r.draw(far)
            return r.read_pixels().astype(int)
        grey, board, black = shot(np.full(s.count, 0.5, np.float32)), shot(checker), shot(np.zeros(s.count, np.float32))
    on = np.abs(grey - black).sum(axis=2) > 60                 # pixels of the slab
    assert on.sum() >= 9
    assert np.abs(board[on] - grey[on]).max() <= 40, np.abs(board[on] - grey[on]).max()


def test_mapped_upload_path_for_drivers_without_shared_memory():
    """Without GL_AMD_pinned_memory, attach copies into persistent-mapped buffers: the texture
    holds each new frame (ring slots reused behind fences) and later writes to the array do not
    leak into GL."""
    from engine.pipeline import scene_from_graph
    from engine.render.context import OffscreenContext
    from engine.render.renderer import Renderer
    model = Block().eval()
    g = record(model, ExampleInputs((torch.randn(1, 4, 6, 6),), {}), capture=True, top_k=0)
    scene = scene_from_graph(g)
    with OffscreenContext(), Renderer(scene, (160, 120), samples=0) as r:
        if not r.values.mapped:
            pytest.skip("driver without buffer storage")
        r.values.zero_copy = False
        s = scene.slabs[1]
        for k in range(5):
            a = np.arange(s.count, dtype=np.float32) * (k + 1)
            assert r.attach_values(s.layer_id, a) is False
            r.draw()
            np.testing.assert_array_equal(r.read_texture(s.layer_id), np.arange(s.count) * (k + 1.0))
            a[:] = -1.0                                   # a copy was taken
            assert r.read_texture(s.layer_id)[1] == k + 1.0
        half = np.linspace(-1, 1, s.count).astype(np.float16)
        r.attach_values(s.layer_id, half)                 # float16 frames (CUDA) reallocate the ring
        np.testing.assert_array_equal(r.read_texture(s.layer_id), half.astype(np.float32))


@pytest.mark.parametrize("shape", [(6, 5, 7), (4, 8, 6), (10,), (3, 7), (2, 3, 4, 5), (3, 5000), (5, 16, 16), (3, 1, 9),
                                   (5, 12, 12), (7, 6, 10), (3, 9000)])
def test_far_pyramid_is_the_mosaic_mean_pyramid(shape):
    """Far slabs sample levels 1.. built from tensor order: equal to 2x2 means of the mosaic
    image with GL's floor sizes (a side of 1 stays 1)."""
    from engine.layout.mosaic import mosaic_for
    from engine.render.pyramid import level_sizes, mean_pyramid
    m = mosaic_for(shape)
    v = np.random.default_rng(0).random(m.count).astype(np.float32)
    levels = mean_pyramid(v, m)
    assert [lv.shape for lv in levels] == level_sizes(m.rows, m.cols)
    src = to_mosaic(v, m).astype(np.float64)
    for lv in levels:
        h, w = lv.shape
        H, W = src.shape
        ky, kx = (2 if H > 1 else 1), (2 if W > 1 else 1)
        ref = src[: h * ky, : w * kx].reshape(h, ky, w, kx).mean(axis=(1, 3))
        np.testing.assert_allclose(lv, ref, atol=1e-5)
        src = ref
    for first in range(2, len(levels) + 1):          # a far slab's pyramid starts coarser
        coarse = mean_pyramid(v, m, first=first)
        assert len(coarse) == len(levels) - first + 1
        for a, b in zip(coarse, levels[first - 1:]):
            np.testing.assert_allclose(a, b, atol=1e-5)


def test_far_pyramids_of_a_batch_are_each_slabs_own():
    """Slabs sharing a mosaic are pooled as one batch (float16 frames too), split when the batch
    outgrows the scratch memory: each gets its own pyramid, not a neighbour's."""
    import engine.render.pyramid as pyramid
    from engine.layout.mosaic import mosaic_for
    m = mosaic_for((5, 12, 12))                      # 3 x 2 tiles: one of them padding
    rng = np.random.default_rng(1)
    arrays = [rng.random(m.count).astype(np.float32) for _ in range(4)] + [rng.random(m.count).astype(np.float16)]
    builder = pyramid.PyramidBuilder()
    for first in (1, 2, 3):
        got = [[lv.copy() for lv in levels] for levels in builder.build(arrays, m, first)]
        for a, levels in zip(arrays, got):
            for x, y in zip(pyramid.mean_pyramid(a.astype(np.float32), m, first), levels):
                np.testing.assert_allclose(x, y, atol=1e-3)
    small = pyramid.SCRATCH_FLOATS
    want = [pyramid.mean_pyramid(a.astype(np.float32), m, 2) for a in arrays]
    try:
        pyramid.SCRATCH_FLOATS = 3 * m.tiles_r * m.tiles_c * 6 * 12 * 2   # two slabs a batch
        for levels, ref in zip(pyramid.PyramidBuilder().build(arrays, m, 2), want):
            for x, y in zip(levels, ref):
                np.testing.assert_allclose(x, y, atol=1e-3)
    finally:
        pyramid.SCRATCH_FLOATS = small


def test_far_textures_of_slabs_sharing_a_mosaic_hold_their_own_pyramids():
    """Layers with the same mosaic are built as one batch and uploaded one by one: read back from
    GL, each far texture holds the mean pyramid of its own layer's values."""
    from OpenGL import GL

    from engine.pipeline import scene_from_graph
    from engine.render.context import OffscreenContext
    from engine.render.pyramid import mean_pyramid
    from engine.render.renderer import Renderer
    g = record(Block().eval(), ExampleInputs((torch.randn(1, 4, 6, 6),), {}), capture=True, top_k=0)
    scene = scene_from_graph(g)
    same = [s for s in scene.slabs if s.mosaic == scene.slabs[1].mosaic]
    assert len(same) >= 3
    rng = np.random.default_rng(2)
    with OffscreenContext(), Renderer(scene, (160, 120), samples=0) as r:
        vals = r.values
        want = {}
        for s in same:
            want[s.layer_id] = rng.random(s.count).astype(np.float32)
            r.attach_values(s.layer_id, want[s.layer_id])
        index = [r.slab_data.slab_index(s.layer_id) for s in same]
        assert vals.build_far([(i, 1) for i in index]) == len(same)
        assert vals.build_far([(i, 1) for i in index]) == 0            # current: nothing rebuilt
        for s, i in zip(same, index):
            GL.glBindTexture(GL.GL_TEXTURE_2D, vals.far[i])
            level1 = mean_pyramid(want[s.layer_id], s.mosaic)[0]
            got = np.frombuffer(GL.glGetTexImage(GL.GL_TEXTURE_2D, 1, GL.GL_RED, GL.GL_FLOAT), np.float32)
            np.testing.assert_allclose(got.reshape(level1.shape), level1, atol=1e-6)
