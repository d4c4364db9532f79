"""`neuroscape record` and `neuroscape bench`: options -> camera path -> Recorder -> video (+ report)."""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path

from engine.errors import NeuroscapeError
from engine.scenefile import parse_size

GIF_WIDTH, GIF_FPS, VIDEO_FPS = 480, 15, 30
GENERATE_S, GENERATE_HOLD_S = 0.3, 1.5      # --generate: seconds of video per token, and the whole text at the end


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _name_of(target: str) -> str:
    return Path(target).stem if target.endswith(".toml") else target.replace(":", "_").replace("/", "_")


def _size_for(args, spec, gif: bool) -> tuple[int, int]:
    if args.size:
        return args.size
    w, h = parse_size(spec.render.get("size", "1280x720"))
    if gif:                        # sized for sharing: 480 wide, the scene's aspect
        return GIF_WIDTH, max(2, round(GIF_WIDTH * h / w / 2) * 2)
    return w, h


def record_command(args, spec, live_options, *, bench: bool = False) -> int:
    from engine.pipeline import load
    from engine.record.output import check_output
    from engine.scene.path import scene_camera_path
    from engine.record.pipeline import Recorder
    from engine.record.report import build_report, model_device, report_path, write_report

    name = _name_of(args.target)
    if args.output:
        out = Path(args.output)
    elif bench:
        out = Path(f"out/{name}-bench-{time.strftime('%Y%m%d-%H%M%S')}.mp4")
    else:
        out = Path(f"out/{name}.mp4")
    check_output(out, args.force, (".mp4", ".gif"))
    gif = out.suffix.lower() == ".gif"
    want_report = bench or getattr(args, "report", False)
    rep = report_path(out) if want_report else None
    if rep is not None and rep.exists() and not args.force:
        raise NeuroscapeError(f"{rep} exists: pass --force to overwrite it or choose another -o")
    from engine.scene.path import MAX_SECONDS
    if args.duration is not None and not 0 < args.duration <= MAX_SECONDS:
        raise NeuroscapeError(f"--duration {args.duration} must be seconds in (0, {MAX_SECONDS:.0f}]: e.g. --duration 10")
    workers = getattr(args, "workers", None)
    address = getattr(args, "ray_address", None)
    if address and not workers:
        raise NeuroscapeError("--ray-address needs --workers N (how many segments to record at once)")
    distributed = workers is not None and (workers != 1 or address)
    if workers is not None:
        from engine.record.distributed import check_workers
        check_workers(workers, address)
    if distributed and (gif or want_report or live_options.generate):
        raise NeuroscapeError("--workers records MP4 segments: not with a .gif, --report/bench or --generate")
    fps = args.fps if args.fps is not None else (GIF_FPS if gif else VIDEO_FPS)
    if not 1 <= fps <= 240:
        raise NeuroscapeError(f"--fps {fps} is out of range: use 1 to 240")
    size = _size_for(args, spec, gif)

    _say(f"{'benchmarking' if bench else 'recording'} {spec.model} ...")
    loaded = load(spec, live_options, ring=3)
    if loaded.graph.structure_only:
        from engine.model.structure import structure_note
        _say(structure_note(loaded.graph))
    scene = loaded.scene
    path = scene_camera_path(scene, spec, duration=args.duration)
    steps = live_options.generate
    if steps and args.duration is None and path.duration < GENERATE_S * (steps + 1) + GENERATE_HOLD_S:
        path = scene_camera_path(scene, spec, duration=GENERATE_S * (steps + 1) + GENERATE_HOLD_S)
    duration = args.duration or path.duration
    frames = max(1, int(round(duration * fps)))
    if steps:                          # every step on screen, the last one held to the end
        loaded.session.frames_per_step = max(1, int((frames - GENERATE_HOLD_S * fps) // (steps + 1)))
        loaded.session.hold_steps = frames
    cams = path.cameras(frames)
    samples = args.samples if getattr(args, "samples", None) is not None else spec.render.get("samples")
    if distributed:
        from engine.record.distributed import record_on_ray
        if loaded.session is not None:
            loaded.session.close()
        t0 = time.perf_counter()
        parts = record_on_ray(spec, live_options, cams, out, size=size, fps=fps, samples=samples,
                              hud=getattr(args, "hud", False), workers=workers, address=address, say=_say)
        _say(f"wrote {sum(p.frames for p in parts)} frames ({size[0]}x{size[1]}, {fps} fps) to {out} from "
             f"{len(parts)} segments in {time.perf_counter() - t0:.1f} s")
        print(out)
        return 0
    rec = Recorder(scene, out, cams, size=size, fps=fps, session=loaded.session, hud=getattr(args, "hud", False),
                   samples=samples, progress=not getattr(args, "quiet", False))
    failed = True
    try:
        res = rec.run()
        failed = False
    finally:
        if rep is not None:
            sess = loaded.session
            live = {"input": live_options.input, "live": live_options.live, "pulse": live_options.pulse} \
                if sess is not None else {}
            report = build_report(rec.result, scene, model_name=spec.model,
                                  scene_file=str(spec.path) if spec.path else None,
                                  camera_path="scene file" if spec.camera_path else "default",
                                  duration_s=duration, device=model_device(loaded.model, sess), live=live,
                                  hud=getattr(args, "hud", False))
            try:
                write_report(rep, report)
            except NeuroscapeError as e:
                if not failed:
                    raise
                _say(f"neuroscape: {e}")   # the recording's own error (raised on) is the one that matters
    if res.model_errors and not getattr(args, "skip_bad_frames", False):
        _say(f"neuroscape: the model failed on {res.model_errors} of {res.frames} frames (first: "
             f"{res.first_model_error}); {out} shows the last good frame there"
             + (f"; report {rep} (complete: false)" if rep else "") + "; --skip-bad-frames accepts that")
        return 1
    if res.stopped_by:
        _say(f"neuroscape: recording stopped by {res.stopped_by} after {res.frames} of {res.planned} frames: "
             f"{out} is playable" + (f"; report {rep} (complete: false)" if rep else ""))
        return 128 + int(getattr(signal, res.stopped_by, signal.SIGTERM))
    if bench:
        from engine.record.report import fps_stats
        f = fps_stats(res.times["frame_s"], res.wall_s, res.frames)
        med = report["median_ms"]
        _say(f"{res.frames} frames {size[0]}x{size[1]} in {res.wall_s:.1f} s: {f['mean']:.1f} fps "
             f"(min {f['min']:.1f}, median {f['median']:.1f}, p95 {f['p95']:.1f}); median ms: "
             f"forward {med['forward_s']:.1f}, upload {med['upload_s']:.1f}, render {med['render_s']:.1f}, "
             f"readback {med['readback_s']:.1f}, encode {med['encode_s']:.1f}")
        _say(f"{scene.neuron_count:,} neurons, {scene.edge_count:,} edges on {report['gl_renderer']}")
        from engine.record.plot import plot_frame_times
        picture = plot_frame_times(report, rep.with_suffix(".png"))
        _say(f"wrote {out}, {rep} and {picture} (frame times)")
        print(rep)
        return 0
    _say(f"wrote {res.frames} frames ({size[0]}x{size[1]}, {fps} fps) to {out}" + (f" and {rep}" if rep else ""))
    print(out)
    return 0
