"""Attention probabilities from models that never materialise them -- Hugging Face's default SDPA
attention, nn.MultiheadAttention called with need_weights=False (torchvision ViT), hand-written
F.scaled_dot_product_attention with causal masks and grouped-query heads -- equal
softmax(QK^T/sqrt(d) + mask) computed independently: Hugging Face's eager attention with
output_attentions, MultiheadAttention's own need_weights=True, or the formula written out here.
Recorded once and replayed on new inputs (live frames) alike."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine.model.inputs import ExampleInputs
from engine.model.recorder import record
from engine.model.replay import Replayer

tf = pytest.importorskip("transformers")


def probs_layers(g):
    return [l for l in g.layers if l.op == "attention_probs"]


def _hf_pair(kind: str):
    """The same weights twice: default (SDPA) attention, and eager attention as the reference."""
    cfgs = {
        "gpt2": (tf.GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=300, use_cache=False), tf.AutoModelForCausalLM),
        "bert": (tf.BertConfig(num_hidden_layers=2, hidden_size=64, num_attention_heads=4, intermediate_size=128,
                               vocab_size=300), tf.AutoModel),
        "llama": (tf.LlamaConfig(num_hidden_layers=2, hidden_size=64, intermediate_size=128, num_attention_heads=8,
                                 num_key_value_heads=2, vocab_size=300, use_cache=False), tf.AutoModelForCausalLM),
    }
    cfg, cls = cfgs[kind]
    torch.manual_seed(0)
    sdpa = cls.from_config(copy.deepcopy(cfg)).eval()
    eager = cls.from_config(copy.deepcopy(cfg), attn_implementation="eager").eval()
    eager.load_state_dict(sdpa.state_dict())
    assert sdpa.config._attn_implementation == "sdpa"
    return sdpa, eager


def _tokens(seed: int, pad: int = 2):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 300, (1, 10), generator=g)
    mask = torch.ones(1, 10, dtype=torch.long)
    mask[0, 10 - pad:] = 0                      # padding at the end: masked keys
    return ExampleInputs((), {"input_ids": ids, "attention_mask": mask})


@pytest.mark.parametrize("kind", ["gpt2", "bert", "llama"])
def test_hugging_face_sdpa_attention_equals_eager_attention(kind):
    sdpa, eager = _hf_pair(kind)
    ex = _tokens(1)
    g = record(sdpa, ex, capture=True, name=kind)
    probs = probs_layers(g)
    with torch.no_grad():
        ref = eager(**ex.kwargs, output_attentions=True).attentions
    assert len(probs) == len(ref) == 2
    heads = sdpa.config.num_attention_heads
    for l, r in zip(probs, ref):
        assert l.kind == "attention" and l.shape == (1, heads, 10, 10) and l.attrs["heads"] == heads
        np.testing.assert_allclose(l.values, r[0].numpy(), atol=2e-6, err_msg=l.name)
        assert np.all(l.values[..., 8:] == 0.0)                     # padded keys get no attention
        outs = [g.layers[e.dst] for e in g.edges if e.src == l.id]
        assert [o.op for o in outs] == ["scaled_dot_product_attention"] and all(
            e.kind == "attention" for e in g.edges if l.id in (e.src, e.dst))
    # live frames: the replay computes them for another input, from that call's own arguments
    other = _tokens(2)
    out = Replayer(sdpa, g, {l.id for l in probs}).run(other)
    with torch.no_grad():
        ref = eager(**other.kwargs, output_attentions=True).attentions
    for l, r in zip(probs, ref):
        np.testing.assert_allclose(out[l.id].numpy(), r[0].numpy(), atol=2e-6)
    if kind != "bert":                                              # causal: nothing above the diagonal
        assert np.all(np.triu(out[probs[0].id].numpy(), 1) == 0.0)


def _vit():
    import torchvision
    torch.manual_seed(0)
    return torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=4,
                                                hidden_dim=32, mlp_dim=64).eval()


def _mha_reference(model, x):
    """Each MultiheadAttention's own per-head weights (need_weights=True) on the input it gets."""
    seen = []
    hooks = [m.register_forward_pre_hook(lambda m, a, kw: seen.append((m, a[0])), with_kwargs=True)
             for m in model.modules() if isinstance(m, nn.MultiheadAttention)]
    with torch.no_grad():
        model(x)
        for h in hooks:
            h.remove()
        return [m(q, q, q, need_weights=True, average_attn_weights=False)[1] for m, q in seen]


def test_multihead_attention_without_weights_vit():
    model = _vit()
    x = torch.randn(1, 3, 32, 32)
    g = record(model, x, capture=True, name="vit")
    probs = probs_layers(g)
    ref = _mha_reference(model, x)
    assert len(probs) == len(ref) == 2
    for l, r in zip(probs, ref):
        assert l.shape == (1, 4, 17, 17) and l.site[0] == "mha"
        np.testing.assert_allclose(l.values, r[0].numpy(), atol=2e-6)
        np.testing.assert_allclose(l.values.sum(-1), 1.0, atol=1e-5)
    x2 = torch.randn(1, 3, 32, 32)
    out = Replayer(model, g, {l.id for l in probs}).run(ExampleInputs((x2,), {}))
    for l, r in zip(probs, _mha_reference(model, x2)):
        np.testing.assert_allclose(out[l.id].numpy(), r[0].numpy(), atol=2e-6)


