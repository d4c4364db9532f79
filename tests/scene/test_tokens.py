"""Token labels: each token's text beside its row of the residual stream's token planes and along the
query rows and key columns of every attention map, placed outside the slab where it can be read."""
from __future__ import annotations

import copy

import pytest
import torch

from engine.layout.placement import layout_graph
from engine.model.inputs import ExampleInputs
from engine.model.recorder import record
from engine.scene.build import build_scene
from engine.scene.tokens import LABELLED_KINDS, add_token_labels, token_text

tf = pytest.importorskip("transformers")


def test_token_text_shows_whitespace():
    assert token_text(" the") == "\u2423the"
    assert token_text("\n") == "\u21b5"
    assert token_text("a ") == "a\u2423"
    assert token_text("") == "\u2423"
    assert token_text("cat") == "cat"


def test_rows_and_columns_of_maps_and_planes_get_their_tokens():
    cfg = tf.GPT2Config(n_layer=1, n_embd=32, n_head=4, vocab_size=300, n_positions=32, use_cache=False)
    torch.manual_seed(0)
    model = tf.AutoModelForCausalLM.from_config(copy.deepcopy(cfg)).eval()
    words = ["The", " cat", " sat", "."]
    ids = torch.tensor([[10, 11, 12, 13]])
    g = record(model, ExampleInputs((), {"input_ids": ids}, "language"), name="lm")
    scene = build_scene(g, None, layout_graph(g))
    before = len(scene.labels)
    n = add_token_labels(scene, g, words)
    tokens = scene.labels[before:]
    assert n == len(tokens) > 0
    maps = [s for s in scene.slabs if s.kind == "attention" and s.name.endswith("attention_probs")]
    assert maps
    for m in maps:
        mine = [lb for lb in tokens if lb.layer_id == m.layer_id]
        mo = m.mosaic
        right = m.origin[0] + m.cols * m.u[0]
        rows = [lb for lb in mine if not lb.vertical and lb.position[0] < m.origin[0]]
        cols = [lb for lb in mine if lb.vertical]
        head_view = [lb for lb in mine if not lb.vertical and lb.position[0] > right]
        assert len(rows) == mo.tiles_r * 4 and len(cols) == mo.tiles_c * 4
        assert len(head_view) == 2 * 4 and len(mine) == len(rows) + len(cols) + len(head_view)
        assert [lb.text for lb in rows[:4]] == ["The", "\u2423cat", "\u2423sat", "."]
        assert all(lb.position[1] > m.origin[1] for lb in cols)     # above it (rows run down)
        ys = [lb.position[1] for lb in rows[:4]]
        assert ys == sorted(ys, reverse=True)                       # token order down the rows
    labelled = {lb.layer_id for lb in tokens}
    assert all(s.kind in LABELLED_KINDS for s in scene.slabs if s.layer_id in labelled)
    planes = [s for s in scene.slabs if s.kind == "add" and s.rows == 4]
    assert planes and all(s.layer_id in labelled for s in planes)
    assert scene.tokens == ["The", "\u2423cat", "\u2423sat", "."]
    assert add_token_labels(scene, g, ["a", "b"]) == 0                # another length: nothing fits

