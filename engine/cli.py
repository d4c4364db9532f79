"""`neuroscape` command line: view, render, record, inspect. Errors print one line and exit 2."""
from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

from engine.errors import NeuroscapeError, note_interrupt, say_interrupted, was_interrupted

DEFAULT_SCENE = "scenes/default.toml"


def size_arg(text: str) -> tuple[int, int]:
    """--size: engine.render.size.parse_size, its message shown by argparse."""
    from engine.scenefile import SizeError, parse_size
    try:
        return parse_size(text)
    except SizeError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _add_model_args(p: argparse.ArgumentParser, target_required: bool = True) -> None:
    p.add_argument("target", nargs=None if target_required else "?", default=DEFAULT_SCENE,
                   help="model name (see `neuroscape inspect --list`), package.module:callable, or a scene .toml")
    p.add_argument("--weights", help="weights file on top of the architecture (.safetensors, or .pt/.pth "
                                     "loaded with weights_only=True)")
    p.add_argument("--input-shape", help="example input shape, e.g. 1x3x224x224")
    p.add_argument("--input-dtype", help="example input dtype, e.g. float32 or int64")
    p.add_argument("--structure", action="store_true", default=None,
                   help="no weights: build the model on the meta device and show its shapes (any size; "
                        "automatic when the weights would not fit in memory)")


def _add_live_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("live activations")
    g.add_argument("--input", help="what the model sees: an image, a folder of images, a video, 'digits', "
                                   "'photo', 'noise', or 'text:...' for language models")
    g.add_argument("--live", action="store_true", help="run the model every frame, cycling through the inputs "
                                                      "or perturbing a single one")
    g.add_argument("--pulse", action="store_true", help="reveal activations layer by layer in data-flow order")
    g.add_argument("--norm", choices=("layer", "global"), default="layer",
                   help="colour scale per layer (default) or shared by all layers")
    g.add_argument("--log", action="store_true", help="colour by sign(v)*log(1+|v|)")
    g.add_argument("--generate", type=int, default=0, metavar="N",
                   help="causal language models: write N tokens step by step with the KV cache, each step "
                        "filling its row of every token plane and attention map (prompt: --input 'text:...' "
                        "or the model's example); render shows the last step")
    g.add_argument("--temperature", type=float, default=0.0,
                   help="--generate: 0 picks the likeliest token (default); above 0 samples, seeded by the "
                        "scene's [input] seed, so a recording is reproducible")


def _add_record_args(p: argparse.ArgumentParser, output_help: str) -> None:
    p.add_argument("-o", "--output", default=None, help=output_help)
    p.add_argument("--size", type=size_arg, default=None,
                   help="frame size, default the scene's [render] size or 1280x720 (GIF: 480 wide)")
    p.add_argument("--fps", type=int, default=None, help="frames per second (default 30; GIF 15)")
    p.add_argument("--duration", type=float, default=None,
                   help="seconds of video (default: the scene's camera path, or 6); the path is stretched to fit")
    p.add_argument("--hud", action="store_true", help="draw model, layer in focus, frame and fps on the video")
    p.add_argument("--samples", type=int, default=None, help="MSAA samples (default: 4 on a GPU, 0 on software GL)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--skip-bad-frames", action="store_true",
                   help="a live model that fails on some frames: keep the last good frame there and exit 0 "
                        "(default: the run says how many failed and exits 1)")
    p.add_argument("--force", action="store_true", help="overwrite existing files")


def _add_explain_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("attribution (why the model decided; Captum)")
    g.add_argument("--explain", choices=("saliency", "gxi", "ig", "gradcam"),
                   help="draw each layer's attribution for one output instead of its activations: gradient "
                        "saliency, gradient x input, Integrated Gradients (50 steps) or Grad-CAM on the last conv "
                        "layer, on the input slab; activation x gradient on every other layer")
    g.add_argument("--target", type=int, default=None, dest="explain_target", metavar="CLASS",
                   help="--explain: the output (class) to explain; default: the top one")
    c = p.add_argument_group("contrast (A - B on every neuron, layers ranked by relative change)")
    c.add_argument("--compare-input", metavar="SPEC", help="B: another input (same forms as --input); A is --input")
    c.add_argument("--compare-weights", metavar="FILE|FOLDER",
                   help="B: the same input through these weights (.safetensors, or .pt/.pth loaded with "
                        "weights_only=True); a folder of checkpoints: a timeline, each minus the first "
                        "(view: , and . step through it)")
    u = p.add_argument_group("uncertainty (per-neuron standard deviation, predictive entropy)")
    u.add_argument("--uncertainty", type=int, default=0, metavar="N", help="N Monte-Carlo dropout passes")
    u.add_argument("--ensemble", nargs="+", metavar="W", help="weight files of an ensemble, one pass each")
    f = p.add_argument_group("feature visualization (inputs optimized to excite a channel)")
    f.add_argument("--featviz", metavar="LAYER[:C,...]", help="pictures that maximize channels of a module layer "
                   "(default its first 8), shown on their tiles; cached on disk")
    f.add_argument("--featviz-steps", type=int, default=128, metavar="N", help="optimization steps (default 128)")


