"""The recording pipeline: forward pass -> upload -> draw -> asynchronous readback -> encode.

Three things run at once: a worker thread computes the next frame's activations (torch releases
the GIL), the main thread uploads, draws and queues the readback into a ring of pixel buffers, and
an encoder thread feeds finished frames to ffmpeg (a separate process) through a bounded queue of
reused buffers. So a recording runs at about the speed of the slowest stage, never their sum.

Fixed timestep: frame i shows camera ``cameras[i]`` and the activations of animation frame i,
whatever the machine's speed; the same scene, input and seed give the same frames.

Nothing lost: SIGINT / SIGTERM stop the loop after the current frame; the frames already drawn are
encoded, ffmpeg closes the file, and ``result.complete`` is False. A crash does the same in a
``finally``. The fragmented MP4 is playable even after a hard kill (ffmpeg, in its own session,
finishes the last fragment when its input ends).
"""
from __future__ import annotations

import queue
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import was_interrupted
from engine.scene.camera import Camera
from engine.scene.nodes import Scene

STAGES = ("forward_s", "upload_s", "render_s", "readback_s", "encode_s", "frame_s")


@dataclass
class RecordResult:
    path: Path | None
    size: tuple[int, int]
    fps: int
    planned: int
    frames: int = 0                      # frames encoded (in the file)
    complete: bool = False
    stopped_by: str | None = None        # "SIGINT", "SIGTERM" or None
    error: str | None = None
    wall_s: float = 0.0                  # first frame started -> last frame encoded
    setup_s: float = 0.0                 # renderer, readback buffers and encoder start-up
    times: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in STAGES})
    gl: dict = field(default_factory=dict)
    encoder: dict = field(default_factory=dict)
    model_errors: int = 0                # live frames the model failed on (the last good frame shown)
    first_model_error: str | None = None   # "frame N: message" of the first


def focus_layer(scene: Scene, cam: Camera) -> str:
    """Name of the layer nearest the centre of the view (smallest angle off the view axis)."""
    if not scene.slabs:
        return ""
    c = np.array([s.center for s in scene.slabs]) - cam.position
    dist = np.linalg.norm(c, axis=1)
    cosang = (c @ cam.forward) / np.maximum(dist, 1e-9)
    i = int(np.argmax(cosang))
    return scene.slabs[i].name if cosang[i] > 0 else ""


