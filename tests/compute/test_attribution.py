"""Attribution (Captum): Integrated Gradients is complete, Grad-CAM finds what a model was built to
look at, every module layer gets its activation x gradient, the scene shows the magnitudes, and bad
requests fail with one line."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

pytest.importorskip("captum")

from engine.compute.attribution import apply_to_scene, categories_for, explain  # noqa: E402
from engine.compute.errors import InputError  # noqa: E402
from engine.model.inputs import ExampleInputs  # noqa: E402
from engine.model.recorder import record  # noqa: E402


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(12, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 10)).eval()


def test_integrated_gradients_add_up_to_the_output_change():
    """Completeness: the input attributions sum to f(x)[t] - f(0)[t]."""
    model = _mlp()
    x = torch.randn(1, 12, generator=torch.Generator().manual_seed(1))
    ex = ExampleInputs((x,), {})
    g = record(model, ex, top_k=0)
    e = explain(model, g, ex, "ig", target=3, steps=200)
    with torch.no_grad():
        change = float(model(x)[0, 3] - model(torch.zeros_like(x))[0, 3])
    assert e.input_map.shape == (12,)
    assert abs(float(e.input_map.sum()) - change) < 1e-3 * max(1.0, abs(change)) and e.delta < 1e-3
    linears = [l for l in g.layers if l.op == "Linear"]
    assert set(e.layers) >= {l.id for l in linears}                       # every module layer: act x grad
    assert e.layers[linears[-1].id].shape == (10,)
    assert np.count_nonzero(e.layers[linears[-1].id]) == 1                 # only the target's own logit


class Quadrants(nn.Module):
    """Output 0 looks only at the top-left quadrant, output 1 only at the bottom-right one."""

    def __init__(self):
        super().__init__()
        m = torch.zeros(2, 8, 8)
        m[0, :4, :4] = 1
        m[1, 4:, 4:] = 1
        self.register_buffer("mask", m)
        self.conv = nn.Conv2d(2, 2, 1, bias=False)
        with torch.no_grad():
            self.conv.weight.copy_(torch.eye(2).view(2, 2, 1, 1))

    def forward(self, x):
        return self.conv(x * self.mask).mean(dim=(2, 3))


@pytest.mark.parametrize("target,quadrant", [(0, (slice(0, 4), slice(0, 4))), (1, (slice(4, 8), slice(4, 8)))])
def test_grad_cam_finds_the_quadrant_each_output_was_built_on(target, quadrant):
    model = Quadrants().eval()
    x = torch.rand(1, 2, 8, 8, generator=torch.Generator().manual_seed(2)) + 0.1
    ex = ExampleInputs((x,), {})
    e = explain(model, record(model, ex, top_k=0), ex, "gradcam", target=target)
    cam = e.input_map[0]
    assert cam[quadrant].sum() > 0.99 * cam.sum() > 0


def test_the_scene_shows_attribution_magnitudes_and_bad_requests_fail():
    from engine.pipeline import load
    from engine.scenefile import SceneSpec
    loaded = load(SceneSpec(model="cnn"))
    e = explain(loaded.model, loaded.graph, loaded.example, "saliency")
    assert 0 <= e.target < 10 and len(e.top) == 5 and e.top[0][0] == e.target
    n = apply_to_scene(loaded.scene, loaded.graph, e)
    assert n == len(loaded.scene.slabs)            # every layer of the cnn is a module called once, or the input
    inp = next(s for s in loaded.scene.slabs if s.kind == "input")
    np.testing.assert_allclose(inp.values, np.abs(e.input_map).reshape(-1), rtol=1e-6)
    assert not inp.signed and inp.scale > 0
    with pytest.raises(InputError, match="--target 10 is out of range: the model has 10 outputs"):
        explain(loaded.model, loaded.graph, loaded.example, "ig", target=10)
    with pytest.raises(InputError, match="not a method"):
        explain(loaded.model, loaded.graph, loaded.example, "shap")
    class Counts(nn.Module):             # integer input, no embedding: nothing to differentiate
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 3)

        def forward(self, ids):
            return self.lin(ids.float())
    cnt = Counts().eval()
    ids = ExampleInputs((torch.randint(0, 50, (1, 4)),), {})
    with pytest.raises(InputError, match="floating-point input .* or token ids read by an nn.Embedding"):
        explain(cnt, record(cnt, ids, top_k=0), ids, "ig")
    assert categories_for("resnet18")[281] == "tabby" and categories_for("mlp") is None


def test_cli_explain_writes_the_attribution_picture(tmp_path, capsys):
    from engine.cli import main
    out = tmp_path / "x.png"
    assert main(["render", "cnn", "--explain", "gxi", "--target", "2", "-o", str(out), "--size", "320x180"]) == 0
    assert out.exists()
    assert main(["render", "cnn", "--explain", "ig", "--target", "99", "-o", str(tmp_path / "y.png")]) == 2
    assert "--target 99 is out of range" in capsys.readouterr().err and not (tmp_path / "y.png").exists()


def test_token_ids_are_explained_through_the_embedding():
    """A model of token ids (the zoo transformer): Integrated Gradients through its embedding, one
    attribution per token summing to f(ids)[t] - f(baseline ids)[t] for the last position's output."""
    from engine.pipeline import load
    from engine.scenefile import SceneSpec
    loaded = load(SceneSpec(model="transformer"))
    model, ex = loaded.model, loaded.example
    e = explain(model, loaded.graph, ex, "ig", target=5, steps=200)
    ids = next(t for t in ex.tensors() if not t.is_floating_point())
    assert e.input_map.shape == (ids.shape[1],)
    with torch.no_grad():
        f = lambda i: model(i)[0, -1, 5]          # noqa: E731
        change = float(f(ids) - f(torch.zeros_like(ids)))
    assert abs(float(e.input_map.sum()) - change) < 2e-3 * max(1.0, abs(change))
    n = apply_to_scene(loaded.scene, loaded.graph, e)
    inp = next(s for s in loaded.scene.slabs if s.kind == "input")
    assert n > 3 and np.allclose(inp.values, np.abs(e.input_map))
    with pytest.raises(InputError, match="gradcam needs an image model"):
        explain(model, loaded.graph, ex, "gradcam")


