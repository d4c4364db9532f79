"""--generate: the time of one generation step with every layer of the scene captured and written into
its rows (engine/compute/generate.py: replayed forward with the KV cache + scatter + colour scales)
against a bare KV-cache step of the same model (the model's forward with its cache, nothing else).
Whole generations of both run in turns, so machine noise hits them alike; the ratio is of the
medians of the one-token steps.

Goal (issue 11): --generate step time <= 1.2x a bare KV-cache step.
Usage: .venv/bin/python benchmarks/generate_step.py [--models pydoc-gpt gpt2] [--prompt 64] [--steps 24] [--repeat 3]
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

from common import med, save


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", nargs="+", default=["pydoc-gpt", "gpt2"])
    ap.add_argument("--prompt", type=int, default=64, help="prompt tokens")
    ap.add_argument("--steps", type=int, default=24, help="tokens generated per run")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    from engine.compute.generate import GenerationSession
    from engine.layout.placement import layout_graph
    from engine.model.generation import TokenChooser, cache_of, generate_tokens
    from engine.model.inputs import ExampleInputs
    from engine.model.recorder import record
    from engine.model.registry import load_model
    from engine.scene.build import build_scene
    from engine.scene.look import Look

    results, failed = {}, False
    for name in args.models:
        model, ex, _, _ = load_model(name)
        vocab = int(model.config.vocab_size)
        prompt = torch.randint(3, vocab, (args.prompt,), generator=torch.Generator().manual_seed(0)).tolist()
        tokens = generate_tokens(model, prompt, args.steps, TokenChooser())
        graph = record(model, ExampleInputs((), {"input_ids": torch.tensor([prompt + tokens])}, "language"),
                       name=name)
        scene = build_scene(graph, Look(), layout_graph(graph))
        sess = GenerationSession(model, graph, scene, prompt, tokens, lambda ids: "")
        from engine.model.generation import _cache_kwarg
        kw = _cache_kwarg(model)

        @torch.no_grad()
        def bare() -> list[float]:
            out = model(input_ids=torch.tensor([prompt]), use_cache=True)
            times = []
            for tok in tokens:
                t = time.perf_counter()
                out = model(input_ids=torch.tensor([[tok]]), use_cache=True, **{kw: cache_of(out)})
                times.append(time.perf_counter() - t)
            return times

        capture_times: list[float] = []
        step = sess.capture.step

        def timed_step(ids, cache):          # the replayed forward alone: the floor of capturing
            t = time.perf_counter()
            out = step(ids, cache)
            if cache is not None:
                capture_times.append(time.perf_counter() - t)
            return out

        sess.capture.step = timed_step

        def generating() -> list[float]:
            sess.frame_of_step(0)
            times = []
            for k in range(1, len(tokens) + 1):
                t = time.perf_counter()
                f = sess.frame_of_step(k)
                times.append(time.perf_counter() - t)
                assert f.error is None, f.error
            sess.frame_of_step(0)               # the next run starts from the prompt again
            return times

        def eager() -> list[float]:       # the bare step with attention probabilities materialised
            model.set_attn_implementation("eager")
            try:
                return bare()
            finally:
                model.set_attn_implementation("sdpa")

        bare(), generating(), eager()     # warm up, record and calibrate the step replays
        capture_times.clear()
        b, g, e = [], [], []
        for _ in range(args.repeat):
            b += bare()
            g += generating()
            e += eager()
        sess.close()
        ratio, floor = med(g) / med(b), med(capture_times) / med(b)
        layers = len(sess.shapes)
        results[name] = {"prompt_tokens": args.prompt, "steps": args.steps, "layers_shown": layers,
                         "bare_step_ms": round(med(b) * 1e3, 3), "generate_step_ms": round(med(g) * 1e3, 3),
                         "ratio": round(ratio, 3), "capture_step_ms": round(med(capture_times) * 1e3, 3),
                         "capture_ratio": round(floor, 3), "eager_step_ms": round(med(e) * 1e3, 3),
                         "eager_ratio": round(med(e) / med(b), 3)}
        print(f"{name}: bare KV-cache step {med(b) * 1e3:.2f} ms, --generate step ({layers} layers captured) "
              f"{med(g) * 1e3:.2f} ms = {ratio:.2f}x (goal <= 1.2x); of which the replayed forward that "
              f"captures them {med(capture_times) * 1e3:.2f} ms = {floor:.2f}x; a bare step in eager attention "
              f"(probabilities materialised, nothing kept) {med(e) * 1e3:.2f} ms = {med(e) / med(b):.2f}x")
        failed |= not all(t > 0 for t in b)
    save("generate_step", {"goal": "generate step <= 1.2x bare KV-cache step", "results": results})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
