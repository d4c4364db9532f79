"""Embeddings: PCA of 100k x 512 activations to 3D as `neuroscape embed` does it (engine/compute/embed.py:
exact, from the covariance) against scikit-learn's PCA on the same data; and the frame time at 1080p of
the cnn scene with a 1,000,000-point cloud beside it against the same scene without the cloud.

Goals (issue 13): report both (PCA vs scikit-learn as a ratio; every one of the 1M points drawn).
Usage: .venv/bin/python benchmarks/embedding.py [--points 1000000] [--rows 100000] [--dim 512]
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from common import interleaved, med, save


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=512)
    ap.add_argument("--points", type=int, default=1_000_000)
    args = ap.parse_args()
    from sklearn.decomposition import PCA

    from engine.compute.embed import reduce
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((args.rows, args.dim), dtype=np.float32)
         * np.linspace(3, 0.1, args.dim, dtype=np.float32))
    t = interleaved({"neuroscape": lambda: reduce(x, "pca"),
                     "sklearn": lambda: PCA(3, svd_solver="full").fit_transform(x)}, repeat=3, warmup=1)
    ours, theirs = med(t["neuroscape"]), med(t["sklearn"])
    print(f"PCA {args.rows:,} x {args.dim} -> 3: ours {ours:.2f} s, scikit-learn {theirs:.2f} s = {ours / theirs:.2f}x")

    from engine.pipeline import load
    from engine.render.context import OffscreenContext
    from engine.render.renderer import Renderer
    from engine.scene.nodes.cloud import PointCloud
    from engine.scenefile import SceneSpec
    loaded = load(SceneSpec(model="cnn"))
    scene = loaded.scene
    lo, hi = scene.bbox
    frames = {}
    with OffscreenContext():
        pts = rng.standard_normal((args.points, 3)).astype(np.float32) * 0.3 * float(np.linalg.norm(hi - lo))
        cols = rng.random((args.points, 3)).astype(np.float32)
        for name in ("without", "with", "with_smallest"):
            if name != "without":       # smallest: every point at the 2-px minimum (the per-point cost alone)
                scene.nodes_of(PointCloud).clear()
                scene.add(PointCloud(pts + ((lo + hi) / 2).astype(np.float32), cols,
                                     size=0.01 if name == "with" else 1e-6))
            r = Renderer(scene, (1920, 1080))
            r.draw(scene.camera)
            r.read_pixels()
            ts = []
            for _ in range(5):
                import time
                t0 = time.perf_counter()
                r.draw(scene.camera)
                r.read_pixels()
                ts.append(time.perf_counter() - t0)
            r.release()
            frames[name] = med(ts)
    print(f"cnn scene at 1080p: {frames['without'] * 1e3:.1f} ms; with a {args.points:,}-point cloud "
          f"{frames['with'] * 1e3:.1f} ms = {frames['with'] / frames['without']:.2f}x; with every point at the "
          f"2-px minimum {frames['with_smallest'] * 1e3:.1f} ms (the per-point cost of software GL)")
    save("embedding", {"pca": {"rows": args.rows, "dim": args.dim, "neuroscape_s": ours, "sklearn_s": theirs,
                               "ratio": ours / theirs, "samples": t},
                       "cloud": {"points": args.points, "frame_without_s": frames["without"],
                                 "frame_with_s": frames["with"], "frame_smallest_s": frames["with_smallest"],
                                 "ratio": frames["with"] / frames["without"]}})
    return 0 if theirs > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
