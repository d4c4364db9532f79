"""Live activations: an input source feeds a probe every frame; frames go to the scene's slabs
(plain data) and to a renderer's textures. A worker thread keeps the forward pass off the render
loop, so flying stays smooth while the model runs (torch releases the GIL)."""
from __future__ import annotations

import queue
import threading
import time
from typing import Callable

import numpy as np

from engine.compute.probe import Frame, LiveProbe
from engine.scene.nodes import Scene


class LiveSession:
    """Model + probe + input source for one scene. ``pulse`` reveals the layers rank by rank."""

    def __init__(self, model, graph, scene: Scene, source, *, live: bool = False, norm: str = "layer",
                 log: bool = False, pulse: bool = False, pulse_hold: int = 12, ring: int = 1) -> None:
        self.scene, self.source, self.live, self.pulse, self.pulse_hold = scene, source, live, pulse, pulse_hold
        self.probe = LiveProbe(model, graph, [s.layer_id for s in scene.slabs], norm=norm, log=log, ring=ring)
        self.max_rank = max((s.rank for s in scene.slabs), default=0)
        # recurrent states (time x hidden): in pulse mode their steps are revealed one after another
        self.time_rows = {l.id: (int(l.shape[1]), int(l.shape[2])) for l in graph.layers
                          if l.op == "rnn_state" and len(l.shape) == 3}
        self.last: Frame | None = None
        self.label = ""
        self.item: int | None = None     # set: every frame shows this item of the source (a picked point)
        out = graph.layers[-1] if graph.layers else None      # a classifier's scores: the HUD's prediction
        self.output_id = out.id if out is not None and out.kind != "input" and len(out.shape) == 2 \
            and 2 <= int(out.shape[1]) <= 1000 else None
        self.categories: list[str] | None = None              # class names, where the model has them
        self.computed_key: tuple | None = None                # input_key of the last frame computed

    def compute(self, t: int) -> Frame:
        """Run the model on the input for animation frame ``t``."""
        key = self.input_key(t)
        item = self.item
        if item is not None and hasattr(self.source, "get"):
            frame = self.probe.run(self.source.get(item))
            self.label = self.source.describe(item)
        else:
            frame = self.probe.run(self.source.frame(t, self.live))
            self.label = self.source.describe_frame(t, self.live) if hasattr(self.source, "describe_frame") else ""
        self.computed_key = key if frame.error is None else None
        return frame

    def input_key(self, t: int) -> tuple | None:
        """Which input frame ``t`` feeds the model when it is one of a list (an item held for several
        frames, a picked point, a still input): frames of one key get the same values. None when every
        frame differs (a perturbed single input) or shows something else (pulse mode reveals ranks)."""
        if self.pulse:
            return None
        if self.item is not None:
            return ("item", int(self.item))
        if not self.live:
            return ("still",)
        index = getattr(self.source, "index", None)
        if index is not None and hasattr(self.source, "__len__") and len(self.source) > 1:
            return ("index", int(index(t, True)))
        return None

    def unchanged(self, t: int) -> bool:
        """Frame ``t`` would show the values of the last frame computed (its input is the same one)."""
        key = self.input_key(t)
        return key is not None and key == self.computed_key

    def next_frame(self, t: int) -> Frame | None:
        """compute(t), or None when frame ``t`` has the input last computed: the values shown stay."""
        return None if self.unchanged(t) else self.compute(t)

    def top_classes(self, k: int = 5) -> list[tuple[int, str, float]]:
        """(class, name, probability) of the ``k`` likeliest classes of a classifier's output in the last
        frame, by softmax of its values as the model made them (decoded like every shown layer's)."""
        if self.output_id is None or self.last is None or self.output_id not in self.last.layers:
            return []
        from engine.compute.unmosaic import SceneValues
        try:
            v = np.asarray(SceneValues(self.scene, self)[self.output_id], np.float64).reshape(-1)
        except KeyError:
            return []
        if not len(v) or not np.isfinite(v).all():
            return []
        p = np.exp(v - v.max())
        p /= p.sum()
        names = self.categories or []
        return [(int(c), names[c] if c < len(names) else str(int(c)), float(p[c])) for c in np.argsort(-p)[:k]]

    def prediction(self) -> str | None:
        """"prediction: NAME (p)" -- the top class of a classifier's output in the last frame."""
        top = self.top_classes(1)
        return f"prediction: {top[0][1]} ({top[0][2]:.0%})" if top else None

    def reveal_rank(self, t: int) -> int | None:
        """Highest rank shown at frame ``t`` in pulse mode (None: all)."""
        if not self.pulse:
            return None
        period = self.max_rank + 1 + self.pulse_hold
        return min(t % period, self.max_rank)

    def steps_shown(self, layer_id: int, rank: int, t: int) -> int | None:
        """Pulse mode: how many time steps of a recurrent state layer frame ``t`` shows (they appear
        one after another once the pulse reaches the layer, over pulse_hold frames); None: all."""
        rows = self.time_rows.get(layer_id)
        if not self.pulse or rows is None:
            return None
        phase = t % (self.max_rank + 1 + self.pulse_hold) - rank
        steps = rows[0]
        return int(np.clip(np.ceil((phase + 1) * steps / max(1, self.pulse_hold)), 0, steps))

    def apply(self, frame: Frame, t: int = 0, renderer=None) -> None:
        """Write a frame into the scene's slabs and, if given, the renderer's textures. Layers
        beyond the pulse front get scale 0 (their colormap's zero) until the pulse reaches them;
        a recurrent state's steps then appear one after another (the signal stepping through time)."""
        if frame.error is None:
            self.last = frame
        frame = self.last or frame
        reveal = self.reveal_rank(t)
        for s in self.scene.slabs:
            lf = frame.layers.get(s.layer_id)
            if lf is None or lf.values is None or lf.values.size != s.count:
                continue           # e.g. an empty output (its slab shows one padding texel)
            scale = lf.scale if reveal is None or s.rank <= reveal else 0.0
            values = lf.values
            shown = self.steps_shown(s.layer_id, s.rank, t)
            if shown is not None and shown < self.time_rows[s.layer_id][0]:
                values = values.copy()
                values[shown * self.time_rows[s.layer_id][1]:] = 0
            if renderer is not None:
                renderer.set_signed(s.layer_id, lf.signed, lf.log)
                renderer.attach_values(s.layer_id, values, scale)
            else:
                s.values, s.scale, s.signed = values, scale, lf.signed

    def first_frame(self) -> Frame:
        """Compute frame 0 and write it into the scene (before any renderer exists)."""
        f = self.compute(0)
        self.apply(f, 0)
        for s in self.scene.slabs:   # the scene owns plain float32 copies, not the probe's buffers
            if s.values is not None:
                s.values = np.array(s.values, dtype=np.float32)
        return f

    def close(self) -> None:
        """Stop the probe's helper thread and restore modules it switched out of place."""
        self.probe.close()


