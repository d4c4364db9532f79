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
    # every line runs from the query column to the key column, right of the map
    right = slab.origin[0] + slab.cols * slab.u[0]
    assert (seg[:, :, 0] > right).all()
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