class _Signals:
    """While recording: SIGINT/SIGTERM ask the loop to stop (a second SIGINT interrupts at once)."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop, self.by, self._old = stop, None, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        if was_interrupted():          # a Ctrl-C while loading that a library swallowed: stop at once
            self.by = "SIGINT"
            self.stop.set()
        return self

    def _handle(self, signum, _frame) -> None:
        if self.stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.by = self.by or signal.Signals(signum).name
        self.stop.set()

    def __exit__(self, *exc) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)


class Recorder:
    """Record ``cameras`` (one per frame) of ``scene`` into ``path`` (None: render and read back
    only, for benchmarks). ``session``: a LiveSession for live activations / pulse; ``hud``: draw
    model, layer in focus, frame counter and the run's fps over each frame."""

    def __init__(self, scene: Scene, path: str | Path | None, cameras: list[Camera], *, size: tuple[int, int],
                 fps: int, session=None, hud: bool = False, samples: int | None = None, depth: int = 3,
                 progress: bool = True, title: str | None = None, writer_options: dict | None = None,
                 first: int = 0, total: int | None = None, before: list[Camera] | None = None) -> None:
        """``first``, ``total``: these cameras are frames first.. of a path of ``total`` frames (a
        segment recorded on its own, engine/record/distributed.py): live frames and the HUD count
        from there; ``before``: the cameras of the frames just before it, replayed so that what
        carries over from frame to frame (label fades) starts where a single run would have it."""
        self.scene, self.cameras, self.session, self.hud = scene, cameras, session, hud
        self.first, self.total = int(first), int(total if total is not None else first + len(cameras))
        self.before = list(before or [])
        self.path = Path(path) if path is not None else None
        self.size, self.fps, self.samples, self.depth = (int(size[0]), int(size[1])), int(fps), samples, max(1, depth)
        self.progress, self.title = progress, title or scene.title
        self.writer_options = writer_options or {}
        self.result = RecordResult(self.path, self.size, self.fps, len(cameras))
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask a running recording to stop after the current frame (thread-safe)."""
        self._stop.set()

    # ------------------------------------------------------------------ encoder thread
    def _encode_loop(self, writer, work: queue.Queue, free: queue.Queue, bar) -> None:
        res = self.result
        try:
            while True:
                item = work.get()
                if item is None:
                    return
                buf = item
                t = time.perf_counter()
                if writer is not None:
                    writer.write(buf)
                res.times["encode_s"].append(time.perf_counter() - t)
                res.frames += 1
                free.put(buf)
                if bar is not None:
                    bar.update(1)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            self._encode_error = e
            self._stop.set()
            while (item := work.get()) is not None:   # keep the main thread from blocking
                free.put(item)

    def _hand_over(self, buf: np.ndarray, work: queue.Queue) -> None:
        while True:
            try:
                work.put(buf, timeout=0.1)
                return
            except queue.Full:
                if self._encode_error is not None:
                    return

    # ------------------------------------------------------------------ main loop
    def run(self) -> RecordResult:
        from engine.render.context import OffscreenContext
        from engine.render.readback import PboReader, gl_info
        from engine.render.renderer import Renderer

        res, sess = self.result, self.session
        w, h = self.size
        n = len(self.cameras)
        live = sess is not None and sess.live
        animate = sess is not None and (sess.live or sess.pulse)
        self._encode_error = None
        writer = encoder = bar = None
        work: queue.Queue = queue.Queue(maxsize=self.depth)
        free: queue.Queue = queue.Queue()
        for _ in range(self.depth + 3):
            free.put(np.empty((h, w, 3), np.uint8))
        pool = ThreadPoolExecutor(1, thread_name_prefix="neuroscape-forward") if live else None
        t_start = time.perf_counter()
        top = None                              # start of the current frame in the main loop
        signals = _Signals(self._stop)
        with OffscreenContext(), signals:
            r = reader = None
            try:
                r = Renderer(self.scene, self.size, samples=self.samples)
                r.replay(self.before)
                res.gl = gl_info()
                reader = PboReader(r, slots=2)
                if self.path is not None:
                    from engine.record.video import VideoWriter
                    writer = VideoWriter(self.path, self.size, self.fps, bottom_up=True, **self.writer_options)
                    res.encoder = dict(getattr(writer, "settings", {"format": "gif"}))
                if self.progress:
                    from tqdm import tqdm
                    name = self.path.name if self.path is not None else "render only"
                    bar = tqdm(total=n, desc=f"recording {name}", unit="frame", file=sys.stderr, mininterval=0.5,
                               dynamic_ncols=True)
                encoder = threading.Thread(target=self._encode_loop, args=(writer, work, free, bar),
                                           name="neuroscape-encode", daemon=True)
                encoder.start()
                g0 = self.first
                step = (getattr(sess, "next_frame", None) or sess.compute) if live else None   # None back: held input
                fut = pool.submit(step, g0 or 1) if live and (n > 1 or g0 > 0) else None
                fps_t, fps_n, run_fps = time.perf_counter(), 0, 0.0
                res.setup_s = time.perf_counter() - t_start
                t_loop = time.perf_counter()
                for i, cam in enumerate(self.cameras):
                    gi = g0 + i                    # the frame's number in the whole path
                    if self._stop.is_set():
                        break
                    now = time.perf_counter()
                    if top is not None:        # a frame's time: from its start to the next one's
                        res.times["frame_s"].append(now - top)
                    top = now
                    fwd = up = 0.0
                    if animate and gi > 0:
                        if live:
                            frame = fut.result()
                            fwd = float(sum((frame.seconds or {}).values())) if frame is not None else 0.0
                            fut = pool.submit(step, gi + 1) if i + 1 < n else None
                        else:
                            frame = sess.last
                        failed = getattr(frame, "error", None)
                        if failed is not None:
                            res.model_errors += 1
                            res.first_model_error = res.first_model_error or f"frame {gi + 1}: {failed}"
                        tu = time.perf_counter()
                        if frame is not None:            # None: the input of the frame before, values shown
                            sess.apply(frame, gi, renderer=r)
                        up = time.perf_counter() - tu
                    lines = [f"{self.title}", f"layer: {focus_layer(self.scene, cam)}",
                             f"frame {gi + 1}/{self.total}   {run_fps:.1f} fps"] if self.hud else []
                    if sess is not None and hasattr(sess, "hud"):      # a session with text of its own
                        lines += sess.hud()
                    guess = sess.prediction() if self.hud and hasattr(sess, "prediction") else None
                    if guess:
                        lines.append(f"input: {sess.label}   {guess}")
                    if self.hud and res.model_errors:
                        lines.append(f"model failed on {res.model_errors} frame(s), the last good one shown: "
                                     f"{res.first_model_error}")
                    if lines:
                        r.set_hud(lines)
                    t1 = time.perf_counter()
                    r.draw(cam)
                    reader.start()
                    t2 = time.perf_counter()
                    rb = 0.0
                    if reader.pending >= reader.slots:
                        rb = self._collect(reader, free, work)
                    res.times["forward_s"].append(fwd)
                    res.times["upload_s"].append(up)
                    res.times["render_s"].append(t2 - t1)
                    res.times["readback_s"].append(rb)
                    fps_n += 1
                    if t2 - fps_t >= 1.0:
                        run_fps, fps_t, fps_n = fps_n / (t2 - fps_t), t2, 0
                if top is not None:
                    res.times["frame_s"].append(time.perf_counter() - top)
                while reader.pending and self._encode_error is None:
                    self._collect(reader, free, work)
            except BaseException as e:
                res.error = res.error or f"{type(e).__name__}: {e}"
                raise
            finally:
                if encoder is not None:
                    work.put(None)
                    encoder.join()
                if pool is not None:
                    pool.shutdown(wait=True, cancel_futures=True)
                if bar is not None:
                    bar.close()
                if writer is not None:
                    try:
                        writer.close()
                    except BaseException as e:
                        self._encode_error = self._encode_error or e
                if top is not None:            # first frame started -> file complete
                    res.wall_s = time.perf_counter() - t_loop
                if reader is not None:
                    reader.release()
                if r is not None:
                    r.release()
                res.stopped_by = signals.by
                if self._encode_error is not None and res.error is None:
                    res.error = str(self._encode_error)
                res.complete = res.frames == n and res.error is None and signals.by is None \
                    and not res.model_errors
        if self._encode_error is not None:
            raise self._encode_error
        return res

    def _collect(self, reader, free: queue.Queue, work: queue.Queue) -> float:
        buf = free.get()                 # waits while the encoder is behind (back-pressure)
        t = time.perf_counter()
        reader.collect(buf)
        dt = time.perf_counter() - t
        self._hand_over(buf, work)
        return dt