def test_a_model_gradients_cannot_pass_is_one_clear_error():
    class Hard(nn.Module):                  # argmax then a lookup: no gradient reaches the input
        def __init__(self):
            super().__init__()
            self.table = nn.Parameter(torch.randn(8, 3))

        def forward(self, x):
            return self.table[x.argmax(-1)]
    model = Hard().eval()
    ex = ExampleInputs((torch.randn(1, 8),), {})
    with pytest.raises(InputError, match="cannot be differentiated"):
        explain(model, record(model, ex, top_k=0), ex, "saliency")


class Mixed(nn.Module):
    """Every kind of layer Captum's module hooks cannot reach: a residual sum (a torch function), a
    module called twice, modules returning tuples (MultiheadAttention, LSTM)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        torch.manual_seed(0)
        self.inplace = inplace
        self.inp = nn.Linear(6, 16)
        self.act = nn.ReLU(inplace=True) if inplace else nn.Tanh()      # called twice
        self.mid = nn.Linear(16, 16)
        self.attn = nn.MultiheadAttention(16, 2, batch_first=True)
        self.rnn = nn.LSTM(16, 8, batch_first=True)
        self.head = nn.Linear(8, 5)

    def forward(self, x):
        h = self.act(self.inp(x))
        if self.inplace:                         # torchvision's BasicBlock: out += identity; relu(out)
            y = self.mid(h)
            y += h                               # residual sum written over mid's output
            h = self.act(y)
        else:
            h = h + self.act(self.mid(h))        # residual sum
        a, _ = self.attn(h, h, h)
        out, _ = self.rnn(a)
        return self.head(out[:, -1])


@pytest.mark.parametrize("inplace", [False, True])
def test_every_layer_on_the_path_gets_activation_times_gradient(inplace):
    """Functional layers, a module's second call and tuple-returning modules get their attribution
    (from the replay with autograd on); where Captum's hook also reaches, both agree; each equals
    activation x d(target)/d(activation) computed here independently with hooks."""
    from captum.attr import LayerGradientXActivation
    model = Mixed(inplace).eval()
    x = torch.randn(1, 4, 6, generator=torch.Generator().manual_seed(2))
    ex = ExampleInputs((x,), {})
    g = record(model, ex, top_k=0)
    e = explain(model, g, ex, "saliency", target=2)
    names = [l.name for l in g.layers if l.id in e.layers]
    add = next(l for l in g.layers if l.site and l.site[0] == "func" and "add" in l.op)
    act_calls = [l for l in g.layers if l.site and l.site[0] == "leaf" and l.site[1] == "act"]
    attn_out = next(l for l in g.layers if l.site and l.site[:2] == ("leaf", "attn"))
    rnn_out = next(l for l in g.layers if l.site and l.site[:2] == ("leaf", "rnn"))
    for l in [add, *act_calls, attn_out, rnn_out]:
        assert l.id in e.layers, f"{l.name} got no attribution ({names})"
        assert np.abs(e.layers[l.id]).sum() > 0
    # the second call of act, the residual sum and the attention output, against gradients taken by hand
    seen = {}

    def keep(name):
        def hook(m, i, o):
            seen[name if name != "act" else f"act{sum(k.startswith('act') for k in seen)}"] = \
                o[0] if isinstance(o, tuple) else o
        return hook
    hooks = [model.act.register_forward_hook(keep("act")), model.attn.register_forward_hook(keep("attn"))]
    try:
        out = model(x)
    finally:
        for h in hooks:
            h.remove()
    grads = torch.autograd.grad(out[0, 2], [seen["act1"], seen["attn"]])
    np.testing.assert_allclose(e.layers[act_calls[1].id], (grads[0] * seen["act1"])[0].detach().reshape(-1).numpy(),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(e.layers[attn_out.id], (grads[1] * seen["attn"])[0].detach().reshape(-1).numpy(),
                               rtol=1e-4, atol=1e-6)
    # a module called once: Captum's hook and our value agree
    ref = LayerGradientXActivation(lambda xx: model(xx), model.mid).attribute(x, target=2)
    mid = next(l for l in g.layers if l.site and l.site[:2] == ("leaf", "mid"))
    np.testing.assert_allclose(e.layers[mid.id], ref[0].detach().reshape(-1).numpy(), rtol=1e-4, atol=1e-6)