class ProbeWorker:
    """Computes frames in a background thread; the render loop takes the newest when it is ready.
    Frames are numbered from ``start`` one after another, each computed once the previous was taken;
    or, with ``clock``, the number it gives now (a live input following wall time), the newest frame
    replacing one not yet taken, and none computed while nobody took one for IDLE_S. A frame whose
    input is the one already computed (an item held for several frames) is not run: in order it comes
    as ``(t, None)`` (the values shown stay), by the clock it is left out."""

    IDLE_S = 2.0

    def __init__(self, session: LiveSession, start: int = 0, clock: Callable[[], int] | None = None) -> None:
        self.session = session
        self.out: queue.Queue = queue.Queue(maxsize=1)
        self.t = start
        self.clock = clock
        self._taken = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="neuroscape-probe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        done = None
        while not self._stop.is_set():
            if self.clock is not None:
                t = self.clock()
                if t == done or time.monotonic() - self._taken > self.IDLE_S:
                    self._stop.wait(0.005)
                    continue
                self.t = t
            frame = getattr(self.session, "next_frame", self.session.compute)(self.t)
            done = self.t
            if self.clock is not None:
                if frame is None:           # nothing new: a frame not yet taken stays the newest
                    continue
                try:                        # the newest wins; this thread alone puts
                    self.out.get_nowait()
                except queue.Empty:
                    pass
                self.out.put_nowait((self.t, frame))
            else:
                while not self._stop.is_set():
                    try:
                        self.out.put((self.t, frame), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                self.t += 1
            if not self.session.live and not self.session.pulse:
                return            # a still input: one frame is all there is

    def take(self) -> tuple[int, Frame | None] | None:
        self._taken = time.monotonic()
        try:
            return self.out.get_nowait()
        except queue.Empty:
            return None

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
