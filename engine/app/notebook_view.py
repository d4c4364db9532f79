"""What a notebook widget shows, without the widget: one offscreen GL context and renderer kept for
the view's life (a context per frame would cost more than the frame), frames on demand, and the
browser's events (jupyter_rfb's plain dicts) turned into the viewer's camera controls, picks, live
inputs and playground keys. No Jupyter import here, so tests drive it directly."""
from __future__ import annotations

import time

import numpy as np

from engine.app.controls import CameraController
from engine.errors import NeuroscapeError
from engine.scene.camera import Camera
from engine.scene.nodes import Scene
from engine.scene.pick import framing_position, pick

LIVE_FPS = 30          # live input frames per second of wall time (an input of a list is held 30 of them)
MAX_DT = 0.1           # seconds: a slow frame moves the camera no more than this
CLICK_SLOP_PX = 4      # a press that moves less than this is a click (pick), else a drag (orbit)
WHEEL_NOTCH = 100.0    # the browser's wheel pixels per notch of CameraController.scroll
FIELD_EVERY_S = 0.5    # the playground re-evaluates its field this often while training (as its window)
MODEL_KEYS = ("drag orbit  wheel zoom  WASD/QE fly  Shift fast  H home  click pick  double-click fly to  "
              "L labels  G edges")
WINDOW_ONLY = {"M", "P", "F1", "F11", "Esc"}     # playground keys of its window that a notebook has no use for
KEYS_MIN_HEIGHT = 600  # px: a smaller frame lists the playground's keys in the caption instead of its HUD


