"""Embeddings: PCA of 100k x 512 activations to 3D as `neuroscape embed` does it (engine/compute/embed.py:
exact, from the covariance) against scikit-learn's PCA on the same data; and the frame time at 1080p of
the cnn scene with a 1,000,000-point embedding beside its last layer against the same scene without it,
from three cameras, with level of detail (engine/scene/cloud_lod.py) and with every point drawn.

Goals (issue 13): PCA vs scikit-learn as a ratio; 1M points fly smoothly (every point represented).
Usage: .venv/bin/python benchmarks/embedding.py [--points 1000000] [--rows 100000] [--dim 512]
"""
from __future__ import annotations

import argparse
import copy
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

    import time

    from engine.pipeline import load
    from engine.render.context import OffscreenContext
    from engine.render.passes.cloud import CloudPass
    from engine.render.renderer import Renderer
    from engine.scene.nodes.cloud import PointCloud, beside
    from engine.scenefile import SceneSpec
    loaded = load(SceneSpec(model="cnn"))
    scene = loaded.scene
    slab = scene.slabs[-1]
    # an embedding as `neuroscape embed` places it: ten clusters (labels) in [-1, 1]^3 beside the last layer
    label = rng.integers(0, 10, args.points)
    centres = rng.uniform(-0.6, 0.6, (10, 3))
    unit = np.clip(centres[label] + rng.standard_normal((args.points, 3)) * 0.15, -1, 1)
    pts, size = beside(slab, scene.bbox, unit)
    cols = rng.random((10, 3)).astype(np.float32)[label]
    centre = pts.mean(axis=0).astype(np.float64)
    side = float(np.ptp(pts, axis=0).max())
    overview = scene.camera
    facing = copy.deepcopy(overview)             # the whole cloud filling the view
    facing.position = centre + np.array([0.0, 0.0, 1.3 * side])
    facing.look_at(centre)
    inside = copy.deepcopy(overview)             # flown into it: a quarter of its side from its centre
    inside.position = centre + np.array([0.0, 0.0, 0.25 * side])
    inside.look_at(centre)
    runs = {"without": (None, overview), "overview": (4.0, overview), "overview_every_point": (0.0, overview),
            "facing": (4.0, facing), "facing_every_point": (0.0, facing),
            "inside": (4.0, inside), "inside_every_point": (0.0, inside), "smallest_every_point": (0.0, facing)}
    frames, drawn = {}, {}
    with OffscreenContext():
        for name, (lod_px, cam) in runs.items():
            scene.nodes_of(PointCloud).clear()
            if lod_px is not None:      # smallest: every point at the 2-px minimum (the per-point cost alone)
                scene.add(PointCloud(pts, cols, size=1e-9 if name.startswith("smallest") else size, lod_px=lod_px))
            r = Renderer(scene, (1920, 1080))
            r.draw(cam)
            r.read_pixels()
            ts = []
            for _ in range(5):
                t0 = time.perf_counter()
                r.draw(cam)
                r.read_pixels()
                ts.append(time.perf_counter() - t0)
            last = [p for p in r.passes if isinstance(p, CloudPass)]
            drawn[name] = sum(c.vertices for p in last for c in p.last)
            r.release()
            frames[name] = med(ts)
            print(f"  {name}: {frames[name] * 1e3:.1f} ms, {drawn[name]:,} sprites")
    base = frames["without"]
    print(f"cnn scene at 1080p: {base * 1e3:.1f} ms without the cloud; with a {args.points:,}-point embedding beside "
          f"its last layer, drawn with level of detail / every point as its own sprite:")
    for view in ("overview", "facing", "inside"):
        print(f"  {view}: {frames[view] * 1e3:.1f} ms = {frames[view] / base:.2f}x ({drawn[view]:,} sprites) / "
              f"{frames[view + '_every_point'] * 1e3:.1f} ms = {frames[view + '_every_point'] / base:.2f}x")
    print(f"  every point at the 2-px minimum: {frames['smallest_every_point'] * 1e3:.1f} ms (the per-point cost of "
          f"software GL: the floor without level of detail)")
    save("embedding", {"pca": {"rows": args.rows, "dim": args.dim, "neuroscape_s": ours, "sklearn_s": theirs,
                               "ratio": ours / theirs, "samples": t},
                       "cloud": {"points": args.points, "frame_s": frames, "sprites": drawn,
                                 "ratio": {v: frames[v] / base for v in ("overview", "facing", "inside")}}})
    return 0 if theirs > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