class HandWritten(nn.Module):
    """Grouped-query causal attention written with F.scaled_dot_product_attention, and the same
    heads written out as softmax(QK^T) (the form the recorder has always seen)."""

    def __init__(self, d=32, hq=8, hkv=2):
        super().__init__()
        self.hq, self.hkv, self.dh = hq, hkv, d // hq
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * hkv * self.dh)

    def forward(self, x):
        B, T, _ = x.shape
        q = self.q(x).view(B, T, self.hq, self.dh).transpose(1, 2)
        k, v = self.kv(x).view(B, T, 2, self.hkv, self.dh).permute(2, 0, 3, 1, 4)
        fused = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        kk = k.repeat_interleave(self.hq // self.hkv, dim=1)
        causal = torch.full((T, T), float("-inf"), device=x.device).triu(1)
        written = torch.softmax(q @ kk.transpose(-2, -1) / self.dh ** 0.5 + causal, dim=-1)
        return fused + written @ v.repeat_interleave(self.hq // self.hkv, dim=1)


def test_hand_written_sdpa_with_causal_mask_and_grouped_heads():
    torch.manual_seed(0)
    model = HandWritten().eval()
    x = torch.randn(1, 6, 32)
    g = record(model, x, capture=True)
    fused = g.layer("attention_probs")
    written = g.layer("softmax")
    assert fused.kind == written.kind == "attention" and fused.shape == written.shape == (1, 8, 6, 6)
    with torch.no_grad():                        # the formula, written out independently
        B, T = 1, 6
        q = model.q(x).view(B, T, 8, 4).transpose(1, 2)
        k = model.kv(x).view(B, T, 2, 2, 4).permute(2, 0, 3, 1, 4)[0].repeat_interleave(4, dim=1)
        s = q @ k.transpose(-2, -1) / 2.0 + torch.full((T, T), float("-inf")).triu(1)
        ref = torch.softmax(s, dim=-1)[0].numpy()
    np.testing.assert_allclose(fused.values, ref, atol=1e-6)
    np.testing.assert_allclose(written.values, ref, atol=1e-6)


def test_a_padding_query_with_no_key_left_is_zero_not_nan():
    from engine.model.attention import sdpa_probs
    q, k = torch.randn(1, 2, 3, 4), torch.randn(1, 2, 3, 4)
    mask = torch.ones(3, 3, dtype=torch.bool)
    mask[2] = False                                      # query 2 may attend to nothing
    p = sdpa_probs(q, k, mask)
    assert torch.isfinite(p).all() and torch.all(p[..., 2, :] == 0) and torch.allclose(p[..., :2, :].sum(-1),
                                                                                        torch.ones(1, 2, 2))
    q[0, 0, 0, 0] = float("nan")                         # a real NaN still shows
    assert torch.isnan(sdpa_probs(q, k)[0, 0, 0]).all()


def test_live_probe_follows_another_padding():
    """Another padding changes the calls a Hugging Face model makes (mask building): the probe
    records again and its maps still equal eager attention."""
    from engine.compute.probe import LiveProbe
    sdpa, eager = _hf_pair("bert")
    g = record(sdpa, _tokens(1), name="bert")
    probe = LiveProbe(sdpa, g)
    for other in (_tokens(3, pad=5), _tokens(4, pad=0)):
        frame = probe.run(other)
        assert frame.error is None
        with torch.no_grad():
            ref = eager(**other.kwargs, output_attentions=True).attentions
        for l, r in zip(probs_layers(g), ref):
            np.testing.assert_allclose(frame.layers[l.id].values.reshape(r[0].shape), r[0].numpy(), atol=2e-6)
    assert probe.recordings >= 1
    probe.close()


def test_live_maps_reuse_memory_but_stay_valid_while_shown():
    """Replayed maps rotate through map_depth buffers: a frame's map keeps its values while the
    next map_depth - 1 frames are computed, and its memory comes back after that (no fresh
    50 MB allocations per frame)."""
    sdpa, eager = _hf_pair("gpt2")
    g = record(sdpa, _tokens(1), name="gpt2")
    lid = probs_layers(g)[0].id
    r = Replayer(sdpa, g, {lid}, map_depth=2)
    frames = [r.run(_tokens(seed))[lid] for seed in (5, 6)]
    with torch.no_grad():
        ref = [eager(**_tokens(seed).kwargs, output_attentions=True).attentions[0][0] for seed in (5, 6)]
    for got, want in zip(frames, ref):                 # both still hold their own frame
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=2e-6)
    third = r.run(_tokens(7))[lid]
    assert third.data_ptr() == frames[0].data_ptr() and third.data_ptr() != frames[1].data_ptr()


@pytest.mark.parametrize("capture", [False, True])
def test_maps_of_a_recording_without_values_have_the_same_shapes(capture):
    """Without values the recording only works out each map's shape (no arithmetic)."""
    models = [(_hf_pair("llama")[0], _tokens(1)), (_vit(), ExampleInputs((torch.randn(1, 3, 32, 32),), {})),
              (HandWritten().eval(), ExampleInputs((torch.randn(1, 6, 32),), {}))]
    for model, ex in models:
        full = record(model, ex, capture=True)
        g = record(model, ex, capture=capture)
        assert [(l.name, l.shape) for l in probs_layers(g)] == [(l.name, l.shape) for l in probs_layers(full)]
        assert all((l.values is not None) == capture for l in probs_layers(g))
    seq_first = nn.MultiheadAttention(16, 4).eval()          # (L, N, E) and unbatched (L, E)
    for x in (torch.randn(5, 2, 16), torch.randn(5, 16)):
        g = record(seq_first, ((x, x, x), {}))
        ref = seq_first(x, x, x, need_weights=True, average_attn_weights=False)[1]
        assert probs_layers(g)[0].shape == tuple(ref.shape)