class NotebookView:
    """A scene (with an optional live session) or a playground session, drawn offscreen at ``size``.

    ``frame()`` draws the next frame (stepping live inputs by wall time and the playground's training)
    and returns it as (H, W, 3) uint8; ``handle(event)`` takes one jupyter_rfb event dict and returns
    True when the picture changed. Call ``close()`` to free the GL context."""

    def __init__(self, scene: Scene | None = None, size: tuple[int, int] = (960, 540), *, session=None,
                 playground=None, samples: int | None = None) -> None:
        from engine.render.context import OffscreenContext
        if (scene is None) == (playground is None):
            raise NeuroscapeError("NotebookView shows a scene or a playground session: pass exactly one")
        self.session, self.playground = session, playground
        self.size = self.logical = (int(size[0]), int(size[1]))   # pixels drawn / event coordinates
        self.status = ""
        self.key_hints = ""                                         # the playground's, for the caption
        self.live_t = 0
        self.worker = None                                          # the widget's forward passes (ProbeWorker)
        self._scene, self.stage, self.renderer = scene, None, None
        self._drag: tuple[float, float] | None = None
        self._press: tuple[float, float] = (0.0, 0.0)
        self._moved = False
        self.context = OffscreenContext()
        try:
            self._build(samples)
        except BaseException:
            self.close()
            raise
        self._start = self._last = time.perf_counter()

    def _build(self, samples: int | None) -> None:
        if self.playground is not None:
            from engine.compute.curves import curves_image
            from engine.render.playground_stage import PlaygroundStage
            st = self.stage = PlaygroundStage(self.playground, self.size, samples=samples)
            st.field_every = FIELD_EVERY_S
            st.curves = curves_image
            self.renderer = st.renderer
            lo, hi = st.scene.bbox
            self.controls = CameraController(st.camera, float(np.linalg.norm(hi - lo)), target=st.look_target)
            self.controls.toggle_orbit(st.look_target)
            self._framings = st.framings
            self._key_hints()
        else:
            from engine.render.renderer import Renderer
            sc = self._scene
            self.renderer = Renderer(sc, self.size, samples=samples)
            if self.session is not None and (self.session.live or self.session.pulse):
                self.renderer.far_budget = 0.03      # as the viewer: far pyramids of live layers in slices
            lo, hi = sc.bbox
            extent = float(np.linalg.norm(hi - lo))
            cam = sc.camera
            # orbit around the point the opening view looks at, as far away as the scene's centre
            reach = max(float(np.linalg.norm((lo + hi) / 2 - cam.position)), 1e-3)
            self.controls = CameraController(cam, extent, target=cam.position + cam.forward * reach)
            self.controls.mode = "orbit"
            centers = np.array([s.center for s in sc.slabs], np.float64).reshape(-1, 3)
            if len(centers):                         # fly slower near layers, as the viewer
                self.controls.nearest = lambda p: float(np.sqrt(((centers - p) ** 2).sum(axis=1)).min())
        cam = self.camera
        self.home = (cam.position.copy(), self.controls.target.copy())

    # ------------------------------------------------------------------ state
    @property
    def scene(self) -> Scene:
        return self.stage.scene if self.stage is not None else self._scene

    @property
    def camera(self) -> Camera:
        return self.stage.camera if self.stage is not None else self._scene.camera

    @property
    def animating(self) -> bool:
        """True while frames keep changing by themselves (keys held, a flight, live inputs, training)."""
        c = self.controls
        if c.held or c.flying:
            return True
        if self.stage is not None:
            return not self.stage.paused
        s = self.session
        return s is not None and bool(s.live or s.pulse)

    def caption(self) -> str:
        """One line for the widget's title bar: what is shown, the live input, the last pick or key."""
        if self.stage is not None:
            tr = self.playground.trainer
            head = f"playground  step {tr.steps}" + (
                f"  test accuracy {tr.last.test_acc:.0%}" if tr.last is not None else "")
        else:
            head = self.scene.title
            s = self.session
            if s is not None:
                head += f"  |  input: {s.label}"
                guess = s.prediction() if hasattr(s, "prediction") else None
                if guess:
                    head += f"  {guess}"
        if self.stage is None:
            return f"{head}  |  {self.status or MODEL_KEYS}"
        hint = self.status or ("" if self.stage.keys else self.key_hints)
        return f"{head}  |  {hint}" if hint else head

    # ------------------------------------------------------------------ frames
    def frame(self, at: float | None = None) -> np.ndarray:
        """Advance to ``at`` seconds after the view opened (None: now by the clock; fixed steps make
        videos and tests repeatable) and draw."""
        now = time.perf_counter() if at is None else self._start + float(at)
        dt = min(max(now - self._last, 0.0), MAX_DT)
        self._last = now
        if self.context is None:
            raise NeuroscapeError("this view was closed: call engine.show(...) again for a new one")
        self.context.make_current()
        self.controls.update(dt)
        if self.stage is not None:
            st = self.stage
            st.frame()
            if st.framings != self._framings:       # re-framed (a new layer, U): orbit around that, as the window
                self._framings, self.controls.target = st.framings, st.look_target
            st.draw()
        else:
            self._step_live(now, at is None)
            self.renderer.draw(self.camera)
        return self.renderer.read_pixels()

    def _step_live(self, now: float, by_clock: bool) -> None:
        """Live inputs follow wall time (LIVE_FPS), whatever the frame rate: the newest frame only. By
        the clock (the widget) the forward passes run in a thread, as in the viewer, so a big model
        slows its values, not the widget; at given times (videos, tests) each frame is computed here."""
        s = self.session
        if s is None or not (s.live or s.pulse):
            return
        if by_clock:
            if self.worker is None:
                from engine.compute.live import ProbeWorker
                self.worker = ProbeWorker(s, clock=lambda: int((time.perf_counter() - self._start) * LIVE_FPS))
            got = self.worker.take()
            if got is None:
                return
            t, frame = got
        else:
            self._stop_worker()
            t = int((now - self._start) * LIVE_FPS)
            if t == self.live_t:
                return
            frame = getattr(s, "next_frame", s.compute)(t)
        self.live_t = t
        if frame is None:                        # the input of the frame shown (a held item): values stay
            return
        if frame.error is not None:
            self.status = f"model error: {frame.error}"
        s.apply(frame, t, renderer=self.renderer)

    def _stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def resize(self, logical: tuple[float, float], pixels: tuple[int, int] | None = None) -> None:
        """The widget's new size: ``logical`` (event coordinates), ``pixels`` drawn (default: logical),
        clamped to what this GL can render; software GL draws logical pixels (a 2x screen would cost 4x)."""
        lw, lh = max(1.0, float(logical[0])), max(1.0, float(logical[1]))
        pw, ph = pixels if pixels is not None and not self.renderer.software else (lw, lh)
        limit = self.renderer.targets.max_texture
        size = (int(min(max(1, round(pw)), limit)), int(min(max(1, round(ph)), limit)))
        self.logical = (lw, lh)
        if size != self.size:
            self.context.make_current()
            self.renderer.resize(size)
            self.size = size
            if self.stage is not None:
                self._key_hints()

    def _key_hints(self) -> None:
        """The playground's keys that work here, wrapped to the frame's width at the bottom of its HUD in a
        frame 600 px tall or more (as the viewer's F1 hints), else in the caption."""
        from engine.app.keys import PLAYGROUND_KEYS, hud_key_lines, key_hint_lines
        keys = tuple(k for k in PLAYGROUND_KEYS if k[0] not in WINDOW_ONLY)
        self.key_hints = key_hint_lines(10 ** 6, keys)[0]
        tall = self.size[1] >= KEYS_MIN_HEIGHT           # else they would crowd the picture: the title bar has them
        self.stage.keys = hud_key_lines(self.size, keys) if tall else None

    # ------------------------------------------------------------------ events
    def handle(self, event: dict) -> bool:
        """One jupyter_rfb event (``type``: resize, pointer_down/move/up, double_click, wheel,
        key_down/up); True when the picture changes."""
        kind = event.get("type") or event.get("event_type")
        mods = tuple(event.get("modifiers") or ())
        if kind == "resize":
            pw, ph = event.get("pwidth"), event.get("pheight")
            ratio = float(event.get("ratio") or event.get("pixel_ratio") or 1.0)
            w, h = float(event["width"]), float(event["height"])
            self.resize((w, h), (pw, ph) if pw and ph else (w * ratio, h * ratio))
            return True
        if kind == "pointer_down" and event.get("button", 1) == 1:
            self._drag = self._press = (float(event["x"]), float(event["y"]))
            self._moved = False
            return False
        if kind == "pointer_move":
            return self._pointer_move(float(event["x"]), float(event["y"]))
        if kind == "pointer_up":
            clicked = self._drag is not None and not self._moved
            self._drag = None
            return self._click(float(event["x"]), float(event["y"]), double=False) if clicked else False
        if kind == "double_click":
            return self._click(float(event["x"]), float(event["y"]), double=True)
        if kind == "wheel":
            self.controls.scroll(-float(event.get("dy", 0.0)) / WHEEL_NOTCH)
            return True
        if kind in ("key_down", "key_up"):
            return self._key(str(event.get("key", "")), kind == "key_down", "Shift" in mods)
        return False

    def _pointer_move(self, x: float, y: float) -> bool:
        if self._drag is None:
            if self.stage is not None:               # the playground probes the point under the pointer
                o, d = self.camera.ray(x, y, self.logical)
                point = self.stage.pick(o, d)
                if point is not None:
                    self.stage.point = point
                    return True
            return False
        if abs(x - self._press[0]) + abs(y - self._press[1]) > CLICK_SLOP_PX:
            self._moved = True
        if not self._moved:
            return False
        self.controls.drag(x - self._drag[0], y - self._drag[1])
        self._drag = (x, y)
        return True

    def _click(self, x: float, y: float, double: bool) -> bool:
        """Pick the layer and neuron under (x, y) into ``status``; a double click flies to the layer."""
        if self.stage is not None:
            return False
        o, d = self.camera.ray(x, y, self.logical)
        hit = pick(self.scene, o, d)
        if hit is None:
            self.status = "nothing here"
            return True
        if hit.slab is None:                          # a point of a cloud
            self.status = hit.describe()
            return True
        self.status = hit.describe(self._value(hit))
        if double:
            s, cam = hit.slab, self.camera
            dest = framing_position(s, cam.fov, self.logical[0] / self.logical[1], cam.position)
            self.controls.fly_to(dest, s.center)
            self.status = f"flying to {s.name}: {self.status}"
        return True

    def _value(self, hit) -> float | None:
        """The picked neuron's value now (the live frame's, else the scene's), as the viewer reads it."""
        from engine.app.inspector import Inspector
        return Inspector(self.scene, session=self.session).value_of(hit)

    def _key(self, key: str, down: bool, shift: bool) -> bool:
        name = " " if key == " " else key.lower()
        c = self.controls
        c.fast = shift or (name == "shift" and down)
        if name in ("w", "a", "s", "d", "q", "e"):
            c.key(name, down)
            return down
        if not down:
            return False
        if self.stage is not None:
            return self._playground_key(name, shift)
        if name == "h":
            c.fly_to(*self.home)
            self.status = "home"
        elif name == "l":
            self.scene.show_labels = not self.scene.show_labels
            self.status = f"labels {'on' if self.scene.show_labels else 'off'}"
        elif name == "g":
            self.scene.show_edges = not self.scene.show_edges
            self.status = f"edges {'on' if self.scene.show_edges else 'off'}"
        else:
            return False
        return True

    def _playground_key(self, name: str, shift: bool) -> bool:
        """The playground window's keys (engine/app/playground.py apply_key), Space named as there."""
        from engine.app.playground import apply_key
        name = "space" if name == " " else name
        if name not in ("space", "[", "]", ";", "'", "b", "z", "x", "t", "f", "n", "y", "r", "c", "h", "u"):
            return False
        self.context.make_current()                  # a key may rebuild the network's GL resources
        self.stage.field_due = True
        try:
            self.stage.status = self.status = apply_key(self.playground, self.stage, name, shift)
        except NeuroscapeError as e:
            self.stage.status = self.status = f"cannot: {e}"
        return True

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        """Free the renderer and the GL context (idempotent); a live session gives its modules back."""
        ctx, self.context = getattr(self, "context", None), None
        if ctx is None:
            return
        self._stop_worker()
        try:
            if ctx.context is not None:
                ctx.make_current()
                if self.stage is not None:
                    self.stage.release()
                elif self.renderer is not None:
                    self.renderer.release()
        finally:
            ctx.release()
            if self.session is not None:
                self.session.close()


__all__ = ["NotebookView", "MODEL_KEYS"]
