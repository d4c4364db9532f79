"""Train `pydoc-gpt`, the small causal language model whose weights ship with Neuroscape.

A GPT-2 architecture (Hugging Face GPT2LMHeadModel: 4 layers x 4 heads, 128 wide, 256-token context,
byte-level vocabulary of 259 = the documented encoding of engine/compute/text.py: token = UTF-8 byte + 3)
trained on the Python language reference that ships with every Python (``pydoc_data.topics``), so no
download is needed. Learned heads (previous-token, induction) make its attention maps worth looking at
and ``--generate`` writes Python-documentation-like text.

    .venv/bin/python scripts/train_pydoc_gpt.py            # ~55 min on one CPU core
    .venv/bin/python scripts/train_pydoc_gpt.py --copy-steps 20 --steps 50 --out /tmp/x.safetensors   # a quick check

Two phases. First ``--copy-steps`` of copying practice: stretches of bytes each shown twice -- right
away at first, then (the last ``--gap-steps``) random printable stretches shown again after a gap of
text, so the only way to predict the second showing is to find the first by its content. This is
where the induction heads form (on the text alone, with repeats mixed into a few rows, or with gapped
repeats from the start, none formed at this size in 2500-4000 steps; docs/pydoc-gpt.md). Then
``--steps`` on the text, with a share of each batch still gapped copying rows (so the heads stay) and
a share of text windows shown twice.

Writes the weights (safetensors, the config and training figures in its metadata) and prints train /
held-out loss (nats per byte), the previous-token and induction scores of every head, and a greedy sample.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.model.sources.pydoc_gpt import BYTE_OFFSET, CONFIG, WEIGHTS, build_config  # noqa: E402


def corpus() -> str:
    import pydoc_data.topics as topics
    return "\n\n".join(topics.topics[k] for k in sorted(topics.topics))


def encode(text: str) -> torch.Tensor:
    return torch.tensor(list(text.encode("utf-8")), dtype=torch.int64) + BYTE_OFFSET


def copy_row(data: torch.Tensor, ctx: int, gen: torch.Generator, gapped: bool = True) -> torch.Tensor:
    """Stretches each shown twice. ``gapped``: random printable stretches (8-63 bytes), shown again
    after 0-128 bytes of text; else stretches of 6-39 bytes (a third of them text, the rest random)
    shown again right away -- the easier task the copying starts from."""
    parts, n = [], 0
    while n < ctx:
        if gapped:
            length = int(torch.randint(8, 64, (1,), generator=gen))
            gap = int(torch.randint(0, 129, (1,), generator=gen))
            stretch = torch.randint(BYTE_OFFSET + 32, BYTE_OFFSET + 127, (length,), generator=gen)
            s = int(torch.randint(0, len(data) - gap, (1,), generator=gen))
            parts += [stretch, data[s:s + gap], stretch]
            n += 2 * length + gap
        else:
            length = int(torch.randint(6, 40, (1,), generator=gen))
            if torch.rand(1, generator=gen).item() < 0.3:
                s = int(torch.randint(0, len(data) - length, (1,), generator=gen))
                stretch = data[s:s + length]
            else:
                stretch = torch.randint(BYTE_OFFSET + 32, BYTE_OFFSET + 127, (length,), generator=gen)
            parts += [stretch, stretch]
            n += 2 * length
    return torch.cat(parts)[:ctx]


def batches(data: torch.Tensor, batch: int, ctx: int, gen: torch.Generator, copy_frac: float, synth_frac: float):
    """Random windows of the text; ``copy_frac`` of each batch are half a window shown twice and
    ``synth_frac`` copying rows (copy_row), to reward continuing what is already in the context."""
    n_synth = int(round(batch * synth_frac))
    n_copy = min(batch - n_synth, int(round(batch * copy_frac)))
    half = ctx // 2
    while True:
        starts = torch.randint(0, len(data) - ctx - 1, (batch,), generator=gen)
        rows = [data[s:s + ctx] for s in starts[n_copy + n_synth:]]
        rows += [torch.cat([data[s:s + half], data[s:s + ctx - half]]) for s in starts[:n_copy]]
        rows += [copy_row(data, ctx, gen) for _ in range(n_synth)]
        yield torch.stack(rows)


@torch.no_grad()
def held_out_loss(model, data: torch.Tensor, ctx: int) -> float:
    model.eval()
    n = (len(data) - 1) // ctx
    x = data[:n * ctx].view(n, ctx)
    losses = [model(input_ids=x[i:i + 16], labels=x[i:i + 16]).loss.item() for i in range(0, n, 16)]
    model.train()
    return float(sum(losses) / len(losses))


@torch.no_grad()
def head_scores(model, held_out: torch.Tensor, ctx: int, gen: torch.Generator) -> dict:
    """Per layer and head: the previous-token score (mean attention to the token before) and the
    induction score (attention from a repeated token to the one after its first occurrence;
    Olsson et al. 2022), on held-out text windows shown twice and on random printable bytes shown
    twice; and the loss on the first and the second showing of the held-out text (copying)."""
    model.eval()
    model.set_attn_implementation("eager")          # SDPA does not return the probabilities
    half = ctx // 2
    starts = torch.randint(0, len(held_out) - half - 1, (8,), generator=gen)
    text = torch.stack([held_out[s:s + half] for s in starts])
    rnd = torch.randint(BYTE_OFFSET + 32, BYTE_OFFSET + 127, (8, half), generator=gen)
    out: dict = {}
    q = torch.arange(1, 2 * half)
    q2 = torch.arange(half, 2 * half)
    for name, seq in (("text", text), ("random", rnd)):
        x = torch.cat([seq, seq], dim=1)
        res = model(input_ids=x, output_attentions=True)
        prev = [a[:, :, q, q - 1].mean(dim=(0, 2)).tolist() for a in res.attentions]
        induction = [a[:, :, q2, q2 - half + 1].mean(dim=(0, 2)).tolist() for a in res.attentions]
        lp = torch.nn.functional.cross_entropy(res.logits[:, :-1].reshape(-1, res.logits.shape[-1]),
                                               x[:, 1:].reshape(-1), reduction="none").view(len(x), -1)
        out[name] = {"previous_token": prev, "induction": induction,
                     "loss_first": float(lp[:, :half - 1].mean()), "loss_repeat": float(lp[:, half:].mean())}
    model.set_attn_implementation("sdpa")
    model.train()
    return out


def sample(model, prompt: str, n: int) -> str:
    model.eval()
    ids = encode(prompt)[None]
    with torch.no_grad():
        out = model.generate(ids, max_new_tokens=n, do_sample=False, pad_token_id=0)
    model.train()
    return bytes(int(i) - BYTE_OFFSET for i in out[0] if BYTE_OFFSET <= int(i) < BYTE_OFFSET + 256).decode(
        "utf-8", errors="replace")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=3000, help="steps on the text (second phase)")
    ap.add_argument("--copy-steps", type=int, default=3000, help="steps of copying practice first (induction heads)")
    ap.add_argument("--gap-steps", type=int, default=500,
                    help="the last of those with text between the two showings (the first: adjacent)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=2e-3, help="peak learning rate on the text")
    ap.add_argument("--copy-lr", type=float, default=1e-3, help="learning rate of the copying practice")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--copy-frac", type=float, default=0.25, help="share of each text batch shown twice")
    ap.add_argument("--synth-frac", type=float, default=0.125, help="share of each text batch that is copying rows")
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    from safetensors.torch import save_file
    from tqdm import tqdm
    from transformers import GPT2LMHeadModel

    text = corpus()
    data = encode(text)
    split = int(len(data) * 0.95)
    train, val = data[:split], data[split:]
    cfg = build_config(dropout=0.0)
    ctx = cfg.n_positions
    model = GPT2LMHeadModel(cfg)
    model.train()
    total = args.copy_steps + args.steps
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.95), weight_decay=0.1)
    warm = max(1, args.steps // 20)

    def lr_at(step: int) -> float:
        """Warm-up then constant ``copy_lr`` while practising copying; warm-up to ``lr`` and cosine to 0
        on the text."""
        if step < args.copy_steps:
            return args.copy_lr * min(1.0, (step + 1) / 100)
        s = step - args.copy_steps
        return args.lr * min(1.0, (s + 1) / warm) * 0.5 * (1 + math.cos(math.pi * min(s, args.steps) / args.steps))

    gen = torch.Generator().manual_seed(args.seed)
    adjacent_until = args.copy_steps - args.gap_steps

    def practice(step: int) -> torch.Tensor:
        return torch.stack([copy_row(train, ctx, gen, gapped=step >= adjacent_until) for _ in range(args.batch)])

    reading = batches(train, args.batch, ctx, gen, args.copy_frac, args.synth_frac)
    t0 = time.time()
    log = []
    ema = None
    bar = tqdm(range(total), desc="training pydoc-gpt", unit="step")
    for step in bar:
        copying = step < args.copy_steps
        x = practice(step) if copying else next(reading)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
            g["weight_decay"] = 0.0 if copying else 0.1
        loss = model(input_ids=x, labels=x).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None or step == args.copy_steps else 0.95 * ema + 0.05 * loss.item()
        bar.set_postfix(loss=f"{ema:.3f}", phase="copying" if copying else "text")
        if step + 1 == args.copy_steps:
            sc = head_scores(model, val, ctx, torch.Generator().manual_seed(1))["random"]
            best = max(max(row) for row in sc["induction"])
            log.append({"step": step + 1, "phase": "copying", "train_loss": round(ema, 4),
                        "induction": round(best, 3), "random_repeat_loss": round(sc["loss_repeat"], 3)})
            tqdm.write(f"step {step + 1} (end of copying practice): loss {ema:.3f}, best induction score {best:.2f}, "
                       f"repeated random bytes {sc['loss_repeat']:.2f} vs {sc['loss_first']:.2f} nats first")
        elif not copying and ((step + 1 - args.copy_steps) % 500 == 0 or step + 1 == total):
            v = held_out_loss(model, val, ctx)
            log.append({"step": step + 1, "train_loss": round(ema, 4), "held_out_loss": round(v, 4)})
            tqdm.write(f"step {step + 1}: train {ema:.3f}, held-out {v:.3f} nats/byte")
    seconds = time.time() - t0
    scores = head_scores(model, val, ctx, torch.Generator().manual_seed(1))
    model.eval()
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items() if k != "lm_head.weight"}
    meta = {
        "config": json.dumps(CONFIG),
        "trained_on": "pydoc_data.topics (the Python language reference shipped with Python "
                      f"{platform.python_version()}), {len(data):,} bytes, last 5% held out",
        "steps": str(args.steps), "copy_steps": str(args.copy_steps), "batch": str(args.batch), "lr": str(args.lr),
        "copy_lr": str(args.copy_lr), "seed": str(args.seed), "copy_frac": str(args.copy_frac),
        "synth_frac": str(args.synth_frac),
        "seconds": f"{seconds:.0f}", "log": json.dumps(log), "head_scores": json.dumps(scores),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file(state, str(args.out), metadata=meta)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) after {seconds / 60:.1f} min")
    for data, sc in scores.items():
        for name in ("previous_token", "induction"):
            s = sc[name]
            best = max((v, l, h) for l, row in enumerate(s) for h, v in enumerate(row))
            print(f"{data} {name}: best head L{best[1]}H{best[2]} = {best[0]:.2f}; per layer max "
                  + ", ".join(f"{max(row):.2f}" for row in s))
        print(f"{data}: loss first showing {sc['loss_first']:.3f}, repeated {sc['loss_repeat']:.3f} nats/byte")
    for prompt in ('The "if" statement is used for', 'A list is'):
        print("sample:", repr(sample(model, prompt, 120)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
