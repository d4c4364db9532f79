"""Every layer's states of nn.LSTM / nn.GRU / nn.RNN, not just the top layer's output: the module runs
all its layers in one fused kernel and returns only the last layer's hidden sequence and the final
states, so the recorder and the replay recompute each layer and direction's hidden (and, for an LSTM,
cell) sequence from the module's own weights and initial states, one time step at a time. Shown as
layers of their own (``<module>.layer<k>[.reverse].h`` / ``.c``), batch x time x hidden."""
from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["RNN_MODULES", "rnn_state_names", "rnn_states", "rnn_state_shape", "rnn_state_of", "rnn_gates"]

RNN_MODULES = (nn.LSTM, nn.GRU, nn.RNN)


def _supported(mod: nn.Module, args) -> bool:
    x = args[0] if args else None
    return (isinstance(mod, RNN_MODULES) and isinstance(x, Tensor) and x.dim() in (2, 3)
            and getattr(mod, "proj_size", 0) == 0)


def rnn_state_names(mod: nn.Module) -> list[str]:
    """Suffixes of the state layers, in the order rnn_states returns them."""
    out = []
    for k in range(mod.num_layers):
        for d in range(2 if mod.bidirectional else 1):
            base = f"layer{k}" + (".reverse" if d else "")
            out.append(base + ".h")
            if isinstance(mod, nn.LSTM):
                out.append(base + ".c")
    return out


def rnn_state_shape(mod: nn.Module, args) -> tuple[int, ...] | None:
    """(batch, time, hidden) of every state layer, or None when the call is not supported (packed
    sequences, LSTM projections)."""
    if not _supported(mod, args):
        return None
    x = args[0]
    if x.dim() == 2:
        return (1, int(x.shape[0]), mod.hidden_size)
    b, t = (x.shape[0], x.shape[1]) if mod.batch_first else (x.shape[1], x.shape[0])
    return (int(b), int(t), mod.hidden_size)


def _initial(mod: nn.Module, args, kwargs, batch: int, like: Tensor) -> tuple[Tensor, Tensor | None]:
    hx = args[1] if len(args) > 1 else kwargs.get("hx")
    n = mod.num_layers * (2 if mod.bidirectional else 1)
    zeros = torch.zeros(n, batch, mod.hidden_size, dtype=like.dtype, device=like.device)
    if hx is None:
        return zeros, (zeros.clone() if isinstance(mod, nn.LSTM) else None)
    h, c = (hx if isinstance(mod, nn.LSTM) else (hx, None))
    if h.dim() == 2:                                    # unbatched input
        h, c = h[:, None], (c[:, None] if c is not None else None)
    return h, c


def rnn_states(mod: nn.Module, args, kwargs=None) -> list[Tensor]:
    """Each layer and direction's hidden (and cell) sequence, (batch, time, hidden) each, in the
    order of rnn_state_names; [] when the call is not supported."""
    if not _supported(mod, args):
        return []
    kwargs = kwargs or {}
    x = args[0]
    x = x[None] if x.dim() == 2 else (x if mod.batch_first else x.transpose(0, 1))     # (batch, time, feat)
    batch, steps = x.shape[0], x.shape[1]
    h0, c0 = _initial(mod, args, kwargs, batch, x)
    lstm, gru = isinstance(mod, nn.LSTM), isinstance(mod, nn.GRU)
    act = torch.relu if getattr(mod, "nonlinearity", "tanh") == "relu" else torch.tanh
    dirs = 2 if mod.bidirectional else 1
    out: list[Tensor] = []
    inp = x
    for k in range(mod.num_layers):
        layer_out = []
        for d in range(dirs):
            sfx = f"l{k}" + ("_reverse" if d else "")
            w_ih, w_hh = getattr(mod, f"weight_ih_{sfx}"), getattr(mod, f"weight_hh_{sfx}")
            b_ih = getattr(mod, f"bias_ih_{sfx}") if mod.bias else None
            b_hh = getattr(mod, f"bias_hh_{sfx}") if mod.bias else None
            seq = inp.flip(1) if d else inp
            gi_all = torch.nn.functional.linear(seq, w_ih, b_ih)          # input part of every step at once
            h = h0[k * dirs + d]
            c = c0[k * dirs + d] if lstm else None
            hs, cs = [], []
            for t in range(steps):
                gi = gi_all[:, t]
                gh = torch.nn.functional.linear(h, w_hh, b_hh)
                if lstm:
                    i, f, g, o = (gi + gh).chunk(4, dim=1)
                    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                    h = torch.sigmoid(o) * torch.tanh(c)
                    cs.append(c)
                elif gru:
                    ir, iz, in_ = gi.chunk(3, dim=1)
                    hr, hz, hn = gh.chunk(3, dim=1)
                    r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                    h = (1 - z) * torch.tanh(in_ + r * hn) + z * h
                else:
                    h = act(gi + gh)
                hs.append(h)
            hseq = torch.stack(hs, dim=1)
            hseq = hseq.flip(1) if d else hseq
            out.append(hseq)
            if lstm:
                cseq = torch.stack(cs, dim=1)
                out.append(cseq.flip(1) if d else cseq)
            layer_out.append(hseq)
        inp = torch.cat(layer_out, dim=-1) if dirs > 1 else layer_out[0]
    return out


