"""`embed --workers N` on Ray against the single-process dataset pass, same run: wall time of each, and the
parts of the scaling model -- the start (a pool of workers started and set up with nothing to do: a
process each, imports, load the model, open the input), the time per item on a worker, and what is left
(sending the jobs, the rows back into place: the gather). N workers on N
machines take about setup + items x item time / N + gather; on one machine the workers share its cores.
The rows of both runs are compared (they must be the same, in the same order).

Goal (issue 14): the scaling model of the dataset pass measured, with the 2-worker figure from here.
Usage: .venv/bin/python benchmarks/embed_workers.py [--model resnet18] [--layer avgpool] [--input digits]
       [--limit N] [--workers 2]
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from common import save


def _nothing(state) -> None:
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--layer", default="avgpool")
    ap.add_argument("--input", default="digits")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    import ray
    import torch

    from engine.compute.cluster import Workers, spread
    from engine.compute.embed import collect
    from engine.compute.featviz import weights_key
    from engine.compute.inputs import open_input
    from engine.compute.worker_model import WorkerModel
    from engine.pipeline import load
    from engine.scenefile import SceneSpec
    spec = SceneSpec(model=args.model)
    t0 = time.perf_counter()
    loaded = load(spec)
    src = open_input(args.input, example=loaded.example, family=loaded.graph.family, model_spec=spec.model,
                     model=loaded.model)
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    one = collect(loaded.model, loaded.graph, args.layer, src, limit=args.limit)
    single_s = time.perf_counter() - t1
    n = len(one.items)
    setup = WorkerModel(spec.model, spec.weights, spec.input_shape, spec.input_dtype, spec.seed,
                        weights_key(loaded.model), args.input, loaded.graph.family)
    t2 = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray_start_s = time.perf_counter() - t2
    t = time.perf_counter()
    spread(Workers(args.workers, None, setup), _nothing, [()] * args.workers, "starting", lambda k, r: None)
    start_s = time.perf_counter() - t
    t3 = time.perf_counter()
    two = collect(loaded.model, loaded.graph, args.layer, src, limit=args.limit,
                  workers=Workers(args.workers, None, setup))
    ray_s = time.perf_counter() - t3
    ray.shutdown()
    same = bool(np.allclose(one.feats, two.feats, rtol=1e-5, atol=1e-6)
                and np.array_equal(one.predictions, two.predictions))
    st = two.spread
    item_s = sum(st.job_s) / n                        # on a worker (one thread each)
    gather_s = max(0.0, ray_s - start_s - sum(st.job_s) / st.workers)
    width = one.feats.shape[1]
    print(f"{args.model} {args.layer} ({width} wide), {n} items of {args.input}: one process {single_s:.1f} s "
          f"({single_s / n * 1e3:.1f} ms an item, {torch.get_num_threads()} threads; loading {load_s:.1f} s); "
          f"{st.workers} Ray workers {ray_s:.1f} s + {ray_start_s:.1f} s starting Ray = {ray_s / single_s:.2f}x "
          f"(start {start_s:.1f} s of which loading the model {max(st.setup_s):.1f} s, {item_s * 1e3:.1f} ms an item "
          f"on a worker, {len(st.job_s)} jobs, gather and scheduling {gather_s:.1f} s); same rows: {same}. Model: "
          f"start {start_s:.1f} s + items x {item_s * 1e3:.1f} ms / N + gather, N machines")
    save("embed_workers", {"model": args.model, "layer": args.layer, "width": width, "input": args.input,
                           "items": n, "workers": st.workers, "threads_single": torch.get_num_threads(),
                           "load_s": load_s, "single_s": single_s, "single_item_s": single_s / n,
                           "ray_start_s": ray_start_s, "ray_s": ray_s, "start_s": start_s, "setup_s": st.setup_s,
                           "jobs": len(st.job_s), "job_s": st.job_s, "worker_item_s": item_s, "gather_s": gather_s,
                           "ratio": ray_s / single_s, "same_rows": same})
    return 0 if single_s > 0 and same else 1


if __name__ == "__main__":
    sys.exit(main())
