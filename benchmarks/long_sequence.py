"""GPT-2 at its full 1024 tokens as a scene: peak memory (max RSS) and time to the first picture of
`neuroscape render gpt2 --input-shape 1x1024` (record with every value captured, layout, build, render
offscreen: 12 layers x 12 heads x 1024^2 attention probabilities among ~375 M values), against the
same model's bare forward pass at 1024 tokens in its own process (the floor: weights + one pass).
Each in a fresh subprocess so peaks do not mix.

Goal (issue 11): within 6 GB RSS.
Usage: .venv/bin/python benchmarks/long_sequence.py [--tokens 1024]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from common import save

ROOT = Path(__file__).resolve().parents[1]

BARE = """
import time, torch
from engine.model.registry import load_model
model, ex, _, _ = load_model("gpt2", input_shape="1x{n}", input_dtype="int64")
t = time.perf_counter()
with torch.no_grad():
    model(*ex.args, **ex.kwargs)
print(time.perf_counter() - t)
"""


WRAP = ("import json, resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run(json.loads(sys.argv[1]), capture_output=True, text=True)\n"
        "print(json.dumps([r.returncode, time.perf_counter() - t, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.stdout + r.stderr]))\n")


def run(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, max RSS in GB, output) of ``cmd`` in a fresh process tree of its own."""
    r = subprocess.run([sys.executable, "-c", WRAP, json.dumps(cmd)], cwd=ROOT, capture_output=True, text=True,
                       check=True)
    code, wall, kb, out = json.loads(r.stdout)
    if code != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{out[-2000:]}")
    return wall, kb / 1e6, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--tokens", type=int, default=1024)
    args = ap.parse_args()
    n = args.tokens
    with tempfile.TemporaryDirectory() as tmp:
        png = str(Path(tmp) / "gpt2.png")
        wall, rss, out = run([sys.executable, "-m", "engine.cli", "render", "gpt2", "--input-shape", f"1x{n}",
                              "--input-dtype", "int64", "-o", png, "--size", "1280x720"])
    line = next((l for l in out.splitlines() if l.startswith("gpt2:")), "")
    bare_wall, bare_rss, bare_out = run([sys.executable, "-c", BARE.format(n=n)])
    forward_s = float(bare_out.strip().splitlines()[-1])
    print(f"GPT-2 at {n} tokens: scene {rss:.2f} GB max RSS, first picture after {wall:.1f} s ({line.strip()})")
    print(f"bare forward in its own process: {bare_rss:.2f} GB max RSS, {forward_s:.2f} s forward, "
          f"{bare_wall:.1f} s with start-up")
    print(f"ratio: memory {rss / bare_rss:.2f}x, time {wall / bare_wall:.2f}x; goal: scene within 6 GB "
          f"({'met' if rss <= 6.0 else 'not met'})")
    save("long_sequence", {"tokens": n, "scene_max_rss_gb": round(rss, 3), "scene_first_picture_s": round(wall, 2),
                           "scene_summary": line.strip(), "bare_max_rss_gb": round(bare_rss, 3),
                           "bare_forward_s": round(forward_s, 3), "bare_with_startup_s": round(bare_wall, 2),
                           "memory_ratio": round(rss / bare_rss, 3), "time_ratio": round(wall / bare_wall, 3),
                           "goal_gb": 6.0})
    return 0 if rss <= 6.0 else 1


if __name__ == "__main__":
    sys.exit(main())
