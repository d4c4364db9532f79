"""Replays find the recorded layers' outputs again, in-place chains keep their own values, a
replay that no longer lines up falls back to recording, and GL shares the outputs' memory."""
import numpy as np
import pytest
import torch
from torch import nn

from engine.compute.probe import LiveProbe
from engine.model.inputs import ExampleInputs
from engine.model.recorder import record
from engine.model.replay import Replayer, ReplayMismatch
from tests.fixtures import Block


class TwoLinear(nn.Module):
    """Two Linear(4, 4) layers ``a`` and ``b``; subclasses say what happens between them."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)


class Branchy(TwoLinear):
    def forward(self, x):
        y = self.a(x)
        if y.sum() > 0:                     # value-dependent control flow
            y = torch.tanh(y) * 2
        return self.b(y)


def _check(probe, model, ex, g):
    ref = record(model, ex, capture=True, top_k=0)
    f = probe.run(ex)
    assert f.error is None
    by_name = {l.name: l for l in ref.layers}
    for l in g.layers:
        ref = by_name[l.name].values.reshape(-1)
        lf = f.layers[l.id]
        np.testing.assert_allclose(lf.values, ref, atol=1e-6, err_msg=l.name)
        # colour scale and map from exact statistics (cloned, derived and plain layers alike)
        assert lf.scale == pytest.approx(1 / np.abs(ref).max(), rel=1e-6), l.name
        assert lf.signed == bool((ref < 0).any()), l.name


def test_inplace_chains_keep_each_layers_values():
    torch.manual_seed(0)
    model = Block().eval()
    ex = ExampleInputs((torch.randn(1, 4, 6, 6),), {})
    g = record(model, ex, top_k=0)
    probe = LiveProbe(model, g)
    for _ in range(3):
        x = ExampleInputs((torch.randn(1, 4, 6, 6),), {})
        _check(probe, model, x, g)
    bn1 = next(l for l in g.layers if l.name == "bn1")
    assert (probe.run(ex).layers[bn1.id].values < 0).any()          # pre-ReLU values, not clipped
    assert probe.replays >= 3 and probe.recordings == 0
    assert probe.replayer.flipped == [model.relu] and model.relu.inplace is False
    bn2 = next(l for l in g.layers if l.name == "bn2")
    # bn2's output, overwritten by ``out += x``: the model gets an alias on which += rebinds
    assert probe.replayer.rebind == {bn2.id} and not probe.replayer.clone
    probe.close()
    assert model.relu.inplace is True


class MethodInplace(TwoLinear):
    """``y.add_(1)``: an explicit in-place call (not augmented assignment) -- only a copy helps."""

    def forward(self, x):
        y = self.a(x)
        y.add_(1.0)
        return self.b(y)


class ReliesOnAlias(TwoLinear):
    """``keep`` must see ``y += 1`` (eager aliasing): the rebinding alias would change the
    model's output, so calibration must fall back to copies."""

    def forward(self, x):
        y = self.a(x)
        keep = y
        y += 1.0
        return self.b(keep) + y


@pytest.mark.parametrize("cls", [MethodInplace, ReliesOnAlias])
def test_inplace_writes_that_rebinding_cannot_take_are_copied(cls):
    torch.manual_seed(2)
    model = cls().eval()
    ex = ExampleInputs((torch.randn(1, 4),), {})
    g = record(model, ex, top_k=0)
    probe = LiveProbe(model, g)
    for _ in range(2):
        _check(probe, model, ExampleInputs((torch.randn(1, 4),), {}), g)
    a = next(l for l in g.layers if l.name == "a")
    assert probe.replayer.clone == {a.id} and not probe.replayer.rebind
    with torch.no_grad():                 # the model computes what it did before
        x = torch.randn(1, 4)
        y = model.a(x) + 1.0
        want = model.b(y) + (y if cls is ReliesOnAlias else 0)
        assert torch.equal(model(x), want)
    probe.close()


def test_value_dependent_branch_falls_back_to_recording():
    torch.manual_seed(1)
    model = Branchy().eval()
    pos = ExampleInputs((torch.full((1, 4), 3.0),), {})
    with torch.no_grad():
        model.a.bias.fill_(1.0)
        model.a.weight.fill_(0.5)
    neg = ExampleInputs((torch.full((1, 4), -3.0),), {})
    g = record(model, pos, top_k=0)                  # recorded with the tanh branch taken
    probe = LiveProbe(model, g)
    f = probe.run(neg)                               # branch not taken: tanh/mul layers missing
    assert f.error is None
    assert probe.recordings == 1
    b = next(l for l in g.layers if l.name == "b")
    with torch.no_grad():
        np.testing.assert_allclose(f.layers[b.id].values, model(neg.args[0])[0].numpy(), atol=1e-6)
    probe.close()


def test_replayer_reports_missing_layers():
    model = Branchy().eval()
    with torch.no_grad():
        model.a.bias.fill_(1.0)
        model.a.weight.fill_(0.5)
    g = record(model, ExampleInputs((torch.full((1, 4), 3.0),), {}), top_k=0)
    r = Replayer(model, g, {l.id for l in g.layers})
    with pytest.raises(ReplayMismatch):
        r.run(ExampleInputs((torch.full((1, 4), -3.0),), {}))


