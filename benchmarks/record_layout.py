"""Record + layout time against one bare forward pass and torchview's graph extraction, same run.

Goal (issue 2): record + layout within 1.5x of one bare forward pass (torchview takes ~2x).
Usage: .venv/bin/python benchmarks/record_layout.py [--models resnet50 vit_b_16] [--repeat 7]
"""
from __future__ import annotations

import argparse

import torch

from common import interleaved, med, save


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", nargs="+", default=["resnet50", "vit_b_16"])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    from torchview import draw_graph

    from engine.layout.placement import layout_graph
    from engine.model.recorder import record
    from engine.model.registry import load_model

    torch.set_grad_enabled(False)
    results = {}
    for name in args.models:
        model, inputs, _, _ = load_model(name)
        model.eval()
        args_, kwargs = inputs.args, inputs.kwargs
        x = args_[0]

        def forward():
            with torch.no_grad():
                model(*args_, **kwargs)

        def record_layout():
            layout_graph(record(model, inputs, capture=False))

        def torchview():
            draw_graph(model, input_data=x, device="cpu", save_graph=False, depth=99, expand_nested=True)

        t = interleaved({"forward": forward, "record_layout": record_layout, "torchview": torchview},
                        repeat=args.repeat)
        g = record(model, inputs, capture=False)
        r = {k: med(v) for k, v in t.items()}
        results[name] = {
            "forward_s": r["forward"], "record_layout_s": r["record_layout"], "torchview_s": r["torchview"],
            "record_layout_over_forward": r["record_layout"] / r["forward"],
            "torchview_over_forward": r["torchview"] / r["forward"],
            "record_layout_over_torchview": r["record_layout"] / r["torchview"],
            "layers": len(g.layers), "edges": len(g.edges),
            "skip_edges": sum(e.kind == "skip" for e in g.edges),
            "attention_layers": sum(l.kind == "attention" for l in g.layers),
            "samples": t, "goal_ratio": 1.5,
        }
        print(f"{name}: forward {r['forward']*1e3:.1f} ms, record+layout {r['record_layout']*1e3:.1f} ms "
              f"({results[name]['record_layout_over_forward']:.2f}x forward), torchview {r['torchview']*1e3:.1f} ms "
              f"({results[name]['torchview_over_forward']:.2f}x); {len(g.layers)} layers, {len(g.edges)} edges")
    save("record_layout", {"results": results})


if __name__ == "__main__":
    main()
