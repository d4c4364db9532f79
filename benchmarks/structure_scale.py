"""Structure without weights at scale: Llama-3-70B's shipped config recorded on the meta device and laid
out (load + record + layout + scene build: time and peak RSS), then its overview frame rendered offscreen
at 1080p (median of 3 after the first), against resnet50 (real weights) through the same steps in the same run. Each model in a fresh
subprocess so the peaks do not mix.

Goal (issue 12): Llama-3-70B recorded and laid out in under 60 s and 4 GB on this machine.
Usage: .venv/bin/python benchmarks/structure_scale.py [--models llama3-70b resnet50]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from common import save

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from engine.pipeline import load
from engine.scenefile import SceneSpec
loaded = load(SceneSpec(model=sys.argv[1]))
t1 = time.perf_counter()
rss_scene = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
from engine.render.context import OffscreenContext
from engine.render.renderer import Renderer
scene = loaded.scene
with OffscreenContext():
    r = Renderer(scene, (1920, 1080))
    r.draw(scene.camera)
    r.read_pixels()
    t2 = time.perf_counter()
    times = []
    for _ in range(3):
        t = time.perf_counter()
        r.draw(scene.camera)
        img = r.read_pixels()
        times.append(time.perf_counter() - t)
    r.release()
print(json.dumps({"scene_s": t1 - t0, "scene_rss_gb": rss_scene, "first_frame_s": t2 - t1,
                  "frame_s": sorted(times)[1], "rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
                  "layers": len(loaded.graph.layers), "neurons": scene.neuron_count,
                  "parameters": loaded.graph.total_params, "structure_only": loaded.graph.structure_only,
                  "lit_pixels": int((img[..., :3].max(axis=-1) > 40).sum())}))
"""


def run(model: str) -> dict:
    r = subprocess.run([sys.executable, "-c", CHILD, model], cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"{model} failed:\n{(r.stdout + r.stderr)[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--models", nargs="+", default=["llama3-70b", "resnet50"])
    args = ap.parse_args()
    results = {m: run(m) for m in args.models}
    for m, r in results.items():
        print(f"{m}: {r['layers']} layers, {r['parameters']:,} parameters{' (structure only)' if r['structure_only'] else ''}"
              f", {r['neurons']:,} neurons: recorded + laid out in {r['scene_s']:.1f} s at {r['scene_rss_gb']:.2f} GB "
              f"peak RSS; 1080p overview frame {r['frame_s'] * 1e3:.0f} ms (renderer set-up + first {r['first_frame_s']:.1f} s), "
              f"{r['rss_gb']:.2f} GB peak with rendering")
    if "resnet50" in results and len(results) > 1:
        base = results["resnet50"]
        for m, r in results.items():
            if m != "resnet50":
                r["frame_ratio_vs_resnet50"] = r["frame_s"] / base["frame_s"]
                r["scene_ratio_vs_resnet50"] = r["scene_s"] / base["scene_s"]
                print(f"{m} vs resnet50: scene {r['scene_ratio_vs_resnet50']:.1f}x, frame {r['frame_ratio_vs_resnet50']:.1f}x")
    big = results.get("llama3-70b")
    ok = big is None or (big["scene_s"] < 60 and big["scene_rss_gb"] < 4)
    save("structure_scale", {"goal": "llama3-70b recorded and laid out in < 60 s and < 4 GB RSS",
                             "met": ok, "results": results})
    return 0 if all(r["lit_pixels"] > 0 for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
