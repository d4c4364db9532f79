"""Decision-field evaluation throughput (grid points per second) divided by the bare model's forward
throughput on the same grid batch (same chunks, inference mode), same run, interleaved. Also grid
points per refresh and refreshes per second (evaluate + texture upload), against a 100x100 CPU grid
computed the way TensorFlow Playground does it (one forward pass per grid point), and the same
100x100 grid vectorised in numpy.

Goal (issue 5): field / bare forward >= 0.9.
Usage: .venv/bin/python benchmarks/field_eval.py [--layers 8,8] [--repeat 7]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from common import interleaved, med, save


def playground_grid(weights, biases, n: int = 100) -> np.ndarray:
    """TensorFlow Playground's heat map: forwardProp once per point of an n x n grid (tanh)."""
    out = np.empty((n, n))
    Ws = [w.tolist() for w in weights]
    bs = [b.tolist() for b in biases]
    for i in range(n):
        for j in range(n):
            a = [-1 + 2 * (j + 0.5) / n, -1 + 2 * (i + 0.5) / n]
            for k, (W, b) in enumerate(zip(Ws, bs)):
                z = [sum(wr[c] * a[c] for c in range(len(a))) + bb for wr, bb in zip(W, b)]
                a = z if k == len(Ws) - 1 else [np.tanh(v) for v in z]
            out[i, j] = a[1] - a[0]
    return out


def numpy_grid(weights, biases, n: int = 100) -> np.ndarray:
    c = -1 + 2 * (np.arange(n) + 0.5) / n
    a = np.stack(np.meshgrid(c, c), -1).reshape(-1, 2)
    for k, (W, b) in enumerate(zip(weights, biases)):
        a = a @ W.T + b
        if k < len(weights) - 1:
            a = np.tanh(a)
    return 1 / (1 + np.exp(a[:, 0] - a[:, 1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--layers", default="8,8")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args()
    import torch
    if args.threads:
        torch.set_num_threads(args.threads)

    from engine.compute.classifier import MLP, parse_layers
    from engine.compute.field import FieldEvaluator
    from engine.render.context import OffscreenContext
    from engine.render.passes.field import FieldPass
    from engine.render.renderer import Renderer
    from engine.scene.nodes import DecisionField, Scene

    widths = parse_layers(args.layers)
    results = {}
    with OffscreenContext():
        for dims in (2, 3):
            model = MLP(dims, widths, 2, "tanh", seed=0)
            ev = FieldEvaluator(dims)
            pts, chunk = ev.points, ev.chunk

            @torch.inference_mode()
            def bare():
                for a in range(0, ev.count, chunk):
                    model(pts[a:a + chunk])

            node = DecisionField(dims)
            renderer = Renderer(Scene([], nodes=[node]), (64, 64))
            upload = renderer.pass_of(FieldPass).sync

            def refresh():
                node.set_field(ev.evaluate(model))
                upload()
                ctx_finish()

            from OpenGL import GL

            def ctx_finish():
                GL.glFinish()

            times = interleaved({"bare_forward": bare, "field": lambda: ev.evaluate(model), "refresh": refresh},
                                repeat=args.repeat, warmup=2)
            renderer.release()
            n = ev.count
            tb, tf, tr = med(times["bare_forward"]), med(times["field"]), med(times["refresh"])
            results[f"{dims}d"] = {
                "grid": f"{ev.res}^{dims}", "grid_points_per_refresh": n, "device": str(ev.device),
                "bare_forward_points_per_s": n / tb, "field_points_per_s": n / tf,
                "field_over_bare_throughput": tb / tf, "goal": 0.9,
                "refreshes_per_s": 1 / tr, "refresh_ms": tr * 1e3, "field_ms": tf * 1e3, "bare_ms": tb * 1e3,
                "raw_seconds": times}
            print(f"{dims}D {ev.res}^{dims} = {n:,} points: field {n / tf / 1e6:.1f} M/s, bare forward "
                  f"{n / tb / 1e6:.1f} M/s -> ratio {tb / tf:.3f} (goal >= 0.9); refresh (eval + upload) "
                  f"{tr * 1e3:.0f} ms = {1 / tr:.1f}/s", flush=True)
        model = MLP(2, widths, 2, "tanh", seed=0)
        Ws = [l.weight.detach().numpy().astype(np.float64) for l in model.linears]
        Bs = [l.bias.detach().numpy().astype(np.float64) for l in model.linears]
        t_loop = med([_t(lambda: playground_grid(Ws, Bs)) for _ in range(2)])
        t_np = med([_t(lambda: numpy_grid(Ws, Bs)) for _ in range(args.repeat)])
        r2 = results["2d"]
        results["baseline_100x100"] = {
            "grid_points_per_refresh": 10_000,
            "per_point_loop_refreshes_per_s": 1 / t_loop, "per_point_loop_points_per_s": 1e4 / t_loop,
            "numpy_refreshes_per_s": 1 / t_np, "numpy_points_per_s": 1e4 / t_np,
            "ours_2d_points_per_refresh_x": r2["grid_points_per_refresh"] / 1e4,
            "ours_2d_points_per_s_over_per_point_loop": r2["field_points_per_s"] / (1e4 / t_loop),
            "ours_2d_points_per_s_over_numpy": r2["field_points_per_s"] / (1e4 / t_np)}
        b = results["baseline_100x100"]
        print(f"100x100 baseline: per-point loop (as Playground) {1 / t_loop:.1f} refreshes/s "
              f"({1e4 / t_loop / 1e6:.3f} M points/s); numpy {1 / t_np:.0f}/s ({1e4 / t_np / 1e6:.1f} M points/s). "
              f"Ours 2D: {b['ours_2d_points_per_refresh_x']:.0f}x the points per refresh, "
              f"{r2['refreshes_per_s']:.1f} refreshes/s; points/s {b['ours_2d_points_per_s_over_per_point_loop']:.0f}x "
              f"the per-point loop, {b['ours_2d_points_per_s_over_numpy']:.2f}x numpy", flush=True)
    save("field_eval" + (f"_t{args.threads}" if args.threads else ""),
         {"layers": widths, "threads": torch.get_num_threads(), "results": results})


def _t(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
