"""Every layer's states of nn.LSTM / GRU / RNN (multi-layer, bidirectional, batch_first or not, given
initial states or not) equal what torch's own fused kernel computes layer by layer: each layer's
hidden sequence against a one-layer module with the same weights fed the layer below, the top layer
against the module's output, the last cell states against its c_n."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.model.recurrent import rnn_state_names, rnn_state_shape, rnn_states


def _one_layer(mod, k):
    """A one-layer module of the same kind with layer k's weights."""
    cls = type(mod)
    kw = {"nonlinearity": mod.nonlinearity} if isinstance(mod, nn.RNN) else {}
    d = 2 if mod.bidirectional else 1
    one = cls(mod.input_size if k == 0 else mod.hidden_size * d, mod.hidden_size, 1, bias=mod.bias,
              batch_first=True, bidirectional=mod.bidirectional, **kw)
    with torch.no_grad():
        for name, p in one.named_parameters():
            p.copy_(getattr(mod, name.replace("l0", f"l{k}")))
    return one.eval()


@pytest.mark.parametrize("cls,kw", [(nn.LSTM, {}), (nn.GRU, {}), (nn.RNN, {"nonlinearity": "relu"}),
                                    (nn.RNN, {"nonlinearity": "tanh"})])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [True, False])
def test_states_match_torch_layer_by_layer(cls, kw, bidirectional, batch_first):
    torch.manual_seed(0)
    mod = cls(5, 7, num_layers=2, batch_first=batch_first, bidirectional=bidirectional, **kw).eval()
    x = torch.randn(3, 6, 5)                        # batch 3, time 6 (batch_first view)
    arg = x if batch_first else x.transpose(0, 1)
    with torch.no_grad():
        out, final = mod(arg)
        states = rnn_states(mod, (arg,))
    names = rnn_state_names(mod)
    assert len(states) == len(names)
    assert all(tuple(s.shape) == rnn_state_shape(mod, (arg,)) == (3, 6, 7) for s in states)
    d = 2 if bidirectional else 1
    hs = [s for s, n in zip(states, names) if n.endswith(".h")]
    inp = x
    for k in range(2):
        with torch.no_grad():
            ref = _one_layer(mod, k)(inp)[0]
        mine = torch.cat(hs[k * d:(k + 1) * d], dim=-1)
        torch.testing.assert_close(mine, ref, atol=1e-5, rtol=1e-4)
        inp = ref
    top = out if batch_first else out.transpose(0, 1)
    torch.testing.assert_close(torch.cat(hs[-d:], dim=-1), top, atol=1e-5, rtol=1e-4)
    if cls is nn.LSTM:
        cs = [s for s, n in zip(states, names) if n.endswith(".c")]
        c_n = final[1]                               # (layers * directions, batch, hidden)
        for j, c in enumerate(cs):
            last = c[:, 0] if j % d else c[:, -1]    # the reverse direction ends at time 0
            torch.testing.assert_close(last, c_n[j], atol=1e-5, rtol=1e-4)


def test_initial_states_and_unbatched_input():
    torch.manual_seed(1)
    mod = nn.LSTM(4, 3, num_layers=2).eval()
    x = torch.randn(5, 4)                            # unbatched: time x features
    h0, c0 = torch.randn(2, 3), torch.randn(2, 3)
    with torch.no_grad():
        out, _ = mod(x, (h0, c0))
        states = rnn_states(mod, (x, (h0, c0)))
    torch.testing.assert_close(states[2][0], out, atol=1e-5, rtol=1e-4)   # layer 1's h, the one sample
    assert rnn_states(nn.LSTM(4, 3, proj_size=2), (x,)) == []            # projections: not supported


def test_recorded_and_replayed_states_of_every_layer():
    """The recording shows each layer and direction's states as layers chained layer on layer; a
    replay on another input captures them again, equal to a fresh recording of that input and, for
    the top layer, to the module's own output."""
    from engine.model.recorder import record
    from engine.model.replay import Replayer

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(4, 6, num_layers=2, batch_first=True, bidirectional=True)
            self.head = nn.Linear(12, 3)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])

    torch.manual_seed(0)
    net = Net().eval()
    g = record(net, torch.randn(1, 5, 4), capture=True)
    names = [l.name for l in g.layers]
    assert names[1:5] == ["rnn.layer0.h", "rnn.layer0.reverse.h", "rnn.layer1.h", "rnn.layer1.reverse.h"]
    by = {l.name: l for l in g.layers}
    srcs = {(e.src, e.dst) for e in g.edges}
    assert (by["rnn.layer0.h"].id, by["rnn.layer1.h"].id) in srcs          # layer on layer
    assert (by["rnn.layer1.h"].id, by["rnn"].id) in srcs
    states = [l for l in g.layers if l.op == "rnn_state"]
    rep = Replayer(net, g, {l.id for l in states})
    x2 = torch.randn(1, 5, 4)
    from engine.model.inputs import ExampleInputs
    got = rep.run(ExampleInputs((x2,), {}))
    fresh = {l.name: l for l in record(net, x2, capture=True).layers}
    for l in states:
        torch.testing.assert_close(got[l.id], torch.as_tensor(fresh[l.name].values), atol=1e-6, rtol=1e-5)
    with torch.no_grad():
        out, _ = net.rnn(x2)
    top = torch.cat([got[by["rnn.layer1.h"].id], got[by["rnn.layer1.reverse.h"].id]], dim=-1)
    torch.testing.assert_close(top, out[0], atol=1e-5, rtol=1e-4)


def test_loops_over_cells_are_unrolled_one_layer_per_step():
    """A model looping over nn.LSTMCell is drawn unrolled in time: a layer per step, each fed by the
    step before, with the hidden state of that step; replayed live on another input alike."""
    from engine.model.inputs import ExampleInputs
    from engine.model.recorder import record
    from engine.model.replay import Replayer

    class Loop(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell = nn.LSTMCell(3, 5)

        def forward(self, x):
            h = c = torch.zeros(x.shape[0], 5)
            for t in range(x.shape[1]):
                h, c = self.cell(x[:, t], (h, c))
            return h

    torch.manual_seed(0)
    net = Loop().eval()
    x = torch.randn(1, 6, 3)
    g = record(net, x, capture=True)
    steps = [l for l in g.layers if l.op == "LSTMCell"]
    assert [l.name for l in steps] == ["cell"] + [f"cell:{t}" for t in range(1, 6)]
    edges = {(e.src, e.dst) for e in g.edges}
    assert all((a.id, b.id) in edges for a, b in zip(steps, steps[1:]))      # edges along time
    h = c = torch.zeros(1, 5)
    with torch.no_grad():
        for t, l in enumerate(steps):
            h, c = net.cell(x[:, t], (h, c))
            torch.testing.assert_close(torch.as_tensor(l.values), h[0], atol=1e-6, rtol=1e-5)
    x2 = torch.randn(1, 6, 3)
    got = Replayer(net, g, {l.id for l in steps}).run(ExampleInputs((x2,), {}))
    h = c = torch.zeros(1, 5)
    with torch.no_grad():
        for t, l in enumerate(steps):
            h, c = net.cell(x2[:, t], (h, c))
            torch.testing.assert_close(got[l.id], h[0], atol=1e-6, rtol=1e-5)
