"""Attention maps of models that never materialise them, captured live: a probe frame with every
attention map of the model shown (computed from each SDPA / MultiheadAttention call's q, k and mask)
against the bare forward pass in its default fast attention, and, for GPT-2, the eager-attention
forward that returns every map (output_attentions=True) as a second baseline. Same run, interleaved.

Goal (issue 11): live frame with every map shown <= 1.25x the bare SDPA forward.
Usage: .venv/bin/python benchmarks/attention_capture.py [--tokens 1024] [--repeat 5] [--models gpt2 vit_b_16]
"""
from __future__ import annotations

import argparse
import copy

import numpy as np
import torch

from common import interleaved, med, save


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", nargs="+", default=["gpt2", "vit_b_16"])
    ap.add_argument("--tokens", type=int, default=1024, help="GPT-2 sequence length (its context is 1024)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    from engine.compute.probe import LiveProbe
    from engine.model.recorder import record
    from engine.model.registry import load_model

    results = {}
    for name in args.models:
        shape = f"1x{args.tokens}" if name == "gpt2" else None
        model, ex, _, _ = load_model(name, input_shape=shape, input_dtype="int64" if shape else None)
        g = record(model, ex, name=name)
        maps = [l for l in g.layers if l.op == "attention_probs"]
        assert maps, f"{name}: no attention maps recorded"
        probe = LiveProbe(model, g, [l.id for l in maps])
        frame = probe.run(ex)                          # calibrates the replay
        assert frame.error is None, frame.error

        def bare():
            with torch.no_grad():
                model(*ex.args, **ex.kwargs)

        def live():
            f = probe.run(ex)
            assert f.error is None and len(f.layers) == len(maps), f.error

        fns = {"bare": bare, "live_maps": live}
        if name == "gpt2":
            import transformers as tf
            eager = tf.AutoModelForCausalLM.from_config(copy.deepcopy(model.config), attn_implementation="eager")
            eager.load_state_dict(model.state_dict())
            eager.eval()

            def eager_maps():
                with torch.no_grad():
                    eager(*ex.args, **ex.kwargs, output_attentions=True)
            fns["eager_output_attentions"] = eager_maps
        t = interleaved(fns, repeat=args.repeat, warmup=1)
        m = {k: med(v) for k, v in t.items()}
        n_probs = int(sum(np.prod(l.shape[1:]) for l in maps))
        r = {"maps": len(maps), "probabilities": n_probs, "map_shape": list(maps[0].shape),
             "bare_s": m["bare"], "live_maps_s": m["live_maps"], "ratio": m["live_maps"] / m["bare"],
             "goal_ratio": 1.25, "replays": probe.replays, "recordings": probe.recordings, "samples": t}
        line = (f"{name}: {len(maps)} maps {'x'.join(map(str, maps[0].shape[1:]))} ({n_probs / 1e6:.0f} M probabilities): "
                f"bare forward {m['bare'] * 1e3:.0f} ms, live frame with every map {m['live_maps'] * 1e3:.0f} ms "
                f"-> {r['ratio']:.3f}x (goal <= 1.25)")
        if "eager_output_attentions" in m:
            r["eager_s"] = m["eager_output_attentions"]
            r["eager_ratio"] = m["eager_output_attentions"] / m["bare"]
            line += f"; eager attention with output_attentions {r['eager_s'] * 1e3:.0f} ms -> {r['eager_ratio']:.3f}x"
        print(line, flush=True)
        results[name] = r
        probe.close()
    save("attention_capture", {"tokens": args.tokens, "results": results})


if __name__ == "__main__":
    main()