def _analysis(loaded, args) -> list[str] | None:
    """--explain or --compare-*: the scene shows that instead of activations; the HUD lines."""
    from engine.analysis import compare_loaded, explain_loaded, featviz_loaded, uncertainty_loaded
    compare = args.compare_input is not None or args.compare_weights is not None
    spread = bool(args.uncertainty) or bool(args.ensemble)
    if sum((bool(args.explain), compare, spread)) > 1:
        raise NeuroscapeError("--explain, --compare-* and --uncertainty/--ensemble each replace the activations: "
                              "pick one")
    if args.explain_target is not None and not args.explain:
        raise NeuroscapeError("--target chooses the output --explain explains; add --explain ig (or saliency, "
                              "gxi, gradcam)")
    if args.explain:
        return explain_loaded(loaded, args.explain, args.explain_target)
    if compare:
        return compare_loaded(loaded, args.compare_input, args.compare_weights)
    lines = uncertainty_loaded(loaded, args.uncertainty, args.ensemble) if spread else None
    if args.featviz:
        if not 1 <= args.featviz_steps <= 10000:
            raise NeuroscapeError(f"--featviz-steps {args.featviz_steps}: use 1 to 10000, e.g. 128")
        from tqdm import tqdm
        with tqdm(total=args.featviz_steps, desc=f"feature visualization {args.featviz}", unit="step",
                  file=sys.stderr, disable=not sys.stderr.isatty()) as bar:
            def progress(step, total):
                bar.update(step - bar.n)
            lines = (lines or []) + featviz_loaded(loaded, args.featviz, args.featviz_steps, progress=progress,
                                                   workers=getattr(args, "workers", None),
                                                   address=getattr(args, "ray_address", None))
    return lines


class _OneLineParser(argparse.ArgumentParser):
    """argparse's own errors (``--fps x``, an unknown flag) in one line, like every other error."""

    def error(self, message: str):
        self.exit(2, f"neuroscape: error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    ap = _OneLineParser(prog="neuroscape", description="3D scenes of PyTorch models. With no command: "
                                 "view the default scene (or record it to a video when there is no display).")
    sub = ap.add_subparsers(dest="cmd")
    from engine.app.keys import keys_help
    v = sub.add_parser("view", help="open the fullscreen fly-through viewer", epilog=keys_help(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_model_args(v, target_required=False)
    _add_live_args(v)
    v.add_argument("--windowed", action="store_true", help="start in a window (F11 toggles fullscreen)")
    v.add_argument("--size", type=size_arg, help="window size when windowed, e.g. 1280x720")
    v.add_argument("--screenshot-dir", default=".", help="where P writes screenshots (default: .)")
    v.add_argument("--path-out", help="scene file that J writes the camera path (K: add keyframe) into; "
                                      "default <scene>-path.toml beside the scene file")
    v.add_argument("--max-seconds", type=float, help=argparse.SUPPRESS)   # for tests
    _add_explain_args(v)
    r = sub.add_parser("render", help="render one frame offscreen to a PNG (no display needed)")
    _add_model_args(r)
    _add_live_args(r)
    r.add_argument("-o", "--output", required=True, help="PNG file to write")
    r.add_argument("--size", type=size_arg, default=None, help="image size, default 1920x1080")
    r.add_argument("--samples", type=int, default=None, help="MSAA samples (default: 4 on a GPU, 0 on software GL)")
    r.add_argument("--force", action="store_true", help="overwrite an existing file")
    _add_explain_args(r)
    r.add_argument("--workers", type=int, default=None, metavar="N",
                   help="--featviz on N Ray workers, each optimizing a share of the channels (a local Ray "
                        "instance of N CPUs unless --ray-address)")
    r.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                   help="--workers on this Ray cluster (its head node) instead of a local instance")
    rec = sub.add_parser("record", help="fly through the scene offscreen and write an MP4 or GIF")
    _add_model_args(rec, target_required=False)
    _add_live_args(rec)
    _add_record_args(rec, "video file (.mp4 or .gif); default out/<scene>.mp4")
    rec.add_argument("--workers", type=int, default=None, metavar="N",
                     help="record on N Ray workers, each a segment of the camera path, joined without "
                          "re-encoding (a local Ray instance of N CPUs unless --ray-address)")
    rec.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                     help="--workers on this Ray cluster (its head node) instead of a local instance")
    rec.add_argument("--report", action="store_true", help="also write the benchmark JSON beside the video")
    b = sub.add_parser("bench", help="record the scene's camera path and write a JSON timing report beside the video")
    _add_model_args(b, target_required=False)
    _add_live_args(b)
    _add_record_args(b, "video file; default out/<scene>-bench-<time>.mp4 (report: same name, .json)")
    from engine.app.playground_cli import add_playground_args
    from engine.app.keys import PLAYGROUND_KEYS
    add_playground_args(sub.add_parser("playground", help="train a small classifier live and watch its decision "
                                                          "surface form in 3D", epilog=keys_help(PLAYGROUND_KEYS),
                                       formatter_class=argparse.RawDescriptionHelpFormatter), size_arg)
    from engine.cli_embed import add_embed_args
    e = sub.add_parser("embed", help="a layer's representations of a whole dataset as a 3D point cloud beside it")
    _add_model_args(e)
    add_embed_args(e, size_arg)
    i = sub.add_parser("inspect", help="print the layer table of a model")
    _add_model_args(i, target_required=False)
    i.add_argument("--list", action="store_true", help="list the built-in model names")
    i.add_argument("--details", action="store_true",
                   help="under each layer its attributes (ONNX: op attributes, input/output names and shapes, "
                        "initializer shapes)")
    return ap