def rnn_state_of(mod: nn.Module, j: int) -> tuple[int, int, str]:
    """(layer, direction, "h" or "c") of state layer ``j``."""
    name = rnn_state_names(mod)[j]
    parts = name.split(".")
    return int(parts[0][5:]), int("reverse" in parts), parts[-1]


@torch.no_grad()
def rnn_gates(mod: nn.Module, k: int, d: int, x: Tensor, h_prev: Tensor, c_prev: Tensor | None,
              unit: int) -> dict[str, float]:
    """The gates of one unit at one step of layer ``k``, direction ``d``, from that step's input
    ``x`` (features,) and the previous hidden (and cell) state (hidden,): LSTM input / forget / cell
    candidate / output gates and the new c and h; GRU reset / update / candidate and the new h; RNN
    the pre-activation and h."""
    sfx = f"l{k}" + ("_reverse" if d else "")
    w_ih, w_hh = getattr(mod, f"weight_ih_{sfx}"), getattr(mod, f"weight_hh_{sfx}")
    b_ih = getattr(mod, f"bias_ih_{sfx}") if mod.bias else None
    b_hh = getattr(mod, f"bias_hh_{sfx}") if mod.bias else None
    n = mod.hidden_size
    x, h_prev = x.to(w_ih.dtype), h_prev.to(w_hh.dtype)
    parts = w_ih.shape[0] // n
    rows = [unit + p * n for p in range(parts)]
    gi = w_ih[rows] @ x + (b_ih[rows] if b_ih is not None else 0)
    gh = w_hh[rows] @ h_prev + (b_hh[rows] if b_hh is not None else 0)
    if isinstance(mod, nn.LSTM):
        i, f, g, o = torch.sigmoid(gi[0] + gh[0]), torch.sigmoid(gi[1] + gh[1]), torch.tanh(gi[2] + gh[2]), \
            torch.sigmoid(gi[3] + gh[3])
        c = f * float(c_prev[unit]) + i * g
        return {"input gate": float(i), "forget gate": float(f), "cell candidate": float(g),
                "output gate": float(o), "c": float(c), "h": float(o * torch.tanh(c))}
    if isinstance(mod, nn.GRU):
        r, z = torch.sigmoid(gi[0] + gh[0]), torch.sigmoid(gi[1] + gh[1])
        cand = torch.tanh(gi[2] + r * gh[2])
        return {"reset gate": float(r), "update gate": float(z), "candidate": float(cand),
                "h": float((1 - z) * cand + z * float(h_prev[unit]))}
    pre = gi[0] + gh[0]
    h = torch.relu(pre) if getattr(mod, "nonlinearity", "tanh") == "relu" else torch.tanh(pre)
    return {"pre-activation": float(pre), "h": float(h)}
