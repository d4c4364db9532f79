"""`neuroscape playground` options and command (argparse only at import: cli.py stays light)."""
from __future__ import annotations

import argparse


def add_playground_args(p: argparse.ArgumentParser, size_type) -> None:
    p.add_argument("scene", nargs="?", help="a playground scene file (scenes/playground_*.toml): its [playground] "
                                            "table, with the options below given on the command line on top")
    p.add_argument("--dataset", default="circles", help="circles, xor, spirals, blobs, shells3d, helices3d, iris, "
                                                        "digits (default circles)")
    p.add_argument("--csv", help="your data: x,y[,z],label rows (a header row is optional)")
    p.add_argument("--model", help="your classifier with 2 or 3 inputs: package.module:callable")
    p.add_argument("--layers", default="8,8", help="hidden widths of the built-in MLP, e.g. 8,8 (default)")
    p.add_argument("--activation", default="tanh", help="tanh (default), relu, sigmoid, linear, leaky_relu, gelu")
    p.add_argument("--lr", type=float, default=0.03, help="learning rate (default 0.03)")
    p.add_argument("--l2", type=float, default=0.0, help="L2 regularization (default 0)")
    p.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    p.add_argument("--noise", type=float, default=0.1, help="dataset noise 0..1 (default 0.1)")
    p.add_argument("--split", type=float, default=0.5, help="share of points held out for testing (default 0.5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--optimizer", default="adam", help="adam (default) or sgd")
    p.add_argument("--steps-per-frame", type=int, default=5, help="training steps between frames (default 5)")
    p.add_argument("--resolution", type=int, help="field grid cells per axis (default 512 in 2D, 128 in 3D)")
    p.add_argument("--entropy", action="store_true",
                   help="show the classifier's entropy field beside the decision field (key U toggles it)")
    p.add_argument("--windowed", action="store_true", help="start in a window (F11 toggles fullscreen)")
    p.add_argument("--size", type=size_type, help="window size when windowed, e.g. 1280x720")
    p.add_argument("--screenshot-dir", default=".", help="where P writes screenshots (default: .)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: these small models run several times slower and "
                        "erratically on more threads, measured in benchmarks/field_eval.py)")
    p.add_argument("--max-seconds", type=float, help=argparse.SUPPRESS)   # for tests


OPTIONS = ("dataset", "csv", "model", "layers", "activation", "lr", "l2", "batch", "noise", "split", "seed",
           "optimizer", "steps_per_frame", "resolution", "entropy")


def config_of(args, table: dict | None = None, base_dir=None):
    """The PlaygroundConfig of the options; with a scene file's [playground] ``table``, the options given
    on the command line (those not at their defaults) go on top of it."""
    from dataclasses import replace

    from engine.compute.classifier import parse_layers
    from engine.compute.playground import PlaygroundConfig, config_from_table
    given = {k: getattr(args, k) for k in OPTIONS if hasattr(args, k)}
    if table is not None:
        defaults = vars(playground_parser().parse_args([]))
        base = config_from_table(table, base_dir)
        changed = {k: v for k, v in given.items() if v != defaults.get(k)}
        if "layers" in changed:
            changed["layers"] = parse_layers(changed["layers"])
        return replace(base, **changed).check()
    given["layers"] = parse_layers(given["layers"])
    return PlaygroundConfig(**given)


def playground_parser() -> argparse.ArgumentParser:
    """The playground's options alone (their defaults: what a scene file's table is compared against)."""
    from engine.scenefile import parse_size
    p = argparse.ArgumentParser(add_help=False)
    add_playground_args(p, parse_size)
    return p


def scene_table(path: str):
    """(the [playground] table, its folder) of a playground scene file; one line when it has none."""
    from pathlib import Path

    from engine.errors import NeuroscapeError
    from engine.scenefile import load_scene_file
    spec = load_scene_file(path)
    if not spec.playground:
        raise NeuroscapeError(f"{path} is not a playground scene (no [playground] table): open it with "
                              f"`neuroscape view {path}`")
    return spec.playground, Path(path).resolve().parent


def cmd_playground(args) -> int:
    from engine.app.window import require_display
    from engine.compute.playground import PlaygroundSession
    if args.threads and args.threads > 0:
        import torch
        torch.set_num_threads(args.threads)
    table, base = scene_table(args.scene) if getattr(args, "scene", None) else (None, None)
    session = PlaygroundSession(config_of(args, table, base))   # bad parameters, data or models fail before a window
    require_display()
    from engine.app.playground import PlaygroundApp
    app = PlaygroundApp(session, fullscreen=not args.windowed, size=args.size, screenshot_dir=args.screenshot_dir)
    app.run(max_seconds=args.max_seconds)
    return 0