def _live(args):
    from engine.pipeline import LiveOptions
    return LiveOptions(input=getattr(args, "input", None), live=getattr(args, "live", False),
                       norm=getattr(args, "norm", "layer"), log=getattr(args, "log", False),
                       pulse=getattr(args, "pulse", False), generate=getattr(args, "generate", 0),
                       temperature=getattr(args, "temperature", 0.0))


def _spec(args):
    from engine.scenefile import find_scene, resolve_spec
    return resolve_spec(find_scene(args.target), weights=args.weights, input_shape=args.input_shape,
                        input_dtype=args.input_dtype, structure=args.structure)


def _progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _say_structure(graph) -> None:
    from engine.model.structure import structure_note
    if graph.structure_only:
        _progress(structure_note(graph))


def cmd_inspect(args) -> int:
    if args.list:
        from engine.model.registry import list_models
        print("\n".join(list_models()))
        return 0
    from engine.pipeline import record_spec
    graph = record_spec(_spec(args), capture=False)
    print(graph.table(details=args.details))
    return 0


def cmd_render(args) -> int:
    from engine.pipeline import load
    from engine.record.output import check_output
    from engine.render.png import save_png
    from engine.render.renderer import render_image
    from engine.scenefile import parse_size
    out = Path(args.output)
    check_output(out, args.force, (".png",))
    if args.workers is not None or args.ray_address:           # --featviz on Ray: its checks before loading
        from engine.compute.cluster import check_workers
        if not args.featviz or args.workers is None:
            raise NeuroscapeError("--workers N (and --ray-address) spread --featviz's channels over Ray workers: "
                                  "add --featviz LAYER and --workers N")
        check_workers(args.workers, args.ray_address)
    spec = _spec(args)
    size = args.size or parse_size(spec.render.get("size", "1920x1080"))
    t0 = time.perf_counter()
    live = _live(args)
    loaded = load(spec, live)
    _say_structure(loaded.graph)
    graph, scene, session = loaded.graph, loaded.scene, loaded.session
    hud = highlight = None
    hud = _analysis(loaded, args)
    if live.generate:                  # the last step: the whole text, its last token's rows outlined
        frame = session.first_frame(live.generate)
        hud, highlight = session.hud(), session.highlight(frame)
    t1 = time.perf_counter()
    samples = args.samples if args.samples is not None else spec.render.get("samples")
    img = render_image(scene, size=size, samples=samples, hud=hud, highlight=highlight)
    t2 = time.perf_counter()
    save_png(img, out)
    _progress(f"{graph.model_name}: {len(scene.slabs)} layers, {scene.neuron_count:,} neurons, "
              f"{scene.edge_count:,} edges; recorded in {t1 - t0:.2f} s, rendered in {t2 - t1:.2f} s")
    print(out)
    return 0


def cmd_embed(args) -> int:
    from engine.cli_embed import cmd_embed as run
    return run(args, _spec(args), _progress)


