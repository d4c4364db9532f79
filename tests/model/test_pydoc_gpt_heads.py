"""pydoc-gpt's shipped weights have learned heads worth looking at: a previous-token head and an
induction head (Olsson et al., 2022) -- random printable bytes shown twice: on the second showing a head
attends from each byte to the one after that byte's first showing, and the second showing is copied
(its loss far below the first's)."""
from __future__ import annotations

import torch

from engine.model.example import BYTE_OFFSET
from engine.model.registry import load_model


def _repeated(n: int = 4, half: int = 96) -> torch.Tensor:
    g = torch.Generator().manual_seed(123)
    seq = torch.randint(BYTE_OFFSET + 32, BYTE_OFFSET + 127, (n, half), generator=g)
    return torch.cat([seq, seq], dim=1)


def test_shipped_weights_have_previous_token_and_induction_heads():
    model = load_model("pydoc-gpt")[0]
    model.set_attn_implementation("eager")           # (SDPA does not return the probabilities)
    x = _repeated()
    half = x.shape[1] // 2
    with torch.no_grad():
        out = model(input_ids=x, output_attentions=True)
    q = torch.arange(half, 2 * half)
    induction = max(float(a[:, :, q, q - half + 1].mean(dim=(0, 2)).max()) for a in out.attentions)
    p = torch.arange(1, 2 * half)
    previous = max(float(a[:, :, p, p - 1].mean(dim=(0, 2)).max()) for a in out.attentions)
    assert induction > 0.4, induction
    assert previous > 0.3, previous
    loss = torch.nn.functional.cross_entropy(out.logits[:, :-1].transpose(1, 2), x[:, 1:], reduction="none")
    first, second = float(loss[:, :half - 1].mean()), float(loss[:, half:].mean())
    assert second < 0.5 * first, (first, second)              # the second showing is copied
