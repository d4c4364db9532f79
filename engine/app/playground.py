"""`neuroscape playground`: a classifier trains live in a window while the decision field, the data
and the network (with the activations of the point under the cursor) are drawn side by side."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from engine.app.controls import CameraController
from engine.app.keys import PLAYGROUND_KEYS, hud_key_lines
from engine.render.passes.field import FieldPass
from engine.render.playground_stage import PlaygroundStage
from engine.app.window import Window
from engine.errors import NeuroscapeError

ACTIVATION_CYCLE = ("tanh", "relu", "sigmoid", "linear", "leaky_relu", "gelu")
BATCHES = (1, 4, 8, 16, 32, 64, 128)
SPLITS = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
L2S = (0.0, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1)


def _next(seq, current, step: int = 1):
    """The element after ``current`` in ``seq`` (nearest match), wrapping around."""
    i = int(np.argmin([abs(float(s) - float(current)) if not isinstance(s, str) else s != current for s in seq]))
    return seq[(i + step) % len(seq)]


def apply_key(session, stage, key: str, shift: bool = False) -> str:
    """Change one parameter for key name ``key`` (window-free, so tests drive it); returns the status."""
    s, c = session, session.config
    tr = s.trainer
    if key == "space":
        stage.paused = not stage.paused
        return "paused" if stage.paused else "training"
    if key == "]":
        s.set_lr(min(tr.lr * 2, 10.0))
    elif key == "[":
        s.set_lr(max(tr.lr / 2, 1e-5))
    elif key == "'":
        s.set_l2(_next(L2S, tr.l2, 1) if tr.l2 < L2S[-1] else tr.l2)
    elif key == ";":
        s.set_l2(_next(L2S, tr.l2, -1) if tr.l2 > 0 else 0.0)
    elif key == "b":
        s.set_batch(min(_next(BATCHES, tr.batch, -1 if shift else 1), len(tr.x_train)))
    elif key == "x":
        s.set_noise(min(round(c.noise + 0.05, 2), 1.0))
    elif key == "z":
        s.set_noise(max(round(c.noise - 0.05, 2), 0.0))
    elif key == "t":
        s.set_split(_next(SPLITS, tr.split, -1 if shift else 1))
    elif key == "f":
        s.set_activation(_next(ACTIVATION_CYCLE, c.activation, 1))
    elif key == "n":
        (s.remove_neurons if shift else s.add_neurons)(1)
    elif key == "y":
        (s.remove_layer if shift else s.add_layer)()
    elif key == "r":
        s.reset()
        return "weights reset"
    elif key == "c":
        s.set_interest(s.evaluator.interest + 1)
        stage.field.interest = s.evaluator.interest
        stage._versions = (stage._versions[0], -1)      # re-place the 2D points by the new class
    elif key == "h":
        stage.field.height = 0.0 if stage.field.height else 1.5
        return "plane" if not stage.field.height else "height field"
    elif key == "u":
        stage.show_entropy = not stage.show_entropy
        return ("entropy field beside the decision field: how unsure the classifier is, 1 bit where p = 0.5 "
                "(U: hide)" if stage.show_entropy else "entropy field hidden")
    else:
        return stage.status
    arch = "-".join(map(str, c.layers))
    return (f"lr {tr.lr:g}  L2 {tr.l2:g}  batch {tr.batch}  noise {c.noise:.2f}  split {tr.split:.0%}  "
            f"layers {arch or 'none'}  {c.activation}")


FIELD_EVERY_S = 0.5        # the window re-evaluates the field this often while training (recordings: every frame)


class PlaygroundApp:
    """The window: orbit camera around the field, keys change parameters while training runs."""

    def __init__(self, session, *, fullscreen: bool = True, size: tuple[int, int] | None = None,
                 screenshot_dir: str | Path = ".") -> None:
        self.session = session
        self.window = Window("Neuroscape - playground", size=size, fullscreen=fullscreen)
        self.stage = PlaygroundStage(session, self.window.framebuffer_size)
        self.show_keys = self.window.framebuffer_size[1] >= 600    # F1; off at first in a small window
        self.stage.field_every = FIELD_EVERY_S
        from engine.compute.curves import curves_image
        self.stage.curves = curves_image                 # the loss curves, plotted, bottom right
        self.stage.renderer.pass_of(FieldPass).coarse_while_moving = True
        lo, hi = self.stage.scene.bbox
        self.controls = CameraController(self.stage.camera, float(np.linalg.norm(hi - lo)),
                                         target=self.stage.look_target)
        self.controls.toggle_orbit(self.stage.look_target)
        self._framings = self.stage.framings
        self.controls.camera = self.stage.camera
        self.screenshot_dir = Path(screenshot_dir)
        self.screenshots: list[Path] = []
        self._drag = None
        self._shot = False
        self.window.connect(self)

    def _on_key(self, _w, key, _sc, action, mods) -> None:
        g = self.window.glfw
        moves = self.window.move_keys()
        if key in moves:
            self.controls.key(moves[key], action != g.RELEASE)
            return
        if action != g.PRESS:
            return
        if key == g.KEY_ESCAPE:
            self.window.close()
            return
        if key == g.KEY_P:
            self._shot = True
            return
        if key == g.KEY_M:
            self.export_mesh()
            return
        if key == g.KEY_F11:
            self.window.toggle_fullscreen()
            return
        if key == g.KEY_F1:
            self.show_keys = not self.show_keys
            return
        names = {g.KEY_SPACE: "space", g.KEY_LEFT_BRACKET: "[", g.KEY_RIGHT_BRACKET: "]", g.KEY_SEMICOLON: ";",
                 g.KEY_APOSTROPHE: "'", g.KEY_B: "b", g.KEY_Z: "z", g.KEY_X: "x", g.KEY_T: "t", g.KEY_F: "f",
                 g.KEY_N: "n", g.KEY_Y: "y", g.KEY_R: "r", g.KEY_C: "c", g.KEY_H: "h", g.KEY_U: "u"}
        if key in names:
            self.stage.field_due = True
            try:
                self.stage.status = apply_key(self.session, self.stage, names[key], bool(mods & g.MOD_SHIFT))
            except NeuroscapeError as e:
                self.stage.status = f"cannot: {e}"

    def _on_button(self, w, button, action, _mods) -> None:
        g = self.window.glfw
        if button == g.MOUSE_BUTTON_LEFT:
            self._drag = g.get_cursor_pos(w) if action == g.PRESS else None

    def _on_cursor(self, w, x, y) -> None:
        if self._drag is not None:
            self.controls.drag(x - self._drag[0], y - self._drag[1])
            self._drag = (x, y)
            return
        g = self.window.glfw
        o, d = self.stage.camera.ray(x, y, tuple(g.get_window_size(w)))
        point = self.stage.pick(o, d)
        if point is not None:
            self.stage.point = point

    def key_lines(self, size: tuple[int, int]) -> list[str]:
        """The key hints wrapped to the window's width (F1 hides them)."""
        if not self.show_keys:
            return ["F1 keys"]
        return hud_key_lines(size, PLAYGROUND_KEYS)

    def screenshot(self) -> Path:
        from engine.render.png import save_png
        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        path = self.screenshot_dir / f"playground-{time.strftime('%Y%m%d-%H%M%S')}-{len(self.screenshots):03d}.png"
        save_png(self.stage.read_pixels(), path)
        self.screenshots.append(path)
        print(f"screenshot: {path}", flush=True)
        return path

    def export_mesh(self) -> Path | None:
        """M: the current p = 0.5 isosurface as an OBJ beside the screenshots (3D fields)."""
        from engine.compute.mesh import export_mesh
        self.screenshot_dir.mkdir(parents=True, exist_ok=True)
        path = self.screenshot_dir / f"isosurface-{time.strftime('%Y%m%d-%H%M%S')}.obj"
        try:
            export_mesh(self.session.field, path)
        except NeuroscapeError as e:
            self.stage.status = f"cannot: {e}"
            return None
        self.stage.status = f"mesh: {path}"
        print(f"mesh: {path}", flush=True)
        return path

    def run(self, max_seconds: float | None = None, max_frames: int | None = None) -> int:
        """Train and draw until Esc (or the limits, for tests); returns the frames drawn."""
        st = self.stage
        n = 0
        try:
            for size, st.fps in self.window.frames(self.controls, st.renderer, max_seconds, max_frames):
                st.keys = self.key_lines(size)
                st.frame()
                if st.framings != self._framings:      # re-framed (a new layer, U): orbit around that
                    self._framings, self.controls.target = st.framings, st.look_target
                st.draw()
                if self._shot:
                    self._shot = False
                    self.screenshot()
                st.renderer.draw_to(0, size)
                n += 1
        finally:
            st.release()
            self.window.destroy()
        return n


__all__ = ["PlaygroundApp", "apply_key"]