def cmd_record(args) -> int:
    from engine.record.run import record_command
    spec = _spec(args)
    if spec.playground and args.cmd == "record":      # scenes/playground*.toml: train live on video
        from engine.record.playground import record_playground_command
        return record_playground_command(args, spec)
    return record_command(args, spec, _live(args), bench=args.cmd == "bench")


def _cmd_playground(args) -> int:
    from engine.app.playground_cli import cmd_playground
    return cmd_playground(args)


def _load_for_view(spec, args, stage):
    """(loaded, HUD notes, extra keys) of `view`: runs in the loading screen's thread (no GL)."""
    from engine.pipeline import load
    loaded = load(spec, _live(args), ring=3, stage=stage)
    keys = None
    if args.compare_weights and Path(args.compare_weights).is_dir() and not (args.explain or args.compare_input):
        from engine.analysis import timeline_loaded
        stage("reading the checkpoints")
        timeline = timeline_loaded(loaded, args.compare_weights)
        notes = timeline.show(-1)
        keys = {"COMMA": lambda: timeline.step(-1), "PERIOD": lambda: timeline.step(1)}
    else:
        if any((args.explain, args.compare_input, args.compare_weights, args.uncertainty, args.ensemble,
                args.featviz)):
            stage("computing " + ("the attribution" if args.explain else "feature visualization" if args.featviz
                                  else "the comparison" if args.compare_input or args.compare_weights
                                  else "the uncertainty"))
        notes = _analysis(loaded, args)
    return loaded, notes, keys


def cmd_view(args) -> int:
    from engine.app.viewer import Viewer
    from engine.app.window import require_display
    spec = _spec(args)
    if spec.playground:                 # scenes/playground_*.toml: the playground's window, as `playground` opens it
        from engine.app.playground_cli import cmd_playground, playground_parser
        p = playground_parser().parse_args([str(spec.path)])
        p.windowed, p.size, p.screenshot_dir, p.max_seconds = args.windowed, args.size, args.screenshot_dir, \
            args.max_seconds
        return cmd_playground(p)
    require_display()
    from engine.app.loading import Cancelled, LoadingScreen
    from engine.app.window import Window
    name = str(spec.path.name if spec.path else spec.model)
    window = Window(f"Loading {name} ...", size=args.size, fullscreen=not args.windowed)   # titled once loaded
    try:                                # the window shows the loading's progress instead of black
        loaded, notes, keys = LoadingScreen(window, name).run(
            lambda stage: _load_for_view(spec, args, stage))
    except Cancelled as e:
        window.destroy()
        _progress(f"neuroscape: {e}")
        return 0
    except BaseException:
        window.destroy()
        raise
    _say_structure(loaded.graph)
    session = None if notes is not None else loaded.session     # attribution, contrast: still pictures
    from engine.compute.attribution import categories_for
    from engine.model.registry import canonical_name
    if session is not None and hasattr(session, "categories"):
        session.categories = categories_for(canonical_name(spec.model))
    viewer = Viewer(loaded.scene, fullscreen=not args.windowed, size=args.size, screenshot_dir=args.screenshot_dir,
                    session=session, model=loaded.model, graph=loaded.graph, notes=notes,
                    path_out=args.path_out, scene_source=str(spec.path) if spec.path else spec.model,
                    example=loaded.example, categories=categories_for(canonical_name(spec.model)), keys=keys,
                    input_spec=getattr(args, "input", None), window=window)
    viewer.run(max_seconds=args.max_seconds)
    return 0


def cmd_default(args) -> int:
    """No command: the viewer on the default scene, or a recording of it without a display."""
    from engine.app.window import display_available
    if display_available():
        return cmd_view(build_parser().parse_args(["view", DEFAULT_SCENE, "--live"]))
    out = "out/default.mp4"
    _progress(f"no display found (DISPLAY is not set): recording the default scene to {out} instead")
    return cmd_record(build_parser().parse_args(["record", DEFAULT_SCENE, "--live", "-o", out, "--force"]))


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    args = build_parser().parse_args(argv)
    handlers = {"view": cmd_view, "render": cmd_render, "record": cmd_record, "bench": cmd_record, "inspect": cmd_inspect,
                "playground": _cmd_playground, "embed": cmd_embed,
                None: cmd_default}
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, note_interrupt)       # remembered even where a library swallows it
    try:
        code = handlers[args.cmd](args)
        if was_interrupted() and code == 0:                  # swallowed on the way, then ran to the end
            say_interrupted(" (the work finished before it could stop)")
            return 130
        return code
    except NeuroscapeError as e:
        print(f"neuroscape: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        sys.stderr.flush()
        say_interrupted()
        return 130


if __name__ == "__main__":
    sys.exit(main())