@pytest.mark.parametrize("act", [nn.ReLU(), nn.ReLU6(), nn.LeakyReLU(0.1), nn.Hardtanh(-0.5, 0.25), nn.ReLU(inplace=True)])
def test_statistics_of_activation_layers_follow_from_their_input(act):
    """min/max of ReLU-like layers come from their input layer's (f(min), f(max)), exactly."""
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(8, 64), act, nn.Linear(64, 3)).eval()
    ex = ExampleInputs((torch.randn(1, 8) * 4,), {})
    g = record(model, ex, top_k=0)
    probe = LiveProbe(model, g)
    _check(probe, model, ex, g)
    assert len(probe._derived) == 1
    probe.close()


def test_rebinding_alias_matches_eager_augmented_assignment():
    """``x op= y`` on the alias gives what eager PyTorch gives, without writing into the
    captured tensor; where an in-place op would refuse (broadcast to a bigger shape) or keep
    the dtype (promotion), the alias does the same as eager."""
    from engine.model.replay import _Rebinding
    base = torch.arange(8, dtype=torch.float32).reshape(2, 4)
    for op in ("__iadd__", "__isub__", "__imul__", "__itruediv__"):
        t = base.clone()
        x = t.as_subclass(_Rebinding)
        got = getattr(x, op)(torch.full((4,), 3.0))
        want = getattr(base.clone(), op)(torch.full((4,), 3.0))
        assert type(got) is torch.Tensor and torch.equal(got, want), op
        assert torch.equal(t, base), op                       # the captured values stay
    t = base.clone()
    with pytest.raises(RuntimeError):                          # as eager: in-place cannot broadcast up
        x = t.as_subclass(_Rebinding)
        x += torch.ones(3, 2, 4)
    h = base.half()
    x = h.as_subclass(_Rebinding)
    x += torch.ones(4)                                         # float32 operand: stays float16, as eager
    assert x.dtype == torch.float16 and torch.equal(x, base.half() + 1)


class RejectsSubclasses(TwoLinear):
    """Code that insists on exact torch.Tensor: the alias must not reach it for good."""

    def forward(self, x):
        y = self.a(x)
        if type(y) is not torch.Tensor:
            raise TypeError("plain tensors only")
        y += 1.0
        return self.b(y)


def test_models_that_reject_the_alias_get_copies():
    torch.manual_seed(3)
    model = RejectsSubclasses().eval()
    ex = ExampleInputs((torch.randn(1, 4),), {})
    g = record(model, ex, top_k=0)
    probe = LiveProbe(model, g)
    _check(probe, model, ExampleInputs((torch.randn(1, 4),), {}), g)
    a = next(l for l in g.layers if l.name == "a")
    assert probe.replayer.clone == {a.id} and not probe.replayer.rebind and probe.recordings == 0
    probe.close()


class Residual(nn.Module):
    """A residual sum going into a leaf (LayerNorm), an SDPA call and a sum that only a torch function
    takes (``tail``): the first two can be taken without the mode, the third only with it. ``bound``:
    SDPA called through a name bound before the replay (the patched function never sees it)."""

    sdpa_bound = staticmethod(nn.functional.scaled_dot_product_attention)

    def __init__(self, tail: bool, bound: bool = False):
        super().__init__()
        self.a, self.norm, self.b = nn.Linear(8, 8), nn.LayerNorm(8), nn.Linear(8, 8)
        self.tail, self.bound = tail, bound

    def forward(self, x):
        h = x + self.a(x)                                             # func site -> taken at norm's input
        q = self.norm(h).view(1, 2, 4, 4).transpose(1, 2)
        sdpa = self.sdpa_bound if self.bound else nn.functional.scaled_dot_product_attention
        o = sdpa(q, q, q, is_causal=True)
        y = self.b(o.transpose(1, 2).reshape(1, 4, 8)) + h
        return torch.tanh(y) if self.tail else self.norm(y)


@pytest.mark.parametrize("tail,bound", [(False, False), (True, False), (False, True)])
def test_replays_drop_the_mode_only_when_a_pass_without_it_is_bitwise_the_same(tail, bound):
    """Layers found by torch-call count are taken at the leaf that consumes them and at a patched
    F.scaled_dot_product_attention, and the pass runs without the TorchFunctionMode; a sum only a
    torch function consumes (tanh), or an SDPA the patch cannot see, keeps the mode. Either way every layer equals a fresh recording."""
    torch.manual_seed(0)
    model = Residual(tail, bound).eval()
    ex = ExampleInputs((torch.randn(1, 4, 8),), {})
    g = record(model, ex, top_k=0)
    assert any(l.site and l.site[0] == "attn" for l in g.layers)
    rep = Replayer(model, g, {l.id for l in g.layers})
    rep.calibrate(ex)
    assert rep.mode_free is (not tail and not bound)
    for seed in range(3):
        x = ExampleInputs((torch.randn(1, 4, 8, generator=torch.Generator().manual_seed(seed)),), {})
        out = rep.run(x)
        ref = {l.name: l.values for l in record(model, x, capture=True, top_k=0).layers}
        for l in g.layers:
            np.testing.assert_allclose(out[l.id].numpy().reshape(-1), ref[l.name].reshape(-1), atol=1e-6,
                                       err_msg=l.name)
    assert nn.functional.scaled_dot_product_attention is torch._C._nn.scaled_dot_product_attention   # put back
