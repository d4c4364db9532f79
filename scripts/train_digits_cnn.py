"""Train `digits-cnn`, the small CNN whose weights ship with Neuroscape and make its default scene: the
zoo's SmallCNN (two conv blocks and a classifier, 3x32x32 in) on scikit-learn's 1797 8x8 digits, fed
exactly as `--input digits` feeds them (the same input source), so what the viewer shows is learned.

    .venv/bin/python scripts/train_digits_cnn.py          # ~1 min on one CPU core

Writes weights/digits_cnn.safetensors (its metadata: test accuracy, epochs, seed) and prints the accuracy
on the held-out fifth of the digits (every fifth item, so every class is in both parts).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.model.sources.digits_cnn import WEIGHTS, build_untrained  # noqa: E402


def dataset(model: nn.Module, example) -> tuple[torch.Tensor, torch.Tensor]:
    """Every digit as `--input digits` gives it to this model, and its label."""
    from engine.compute.inputs import open_input
    src = open_input("digits", example=example, family="image", model_spec="digits-cnn", model=model)
    x = torch.cat([src.get(i).args[0] for i in range(len(src))])
    return x, torch.tensor(src.labels[:len(x)])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    from safetensors.torch import save_file
    model, example = build_untrained()
    x, y = dataset(model, example)
    test = torch.arange(len(x)) % 5 == 0
    xt, yt, xv, yv = x[~test], y[~test], x[test], y[test]
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    gen = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    log = []
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for k in range(0, len(order), 64):
            idx = order[k:k + 64]
            loss = nn.functional.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        model.eval()
        with torch.no_grad():
            acc = float((model(xv).argmax(1) == yv).float().mean())
        log.append({"epoch": epoch + 1, "train_loss": round(total / len(xt), 4), "test_accuracy": round(acc, 4)})
        print(f"epoch {epoch + 1}: train loss {total / len(xt):.3f}, test accuracy {acc:.1%}")
    model.eval()
    meta = {"trained_on": f"scikit-learn digits, {len(xt)} train / {len(xv)} test (every fifth item)",
            "test_accuracy": f"{acc:.4f}", "epochs": str(args.epochs), "lr": str(args.lr), "seed": str(args.seed),
            "seconds": f"{time.time() - t0:.0f}", "log": json.dumps(log)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(args.out), metadata=meta)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB): test accuracy {acc:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
