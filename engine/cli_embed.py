"""`neuroscape embed` options and command: a layer's representations of a whole dataset as a point
cloud beside it, and an Activation Atlas wall (a command module of engine/cli.py; argparse only at
import, so the CLI starts fast)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import NeuroscapeError


def add_embed_args(e: argparse.ArgumentParser, size_type) -> None:
    e.add_argument("--input", required=True, help="the dataset: a folder of images, 'digits', ... (forms of --input)")
    e.add_argument("--layer", required=True, help="the layer (a module layer: `neuroscape inspect MODEL` lists them)")
    e.add_argument("--method", choices=("pca", "tsne", "umap"), default="pca",
                   help="3D reduction: pca (torch), tsne (openTSNE), umap (umap-learn)")
    e.add_argument("--limit", type=int, default=None, help="at most this many items")
    e.add_argument("--save", help="write the points to this .npz (reload with --load instead of computing)")
    e.add_argument("--load", help="an .npz written by --save: no recomputation")
    e.add_argument("--atlas", type=int, default=0, metavar="N",
                   help="also an Activation Atlas: the layer's 2D reduction cut into N x N cells (2..16), each "
                        "cell's mean activation drawn as a feature visualization, as a wall beside the cloud "
                        "(models that take RGB images; cached on disk)")
    e.add_argument("--atlas-steps", type=int, default=128, help="optimization steps of each atlas icon (default 128)")
    e.add_argument("--workers", type=int, default=None, metavar="N",
                   help="run the dataset pass (and the atlas icons) on N Ray workers, each with its own model "
                        "reading its share of the items (a local Ray instance of N CPUs unless --ray-address)")
    e.add_argument("--ray-address", default=None, metavar="HOST:PORT",
                   help="--workers on this Ray cluster (its head node) instead of a local instance")
    e.add_argument("-o", "--output", help="PNG of the scene with the cloud (without: --view)")
    e.add_argument("--view", action="store_true", help="fly around the cloud in the viewer; clicking a point makes "
                   "that item the network's input")
    e.add_argument("--size", type=size_type, default=None, help="image size, default 1920x1080")
    e.add_argument("--force", action="store_true", help="overwrite existing files")
    e.add_argument("--max-seconds", type=float, help=argparse.SUPPRESS)   # for tests


def _bar(desc: str, unit: str):
    from tqdm import tqdm
    bar = tqdm(desc=desc, unit=unit, file=sys.stderr, disable=not sys.stderr.isatty())

    def progress(done, total):
        bar.total = total
        bar.update(done - bar.n)
    return bar, progress


def cmd_embed(args, spec, say) -> int:
    """Run `neuroscape embed` on the resolved scene ``spec``; ``say`` prints a progress line."""
    import numpy as np

    from engine.analysis import atlas_loaded, check_atlas, collect_loaded, embed_loaded
    from engine.pipeline import LiveOptions, load
    from engine.record.output import check_output
    from engine.render.png import save_png
    from engine.render.renderer import render_image
    from engine.scene.camera import Camera
    from engine.scene.nodes.cloud import PointCloud, cloud_bounds
    if not args.output and not args.view:
        raise NeuroscapeError("embed needs -o PICTURE.png or --view")
    out = Path(args.output) if args.output else None
    if out is not None:
        check_output(out, args.force, (".png",))
    if args.view:
        from engine.app.window import require_display
        require_display()
    if args.save:
        check_output(Path(args.save), args.force, (".npz",))
    if args.limit is not None and args.limit < 4:
        raise NeuroscapeError(f"--limit {args.limit}: an embedding needs at least 4 items")
    if args.atlas and args.load:
        raise NeuroscapeError("--atlas needs the dataset's activations: run without --load")
    if args.atlas and not 2 <= args.atlas <= 16:
        raise NeuroscapeError(f"--atlas {args.atlas}: the grid has 2..16 cells a side, e.g. --atlas 8")
    if not 1 <= args.atlas_steps <= 10_000:
        raise NeuroscapeError(f"--atlas-steps {args.atlas_steps}: use 1..10000 (default 128)")
    if args.ray_address and args.workers is None:
        raise NeuroscapeError("--ray-address needs --workers N (how many workers run the dataset pass)")
    if args.workers is not None:
        if args.load:
            raise NeuroscapeError("--workers runs the dataset pass, which --load skips: leave out one of them")
        from engine.compute.cluster import check_workers
        check_workers(args.workers, args.ray_address)
    loaded = load(spec, LiveOptions(input=args.input) if args.view else None, ring=3)
    collected = None
    bar, progress = _bar(f"embedding {args.input}", "item")
    with bar:
        if args.atlas:              # one dataset pass for the cloud and the atlas
            check_atlas(loaded, args.layer)
            collected = collect_loaded(loaded, args.layer, args.input, args.limit, progress, args.workers,
                                       args.ray_address)
        lines = embed_loaded(loaded, args.layer, args.input, args.method, args.limit, args.load, args.save, progress,
                             args.workers, args.ray_address, collected)
    if args.atlas:
        steps, p_steps = _bar(f"atlas: {args.atlas}x{args.atlas} icons", "step")
        with steps:
            lines += atlas_loaded(loaded, args.layer, args.input, args.method, args.atlas, args.atlas_steps,
                                  args.limit, None, p_steps, args.workers, args.ray_address, collected)
    lo, hi = cloud_bounds(loaded.scene.nodes_of(PointCloud)[-1])
    if args.atlas:
        hi = hi + np.array([1.1 * float(np.ptp(np.c_[lo, hi], axis=1).max()), 0.0, 0.0])   # the wall beyond the cloud
    centre, radius = (lo + hi) / 2, float(np.linalg.norm(hi - lo)) / 2
    view = np.array([0.5, 0.35, 1.9]) if args.atlas else np.array([1.7, 0.6, 1.6])   # the wall from the front
    cam = Camera(position=centre + radius * view).look_at(centre)     # from beyond the layers
    for line in lines:
        say(line)
    if out is not None:
        save_png(render_image(loaded.scene, size=args.size or (1920, 1080), hud=lines, camera=cam), out)
        print(out)
    if args.view:
        from engine.app.viewer import Viewer
        loaded.scene.camera = cam
        session = loaded.session

        def show(point) -> str:          # the clicked item becomes what every layer shows
            session.item = point.index
            print(f"input: {point.describe()}", flush=True)
            return "  -> now the network's input"
        Viewer(loaded.scene, fullscreen=False, size=args.size, session=session, model=loaded.model,
               graph=loaded.graph, notes=lines, on_point=show).run(max_seconds=args.max_seconds)
    return 0
