"""ONNX live frame: a frame of `neuroscape view model.onnx --input noise --live` (onnxruntime with every
shown node's output exposed as a graph output -- so no optimization can fuse it away -- then
statistics and colour scales for each
layer) against a bare onnxruntime run of the same file (its default session: optimizations on, only
the model's outputs), and the floor between them: the instrumented session alone. Runs interleaved;
thread spinning off in every session (an idle session's spinning threads would slow the next one).

Goal (issue 12): ONNX live frame <= 1.3x a bare onnxruntime run.
Usage: .venv/bin/python benchmarks/onnx_live.py [--model resnet18] [--repeat 7]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

from common import interleaved, med, save


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="resnet18", help="a torchvision model, exported here")
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    import onnxruntime as ort
    import torch
    import torchvision

    from engine.pipeline import LiveOptions, load
    from engine.scenefile import SceneSpec

    model = getattr(torchvision.models, args.model)().eval()
    x = torch.randn(1, 3, 224, 224)
    path = Path(tempfile.mkdtemp()) / f"{args.model}.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17, input_names=["x"])
    opts = ort.SessionOptions()          # default but for spinning, off as in ours: one session's idle
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")   # threads would slow the other's run
    bare = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    loaded = load(SceneSpec(model=str(path)), LiveOptions(input="noise", live=True))
    sess = loaded.session
    inst = loaded.model.session()
    names = [o.name for o in inst.get_outputs()]
    feed = {"x": x.numpy()}
    frames = iter(range(10 ** 9))
    times = interleaved({
        "bare": lambda: bare.run(None, feed),
        "instrumented": lambda: inst.run(names, feed),
        "live_frame": lambda: sess.compute(next(frames)),
    }, repeat=args.repeat, warmup=2)
    sess.close()
    b, i, f = (med(times[k]) for k in ("bare", "instrumented", "live_frame"))
    print(f"{args.model}.onnx: bare onnxruntime {b * 1e3:.1f} ms; every node's output exposed "
          f"{i * 1e3:.1f} ms = {i / b:.2f}x (the floor); live frame ({len(loaded.scene.slabs)} layers, "
          f"{loaded.scene.neuron_count:,} values, statistics included) {f * 1e3:.1f} ms = {f / b:.2f}x (goal 1.3x)")
    save("onnx_live", {"model": args.model, "layers": len(loaded.scene.slabs), "bare_ms": b * 1e3,
                       "instrumented_ms": i * 1e3, "live_frame_ms": f * 1e3, "ratio": f / b, "floor_ratio": i / b,
                       "goal_ratio": 1.3, "samples": times})
    return 0 if b > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
