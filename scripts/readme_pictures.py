"""Render the README's transformer pictures (offscreen, no display needed):

    docs/generate.png   pydoc-gpt halfway through --generate: filled rows, empty rows to come, the
                        fed token outlined in every plane, the text in the HUD, token labels
    docs/headview.png   all-MiniLM-L6-v2: a head of layer 1 picked, its head view beside the map
    docs/modelview.png  scenes/minilm-heads.toml: the layers x heads floor grid under the network
    docs/explain.png    resnet18 on the photo, --explain gradcam: the heat map on the input slab,
                        activation x gradient on every layer, the top-5 in the HUD
    docs/llama70b.png   llama3-70b opened as structure only (no weights): 80 blocks x 64 heads
    docs/lstm.png       the lstm unrolled in time: a plane per step, arcs from step to step
    docs/embed.png      neuroscape embed cnn --input digits --layer classifier.2: 1,797 digits as a cloud
    docs/contrast.png   resnet18, the photo minus noise on every neuron, layers ranked by change
    docs/uncertainty.png  the transformer over 16 Monte-Carlo dropout passes: per-neuron std, entropy
    docs/featviz.png    the cnn's features.4: pictures optimized for 8 channels, on their tiles

    .venv/bin/python scripts/readme_pictures.py [--size 1600x900] [--only explain llama70b ...]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.app.inspector import Inspector  # noqa: E402
from engine.pipeline import LiveOptions, load  # noqa: E402
from engine.render.png import save_png  # noqa: E402
from engine.render.renderer import render_image  # noqa: E402
from engine.scene.camera import Camera  # noqa: E402
from engine.scene.pick import Pick  # noqa: E402
from engine.scenefile import find_scene, resolve_spec  # noqa: E402


def view_of(points: np.ndarray, direction, fov: float = 60.0, aspect: float = 16 / 9, margin: float = 1.1) -> Camera:
    """A camera looking along ``direction`` that frames ``points``."""
    d = np.asarray(direction, float)
    d /= np.linalg.norm(d)
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre = (lo + hi) / 2
    radius = float(np.linalg.norm(hi - lo)) / 2
    t = np.tan(np.radians(fov) / 2) * min(1.0, aspect)
    return Camera(position=centre - d * margin * radius / t, fov=fov).look_at(centre)


def generate_picture(size, out: Path) -> None:
    spec = resolve_spec(find_scene("scenes/pydoc-gpt.toml"))
    loaded = load(spec, LiveOptions())
    sess = loaded.session
    step = sess.steps * 2 // 3
    frame = sess.first_frame(step)
    sc = loaded.scene
    m = next(s for s in sc.slabs if s.name.endswith("h.0.attn.attention_probs"))
    cam = Camera(position=sc.camera.position.copy(), fov=sc.camera.fov)
    cam.position = m.center + 0.42 * (sc.camera.position - m.center) + [0.0, -2.5, 0.0]
    cam.look_at(m.center + [0.0, -1.0, -6.0])
    img = render_image(sc, size=size, camera=cam, hud=sess.hud(), highlight=sess.highlight(frame))
    save_png(img, out)
    sess.close()


def head_view_picture(size, out: Path) -> None:
    loaded = load(resolve_spec("minilm"), LiveOptions(input="text:the cat sat on the mat because it was warm"))
    sc = loaded.scene
    n = len(sc.tokens)
    slab = next(s for s in sc.slabs if s.name.endswith("layer.1.attention.self.attention_probs"))
    head, q = 3, sc.tokens.index("it")
    index = head * n * n + q * n
    col, row = slab.mosaic.texel(index)
    got = Inspector(sc, loaded.graph, loaded.model).inspect(Pick(slab, 1.0, slab.center, int(col), int(row)))
    hv = got.positions.reshape(-1, 3)
    right = slab.origin[0] + slab.cols * slab.u[0]
    pts = np.concatenate([slab.corners, hv[hv[:, 0] > right]])
    cam = view_of(pts, -slab.normal * np.sign(np.dot(sc.camera.position - slab.center, slab.normal))
                  + [-0.3, -0.25, 0], aspect=size[0] / size[1], margin=0.8)
    img = render_image(sc, size=size, camera=cam, hud=got.lines, highlight=(got.positions, got.weights))
    save_png(img, out)


def model_view_picture(size, out: Path) -> None:
    loaded = load(resolve_spec(find_scene("scenes/minilm-heads.toml")), LiveOptions())
    sc = loaded.scene
    maps = sorted((s for s in sc.slabs if s.name.endswith("attention_probs")), key=lambda s: s.rank)
    a, b = maps[0], maps[-1]
    target = (a.center + b.center) / 2
    length = float(np.linalg.norm(a.center - b.center))
    cam = Camera(position=target + np.array([0.55, 0.32, 0.45]) * length).look_at(target)
    save_png(render_image(sc, size=size, camera=cam), out)


def explain_picture(size, out: Path) -> None:
    from engine.analysis import explain_loaded
    loaded = load(resolve_spec("resnet18"), LiveOptions(input="photo"))
    hud = explain_loaded(loaded, "gradcam", None)
    save_png(render_image(loaded.scene, size=size, hud=hud), out)


def llama70b_picture(size, out: Path) -> None:
    loaded = load(resolve_spec("llama3-70b"), LiveOptions())
    save_png(render_image(loaded.scene, size=size, hud=[loaded.scene.title]), out)


def lstm_picture(size, out: Path) -> None:
    loaded = load(resolve_spec("lstm"), LiveOptions(input="noise"))
    sc = loaded.scene
    h = next(s for s in sc.slabs if s.name == "rnn.layer0.h")
    target = h.center
    cam = Camera(position=target + np.array([1.2, 2.0, 6.5])).look_at(target)
    save_png(render_image(sc, size=size, camera=cam), out)


def embed_picture(size, out: Path) -> None:
    from engine.analysis import embed_loaded
    from engine.scene.nodes.cloud import PointCloud, cloud_bounds
    loaded = load(resolve_spec("cnn"), LiveOptions())
    lines = embed_loaded(loaded, "classifier.2", "digits")
    lo, hi = cloud_bounds(loaded.scene.nodes_of(PointCloud)[-1])
    centre, radius = (lo + hi) / 2, float(np.linalg.norm(hi - lo)) / 2
    cam = Camera(position=centre + radius * np.array([1.7, 0.6, 1.6])).look_at(centre)
    save_png(render_image(loaded.scene, size=size, camera=cam, hud=lines), out)


def contrast_picture(size, out: Path) -> None:
    from engine.analysis import compare_loaded
    loaded = load(resolve_spec("resnet18"), LiveOptions(input="photo"))
    save_png(render_image(loaded.scene, size=size, hud=compare_loaded(loaded, input_b="noise")), out)


def uncertainty_picture(size, out: Path) -> None:
    from engine.analysis import uncertainty_loaded
    loaded = load(resolve_spec("transformer"), LiveOptions())
    save_png(render_image(loaded.scene, size=size, hud=uncertainty_loaded(loaded, passes=16)), out)


def featviz_picture(size, out: Path) -> None:
    from engine.analysis import featviz_loaded
    loaded = load(resolve_spec("cnn"), LiveOptions(input="photo"))
    lines = featviz_loaded(loaded, "features.4", steps=96)
    from engine.scene.nodes import Scene
    s = next(s for s in loaded.scene.slabs if s.name == "features.4")
    alone = Scene([s], labels=[lb for lb in loaded.scene.labels if lb.layer_id == s.layer_id],
                  background=loaded.scene.background)          # the layer alone: no other slab in front
    dist = 1.2 * max(s.rows * float(np.linalg.norm(s.v)), s.cols * float(np.linalg.norm(s.u)))
    cam = Camera(position=s.center - s.normal * dist + np.array([0.3, 0.2, 0.0]) * dist).look_at(s.center)
    save_png(render_image(alone, size=size, camera=cam, hud=lines), out)


PICTURES = {"generate": generate_picture, "headview": head_view_picture, "modelview": model_view_picture,
            "explain": explain_picture, "llama70b": llama70b_picture, "lstm": lstm_picture, "embed": embed_picture,
            "contrast": contrast_picture, "uncertainty": uncertainty_picture, "featviz": featviz_picture}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="1600x900")
    ap.add_argument("--only", nargs="+", choices=sorted(PICTURES), default=sorted(PICTURES))
    args = ap.parse_args()
    size = tuple(int(v) for v in args.size.lower().split("x"))
    docs = ROOT / "docs"
    for name in args.only:
        PICTURES[name](size, docs / f"{name}.png")
        print(f"wrote docs/{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
