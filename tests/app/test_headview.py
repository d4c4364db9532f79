"""Head view: picking an attention probability of a labelled text draws, beside the map, a line from
each query token to every key it attends, weighted by the probability (the picked query's at full
weight), and names what the picked query attends most in the HUD."""
from __future__ import annotations

import numpy as np
import pytest

from engine.app.inspector import Inspector
from engine.pipeline import LiveOptions, load
from engine.scene.headview import MIN_WEIGHT, OTHERS, attention_cell
from engine.scene.pick import Pick
from engine.scene.tokens import head_view_points
from engine.scenefile import resolve_spec


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip("transformers")
    return load(resolve_spec("minilm"), LiveOptions(input="text:the cat sat on the mat"))


def test_pick_on_a_head_draws_its_head_view(minilm):
    scene = minilm.scene
    tokens = scene.tokens
    n = len(tokens)
    assert tokens[:3] == ["[CLS]", "the", "cat"]
    slab = next(s for s in scene.slabs if s.name.endswith("layer.1.attention.self.attention_probs"))
    head, q = 5, 2                                          # head 5, query "cat"
    index = head * n * n + q * n + 4
    assert attention_cell(slab, index, n) == (head, q, 4)
    col, row = slab.mosaic.texel(index)
    got = Inspector(scene, minilm.graph, minilm.model).inspect(Pick(slab, 1.0, slab.center, int(col), int(row)))
    assert got.lines and got.lines[0].startswith(f"head {head}: query {q} 'cat' attends")
    probs = np.asarray(slab.values, np.float64).reshape(-1, n, n)[head]
    queries, keys, _ = head_view_points(slab, tokens)
    seg, w = got.positions.reshape(-1, 2, 3), got.weights[0::2]
    # the head view's lines run from the query column to the key column, right of the map; the rest
    # outline the query's row in every head (test below)
    right = slab.origin[0] + slab.cols * slab.u[0]
    hv = np.isclose(seg[:, 0, 0], queries[0, 0], atol=1e-5) & np.isclose(seg[:, 1, 0], keys[0, 0], atol=1e-5)
    assert hv.sum() and (queries[:, 0] > right).all()
    assert len(seg) - hv.sum() == 4 * sum(s.count // (n * n) for s in scene.slabs
                                          if s.kind == "attention" and s.mosaic.th == n == s.mosaic.tw)
    seg, w = seg[hv], w[hv]
    mine = np.all(np.isclose(seg[:, 0], queries[q], atol=1e-5), axis=1)
    ks = [int(np.argmin(np.linalg.norm(keys - p, axis=1))) for p in seg[mine, 1]]
    assert sorted(ks) == sorted(np.flatnonzero(probs[q] >= MIN_WEIGHT).tolist())
    np.testing.assert_allclose(w[mine], probs[q, ks], atol=1e-5)
    others = ~mine
    assert others.any() and w[others].max() <= OTHERS + 1e-6
    assert len(seg) == int((probs >= MIN_WEIGHT).sum())        # 8 tokens <= 64: every query drawn


def test_other_picks_are_no_head_view(minilm):
    scene = minilm.scene
    plane = next(s for s in scene.slabs if s.kind == "add")
    ins = Inspector(scene, minilm.graph, minilm.model)
    assert ins.head_view(Pick(plane, 1.0, plane.center, 0, 0)) is None


def test_picking_a_token_outlines_its_rows_in_every_map(minilm):
    scene = minilm.scene
    n = len(scene.tokens)
    plane = next(s for s in scene.slabs if s.kind == "add" and s.rows == n)
    got = Inspector(scene, minilm.graph, minilm.model).inspect(Pick(plane, 1.0, plane.center, 3, 2))
    assert any("token 2 'cat'" in line for line in got.lines)
    maps = [s for s in scene.slabs if s.kind == "attention" and s.mosaic.th == n == s.mosaic.tw]
    boxes = sum(s.count // (n * n) for s in maps)              # one box per head of every map
    seg = got.positions.reshape(-1, 2, 3)
    outlined = seg[np.isclose(got.weights[0::2], 0.5)]
    assert len(outlined) == 4 * boxes
    m = maps[0]
    top = m.origin[1] + 2 * m.v[1]                             # row 2 of the first tile row spans these y
    assert np.isclose(outlined[:, :, 1], top, atol=1e-5).any()


def test_rollout_matches_the_formula_and_draws_back_to_the_inputs(minilm):
    from engine.compute.rollout import RESIDUAL, attention_rollout, scene_rollout
    from engine.compute.unmosaic import SceneValues
    scene = minilm.scene
    n = len(scene.tokens)
    maps = sorted((s for s in scene.slabs if s.name.endswith("attention_probs")), key=lambda s: s.rank)
    assert len(maps) == 6
    r = np.eye(n)                                           # written out independently
    for s in maps:
        a = np.asarray(s.values, np.float64).reshape(12, n, n).mean(axis=0)
        a = RESIDUAL * np.eye(n) + (1 - RESIDUAL) * a
        r = (a / a.sum(axis=1, keepdims=True)) @ r
    ro = scene_rollout(scene, SceneValues(scene))
    np.testing.assert_allclose(ro.matrix, r, atol=1e-6)
    np.testing.assert_allclose(ro.matrix.sum(axis=1), 1.0, atol=1e-6)
    assert ro.first.rank < ro.last.rank
    got = Inspector(scene, minilm.graph, minilm.model).rollout(None)
    assert got.lines[0].startswith(f"attention rollout over 6 layers: token {n - 1}")
    seg = got.positions.reshape(-1, 2, 3)
    assert np.allclose(seg[:, 0, 2], ro.last.origin[2]) and np.allclose(seg[:, 1, 2], ro.first.origin[2])
    assert got.weights.max() == 1.0
    with pytest.raises(ValueError):
        attention_rollout([])


def test_long_heads_draw_every_query_s_strongest_keys():
    """Beyond ALL_QUERIES tokens the picked query keeps all its lines, every other query its TOP_KEYS
    strongest, so a long sequence's head view stays readable."""
    from engine.scene.headview import ALL_QUERIES, TOP_KEYS, head_view_segments
    n = ALL_QUERIES + 36
    rng = np.random.default_rng(0)
    p = rng.uniform(0, 1, (n, n))
    p /= p.sum(axis=1, keepdims=True)
    p[:, :10] += 0.1                                          # every query attends the first keys >= MIN_WEIGHT
    q, k = np.zeros((n, 3)), np.c_[np.ones(n), np.arange(n), np.zeros(n)]
    seg, w = head_view_segments(p, q, k, picked=7)
    assert len(seg) // 2 == int((p[7] >= 0.02).sum()) + (n - 1) * TOP_KEYS
