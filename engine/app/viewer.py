"""The fullscreen fly-through viewer: window, input, fly camera, picking, HUD, screenshots."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from engine.app.controls import CameraController
from engine.app.keys import hud_key_lines
from engine.app.window import Window
from engine.scene.nodes import Scene
from engine.scene.overview import OverviewStrip
from engine.scene.pick import Pick, framing_position, pick

DOUBLE_CLICK_S = 0.35
CLICK_SLOP_PX = 4
GENERATE_SECONDS_PER_TOKEN = 0.4   # --generate in the viewer
FAR_BUDGET_S = 0.03     # per frame, rebuilding far pyramids of live layers (see Renderer.far_budget)
NOTICE_S = 5.0          # a passing message (saved, mode changed, arrived) leaves the HUD after this long


def nothing_in_view(lod: dict[int, str]) -> bool:
    """Every layer outside the picture (flown or turned away from the network): the HUD offers home."""
    return bool(lod) and all(mode == "cull" for mode in lod.values())


class Viewer:
    def __init__(self, scene: Scene, *, fullscreen: bool = True, size: tuple[int, int] | None = None,
                 screenshot_dir: str | Path = ".", samples: int | None = None, session=None,
                 model=None, graph=None, path_out: str | Path | None = None, scene_source: str | None = None,
                 notes: list[str] | None = None, example=None, categories: list[str] | None = None,
                 on_point=None, keys: dict | None = None, input_spec: str | None = None,
                 window: Window | None = None) -> None:
        from engine.scene.path import PathBuilder
        from engine.render.renderer import Renderer

        self.scene = scene
        self.window = window or Window(f"Neuroscape - {scene.title}", size=size, fullscreen=fullscreen)
        self.window.glfw.set_window_title(self.window.handle, f"Neuroscape - {scene.title}")
        self.renderer = Renderer(scene, self.window.framebuffer_size, samples=samples)
        lo, hi = scene.bbox
        self.controls = CameraController(scene.camera, float(np.linalg.norm(hi - lo)), target=(lo + hi) / 2)
        centers = np.array([sl.center for sl in scene.slabs], np.float64).reshape(-1, 3)
        if len(centers):                # fly slower near layers: a tap moves a sensible step anywhere
            self.controls.nearest = lambda p: float(np.sqrt(((centers - p) ** 2).sum(axis=1)).min())
        cam = scene.camera                                # H flies back here
        self.home = (cam.position.copy(), cam.position + cam.forward * max(float(np.linalg.norm(hi - lo)), 1.0))
        # F1: the key hints at the bottom of the HUD; off at first in a small window, where they would crowd it
        self.show_keys = self.window.framebuffer_size[1] >= 600
        self.strip = OverviewStrip(scene)        # V: every layer in data-flow order, you-are-here, click to fly
        self.show_strip = len(self.strip) >= 2
        self._strip_state = None
        self._here: int | None = None            # the layer you are at this frame (strip order)
        self._flown: int | None = None          # the layer flown to (strip order), the strip's mark until you move
        self.screenshot_dir = Path(screenshot_dir)
        self.path_keys = PathBuilder(scene, out=path_out, base=scene_source,  # K adds, J saves (with the input)
                                     input_spec=input_spec)
        self.picked: Pick | None = None
        self.status = ""
        self._notice: tuple[str, float] | None = None   # (message, when it goes)
        self.frames = 0
        self.fps = 0.0
        self.screenshots: list[Path] = []
        self._dragging = False
        self._press_pos = (0.0, 0.0)
        self._last_pos = (0.0, 0.0)
        self._moved = False
        self._last_click = -1.0
        self.session = session
        self.notes = list(notes or [])          # lines the HUD always shows (e.g. what --explain explains)
        self.on_point = on_point                # a click on a cloud's point: (pick) -> text for the status line
        self.keys = dict(keys or {})            # glfw key name ("COMMA") -> () -> new HUD notes; values redrawn
        from engine.app.inspector import Inspector
        self.inspector = Inspector(scene, graph, model, session)
        self.explainer = None           # X: attributions (a torch model with weights and an input to explain)
        if self.inspector.available and (session is not None or example is not None):
            from engine.app.explainer import ExplainToggle
            inputs = (lambda: session.source.frame(self.live_t, session.live)) \
                if getattr(session, "source", None) is not None else (lambda: example)
            self.explainer = ExplainToggle(scene, self.inspector.graph, self.inspector.model, inputs, categories)
        self.inspect_lines: list[str] = []
        self.rollout_on = False                  # R: the rollout replaces the pick's inspection until a click
        self._panel = None
        self.worker = None
        self.live_t = 0
        self.model_error: str | None = None
        self.nonfinite = session.last.nonfinite if session is not None and session.last else 0
        if hasattr(session, "seconds_per_step"):     # --generate: tokens paced in time, whatever the fps
            session.seconds_per_step = GENERATE_SECONDS_PER_TOKEN
        if session is not None and (session.live or session.pulse):
            from engine.compute.live import ProbeWorker
            self.worker = ProbeWorker(session, start=1)
            self.renderer.far_budget = FAR_BUDGET_S
        self._install_callbacks()

    # ---- callbacks ---------------------------------------------------------------------
    def _install_callbacks(self) -> None:
        self.window.connect(self)

    def _on_key(self, _w, key, _sc, action, mods) -> None:
        g = self.window.glfw
        down = action != g.RELEASE
        self.controls.fast = bool(mods & g.MOD_SHIFT) if key not in (g.KEY_LEFT_SHIFT, g.KEY_RIGHT_SHIFT) else down
        names = self.window.move_keys()
        if key in names:
            self.controls.key(names[key], down)
        if action != g.PRESS:
            return
        if key == g.KEY_ESCAPE:
            self.window.close()
        elif key == g.KEY_F11:
            self.window.toggle_fullscreen()
        elif key == g.KEY_F1:
            self.show_keys = not self.show_keys
        elif key == g.KEY_V:
            self.show_strip = not self.show_strip
        elif key == g.KEY_H:
            if self.controls.mode == "orbit":
                self.controls.toggle_orbit()
            self.controls.fly_to(*self.home)
            self.status = "flying home"
            self._flown = None
        elif key == g.KEY_P:
            self._screenshot_pending = True
        elif key == g.KEY_O:
            target = self.picked.slab.center if self.picked and self.picked.slab is not None else None
            self.notice(f"{self.controls.toggle_orbit(target)} mode")
        elif key == g.KEY_L:
            self.scene.show_labels = not self.scene.show_labels
        elif key == g.KEY_G:
            self.scene.show_edges = not self.scene.show_edges
        elif key == g.KEY_R:
            self.rollout_on = not self.rollout_on
            self._show_inspection()
        elif any(key == getattr(g, f"KEY_{name}", None) for name in self.keys):
            name = next(n for n in self.keys if key == getattr(g, f"KEY_{n}", None))
            self.notes = list(self.keys[name]())
            self.renderer.show_scene_values()
        elif key == g.KEY_X:
            self.status = self.explainer.cycle() if self.explainer is not None else \
                "X: attribution needs a PyTorch model with weights and an input"
        elif key == g.KEY_K:
            self.notice(self.path_keys.add(self.scene.camera, time.monotonic()))
        elif key == g.KEY_J:
            from engine.errors import NeuroscapeError
            try:
                saved = self.path_keys.save()
                self.notice(f"camera path saved to {saved}")
                print(f"camera path: {saved}", flush=True)
            except NeuroscapeError as e:
                self.status = str(e)

    def _on_button(self, w, button, action, _mods) -> None:
        g = self.window.glfw
        if button != g.MOUSE_BUTTON_LEFT:
            return
        x, y = g.get_cursor_pos(w)
        if action == g.PRESS:
            self._dragging, self._moved = True, False
            self._press_pos = self._last_pos = (x, y)
            return
        self._dragging = False
        if self._moved:
            return
        now = time.monotonic()
        self._click(x, y, double=now - self._last_click < DOUBLE_CLICK_S)
        self._last_click = now

    def _on_cursor(self, _w, x, y) -> None:
        if self._dragging:
            if abs(x - self._press_pos[0]) + abs(y - self._press_pos[1]) > CLICK_SLOP_PX:
                self._moved = True
            if self._moved:
                self.controls.drag(x - self._last_pos[0], y - self._last_pos[1])
        self._last_pos = (x, y)

    def _click(self, x: float, y: float, double: bool) -> None:
        g = self.window.glfw
        win_w, win_h = g.get_window_size(self.window.handle)
        fb = self.window.framebuffer_size
        bar = self.strip.hit(x * fb[0] / max(win_w, 1), y * fb[1] / max(win_h, 1), fb) if self.show_strip else None
        if bar is not None:                      # a bar of the overview strip: fly to that layer
            s = self.strip.slabs[bar]
            dest = framing_position(s, self.scene.camera.fov, fb[0] / fb[1], self.scene.camera.position)
            self.controls.fly_to(dest, s.center)
            self.status = f"flying to {s.name}"
            self._flown = bar
            return
        o, d = self.scene.camera.ray(x, y, (win_w, win_h))
        self.picked = pick(self.scene, o, d)
        self.rollout_on = False
        if self.picked is None:
            self.status = "nothing here"
        elif self.picked.slab is not None:
            self.status = self.picked.describe(self.inspector.value_of(self.picked))
        else:
            self.status = self.picked.describe()
        self._show_inspection()
        if self.picked is not None and self.picked.slab is None:          # a point of a cloud
            if self.on_point is not None:
                self.status += self.on_point(self.picked)
            if double:
                p = self.picked.point
                self.controls.fly_to(p + 0.1 * (self.scene.camera.position - p), p)
            return
        if double and self.picked:
            s = self.picked.slab
            fb = self.window.framebuffer_size
            dest = framing_position(s, self.scene.camera.fov, fb[0] / fb[1], self.scene.camera.position)
            self.controls.fly_to(dest, s.center)
            self.status = f"flying to {s.name}"
            self._flown = self.strip.index_of(s)

    def _highlight(self, positions, weights) -> None:
        """Show a pick's segments (None: clear them); a generating session's row outlines pause meanwhile."""
        if positions is not None:
            self.renderer.set_highlight(positions, weights)
        else:
            self.renderer.clear_highlight()
        if hasattr(self.session, "outlines"):
            self.session.outlines = positions is None

    def _show_inspection(self) -> None:
        """Contributions (HUD lines + highlighted edges) and conv kernels (panel) of the pick."""
        got = self.inspector.rollout(self.picked) if self.rollout_on else self.inspector.inspect(self.picked)
        self.inspect_lines = got.lines
        self._highlight(got.positions if got.positions is not None and len(got.positions) else None, got.weights)
        if got.panel is not self._panel:        # cached per layer: upload only on change
            self._panel = got.panel
            self.renderer.set_panel(got.panel)

    def here(self) -> int | None:
        """The layer you are at (strip order): the one flown to, until the camera is moved by hand."""
        if self._flown is not None and (self.controls.held or self._moved and self._dragging):
            self._flown = None
        if self._flown is not None:
            return self._flown
        cam = self.scene.camera
        return self.strip.nearest(cam.position, cam.forward)

    def _update_strip(self, size: tuple[int, int]) -> None:
        """Where you are (once a frame, for the strip and the HUD); the strip's picture is redrawn only
        when that layer, the window size or V changed."""
        self._here = self.here()
        here = self._here if self.show_strip else None
        state = (self.show_strip, here, tuple(size))
        if state == self._strip_state:
            return
        self._strip_state = state
        self.renderer.set_strip(self.strip.image(size, here) if self.show_strip else None, self.strip.rect(size))

    def notice(self, message: str) -> None:
        """A status line that clears itself (a pick's description stays until the next click)."""
        self.status = message
        self._notice = (message, time.monotonic() + NOTICE_S)

    # ---- loop --------------------------------------------------------------------------
    def screenshot(self) -> Path:
        from engine.render.png import save_png

        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        path = self.screenshot_dir / f"neuroscape-{time.strftime('%Y%m%d-%H%M%S')}-{len(self.screenshots):03d}.png"
        save_png(self.renderer.read_pixels(), path)
        self.screenshots.append(path)
        self.notice(f"saved {path}")
        print(f"screenshot: {path}", flush=True)
        return path

    def hud_lines(self) -> list[str]:
        s = self.scene
        c = self.controls
        pos = ", ".join(f"{v:.1f}" for v in s.camera.position)
        lines = [f"{s.title}   {self.fps:5.1f} fps   {len(s.slabs)} layers   {s.neuron_count:,} neurons   "
                 f"{s.edge_count:,} edges",
                 f"{c.mode}  speed {c.speed:.2f}/s  camera ({pos})   labels {'on' if s.show_labels else 'off'}   "
                 f"edges {'on' if s.show_edges else 'off'}" + (f"   at {self.strip.name(self._here)}"
                                                                 if self._here is not None else ""), *([self.status] if self.status else []), *self.notes]
        if self.explainer is not None:
            lines.extend(self.explainer.lines)
        if self.session is not None:
            ss = self.session
            live = f"input: {ss.label}   frame {self.live_t}"
            guess = ss.prediction() if hasattr(ss, "prediction") else None
            if guess:
                live += f"   {guess}"
            if ss.last is not None and ss.last.seconds:
                live += f"   forward {ss.last.seconds.get('forward', 0) * 1e3:.0f} ms"
            lines.append(live)
            if hasattr(ss, "hud"):              # a session with text of its own (--generate)
                lines.extend(ss.hud())
        if self.nonfinite:
            lines.append(f"WARNING: {self.nonfinite:,} NaN/Inf activations (magenta)")
        lines.extend(self.inspect_lines)
        if self.model_error:
            lines.append(f"MODEL ERROR: {self.model_error}")
        if self.frames and nothing_in_view(self.renderer.last_lod):
            lines.append("nothing in view: H flies home")
        if self.show_keys:
            lines.extend(hud_key_lines(self.window.framebuffer_size))
        else:
            lines.append("F1 keys")
        return lines

    def _poll_live(self) -> None:
        """Push the newest computed frame into the textures (the forward pass runs in a thread)."""
        got = self.worker.take() if self.worker else None
        if got is None:
            return
        t, frame = got
        self.live_t = t
        if frame is None:                        # the same input as the frame shown: its values stay
            return
        self.model_error = frame.error
        if frame.error is None:
            self.nonfinite = frame.nonfinite
        self.session.apply(frame, t, renderer=self.renderer)
        if (self.picked is not None or self.rollout_on) and frame.error is None:
            self._show_inspection()              # the pick's inspection (or the rollout) follows the live values
            p = self.picked
            if p is not None and p.slab is not None and self.status.startswith(p.slab.label):
                self.status = p.describe(self.inspector.value_of(p))       # and its one value with them

    def run(self, max_seconds: float | None = None, max_frames: int | None = None) -> int:
        """Run until Esc (or the limits, for tests). Returns the number of frames drawn."""
        self._screenshot_pending = False
        hud = None
        try:
            for size, self.fps in self.window.frames(self.controls, self.renderer, max_seconds, max_frames):
                if self.explainer is None or not self.explainer.active:
                    self._poll_live()              # (an attribution on screen holds the live frames)
                if self.explainer is not None:
                    status = self.explainer.poll(self.renderer)
                    self.status = status or self.status
                if self.status.startswith("flying") and not self.controls.flying:
                    self.notice(self.status.replace("flying home", "home").replace("flying to ", "at "))
                if self._notice is not None and self._notice[1] < time.monotonic():
                    if self.status == self._notice[0]:
                        self.status = ""
                    self._notice = None
                self._update_strip(size)
                lines = self.hud_lines()
                if lines != hud:
                    self.renderer.set_hud(lines)
                    hud = lines
                self.renderer.draw(self.scene.camera)
                if self._screenshot_pending:
                    self._screenshot_pending = False
                    self.screenshot()
                self.renderer.draw_to(0, size)
                self.frames += 1
        finally:
            if self.worker is not None:
                self.worker.stop()
            if self.session is not None:
                self.session.close()
            self.renderer.release()
            self.window.destroy()
        return self.frames
