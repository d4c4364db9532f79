"""What the playground window and its recordings share: a PlaygroundSession drawn by a Renderer
(the classifier's network, live activations of one probe point, weights as edges, a DecisionField
node: the decision field + data points, and on U a second one beside it: the classifier's entropy) and
the HUD text (parameters, loss curves, dynamics)."""
from __future__ import annotations

import time

import numpy as np

from engine.scene.camera import Camera
from engine.scene.nodes import DecisionField, Label
from engine.scene.playground import framing_box, framing_camera, network_scene

FIELD_CENTER = (0.0, 0.0, 0.0)
FIELD_HALF = 2.0
ENTROPY_CENTER = (-2.7 * FIELD_HALF, 0.0, 0.0)     # the entropy field stands left of the decision field
SPARK = "▁▂▃▄▅▆▇█"
WEIGHTS_EVERY = 15          # frames between re-reads of the weights into edges and labels
CURVES_EVERY = 15           # frames between redraws of the training curves panel
CURVES_KEPT = 300           # frames of gradient norms the curves panel shows


def sparkline(values: list[float], width: int = 40, lo: float | None = None, hi: float | None = None) -> str:
    """The last ``width`` values as block characters scaled into [lo, hi]."""
    v = np.asarray([x for x in values[-width:] if np.isfinite(x)], np.float64)
    if not len(v):
        return ""
    lo = float(v.min()) if lo is None else lo
    hi = float(v.max()) if hi is None else hi
    t = np.zeros_like(v) if hi <= lo else (v - lo) / (hi - lo)
    return "".join(SPARK[int(round(x * (len(SPARK) - 1)))] for x in np.clip(t, 0, 1))


def entropy_field(field):
    """The field's binary entropy of p(class of interest), in bits (1 where p = 0.5), as a field of the
    same shape: where the classifier is unsure, drawn with the decision field's geometry and colours."""
    from dataclasses import replace
    p = np.clip(field.prob.astype(np.float64), 1e-7, 1 - 1e-7)
    h = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    return replace(field, data=h.astype(np.float32))


def _take_weight_edges(scene) -> list:
    """Remove the scene's weight edge sets (drawn as wide overlay lines instead) and return them."""
    weights = [e for e in scene.edges if e.kind == "weights"]
    scene.edges = [e for e in scene.edges if e.kind != "weights"]
    return weights


COMPACT_BELOW_PX = 500     # window height below which the HUD drops the gradient norms (plotted) and the field line


class PlaygroundStage:
    """Renderer + decision field for ``session``; call :meth:`frame` once per displayed frame."""

    def __init__(self, session, size: tuple[int, int], samples: int | None = None) -> None:
        from engine.render.renderer import Renderer

        self.session = session
        self.field = DecisionField(session.data.dims, np.asarray(FIELD_CENTER, np.float64), FIELD_HALF)
        self.scene = network_scene(session.graph, FIELD_CENTER, FIELD_HALF, title="playground")
        self.scene.add(self.field)
        weights = _take_weight_edges(self.scene)
        self.camera: Camera = self.scene.camera
        self.renderer = Renderer(self.scene, size, samples=samples)
        self._show_weights(weights)
        self.entropy = None
        self._frame_camera()
        self.paused = False
        self.entropy: DecisionField | None = None  # U: the classifier's entropy, beside the decision field
        self.entropy_labels: list[Label] = []
        self.point: np.ndarray | None = None      # data coordinates of the probed point
        self.point_p: float | None = None
        self.status = ""
        self.keys: list[str] | None = None        # key hint lines at the bottom of the HUD
        self.frames = 0
        self.fps = 0.0
        self._versions = (session.structure_version, -1)
        self._since_weights = 0
        self.seconds: dict[str, float] = {}
        #: seconds between evaluations of the field while training (0: every frame, as recordings do;
        #: the window: a few a second, so drawing and keys are not held by a 128^3 evaluation)
        #: (history, {layer: grad norms}) -> RGBA image of the training curves (engine.compute.curves),
        #: drawn in the corner every CURVES_EVERY frames; None: no panel (set by the window and recordings)
        self.curves = None
        self._grad_hist: dict[str, list[float]] = {}
        self._since_curves = CURVES_EVERY
        self.field_every = 0.0
        self.field_due = False                    # set by a key: evaluate the field this frame
        self._field_at = -np.inf
        if getattr(session.config, "entropy", False):
            self.show_entropy = True

    # ------------------------------------------------------------------ entropy
    @property
    def show_entropy(self) -> bool:
        return self.entropy is not None

    @show_entropy.setter
    def show_entropy(self, on: bool) -> None:
        """Add or remove the entropy field (left of the decision field) and its titles, and frame the
        camera on what is shown (in place: the window's controls hold this camera)."""
        if on == self.show_entropy:
            return
        if on:
            self.entropy = DecisionField(self.field.dims, np.asarray(ENTROPY_CENTER, np.float64), FIELD_HALF,
                                         height=self.field.height, show_points=False)
            if self.session.field is not None:
                self.entropy.set_field(entropy_field(self.session.field))
            self.entropy_labels = [self._title(self.entropy, "entropy of p (bits): 1 where unsure"),
                                   self._title(self.field, f"p(class {self.session.data.class_names[self.field.interest]})")]
            self.scene.add(self.entropy)
            self.scene.labels.extend(self.entropy_labels)
        else:
            self.scene.nodes_of(DecisionField).remove(self.entropy)
            self.scene.labels = [lb for lb in self.scene.labels if all(lb is not t for t in self.entropy_labels)]
            self.entropy, self.entropy_labels = None, []
        self.renderer.rebuild()
        self._frame_camera()

    @staticmethod
    def _title(field: DecisionField, text: str) -> Label:
        top = field.center + np.array([-field.half, field.half + 0.3, -field.half])
        return Label(text, top, height=0.35, min_px=0, max_px=0)

    def _frame_camera(self) -> None:
        boxes = [(self.field.center, FIELD_HALF)] + ([(self.entropy.center, FIELD_HALF)] if self.entropy else [])
        size = self.renderer.size
        lo, hi = framing_box(self.scene, *boxes[0], extra=boxes[1:])
        cam = framing_camera(lo, hi, aspect=size[0] / size[1])
        self.camera.position, self.camera.yaw, self.camera.pitch = cam.position, cam.yaw, cam.pitch
        self.look_target = (lo + hi) / 2          # what the camera looks at: the window orbits around it
        self.framings = getattr(self, "framings", 0) + 1

    # ------------------------------------------------------------------ sync
    def _show_weights(self, weights: list) -> None:
        """Weights as edge width and colour: the overlay's screen-space quads (GL core has no wide
        lines); width and brightness follow |w| (normalized per layer), warm positive, cold negative."""
        if weights:
            self.renderer.set_highlight(np.concatenate([e.positions for e in weights]).astype(np.float32),
                                        np.concatenate([e.weights for e in weights]).astype(np.float32))
        else:
            self.renderer.clear_highlight()

    def _rebuild_network(self) -> None:
        """New network scene from the session's graph (after a shape change or to show new weights)."""
        s = self.session
        if s.structure_version == self._versions[0]:
            s.graph = s._record()                   # same shape: fresh weights for the edges
        scene = network_scene(s.graph, FIELD_CENTER, FIELD_HALF, title="playground")
        dyn = s.trainer.dynamics
        for lb in scene.labels:
            name = lb.text.split()[0] if lb.text else ""
            if name in dyn.grad_norm:
                lb.text += f"  |grad| {dyn.grad_norm[name]:.3f}  |w| {dyn.weight_mean.get(name, 0):.2f}"
            elif name in dyn.dead_share:
                lb.text += f"  dead {dyn.dead_share[name]:.0%}"
        weights = _take_weight_edges(scene)
        reshaped = s.structure_version != self._versions[0]
        scene.add(self.field)
        if self.entropy is not None:
            scene.add(self.entropy)
            scene.labels.extend(self.entropy_labels)
        self.scene = scene
        self.renderer.scene = scene
        self.renderer.rebuild()
        self._show_weights(weights)
        self._versions = (s.structure_version, self._versions[1])
        if reshaped:                               # Y / N: the camera frames the new network whole
            self._frame_camera()
        self._since_weights = 0

    def _sync_points(self) -> None:
        s = self.session
        if s.data_version == self._versions[1] and self.field.classes == s.data.classes:
            return
        tr = s.trainer
        test = np.zeros(len(s.data.y), np.float32)
        test[tr.test_idx] = 1.0
        self.field.interest = s.evaluator.interest
        self.field.set_points(s.data.x, s.data.y, test)
        self._versions = (self._versions[0], s.data_version)

    # ------------------------------------------------------------------ per frame
    def frame(self, train: bool | None = None) -> None:
        """Train (unless paused), evaluate and upload the field, probe the point, refresh the HUD."""
        s = self.session
        t0 = time.perf_counter()
        if (not self.paused) if train is None else train:
            s.train()
        t1 = time.perf_counter()
        due = self.field_due or s.field is None or t1 - self._field_at >= self.field_every
        field = s.refresh() if due else s.field
        t2 = time.perf_counter()
        if due:
            self._field_at, self.field_due = t2, False
            self.field.set_field(field)
            if self.entropy is not None:
                self.entropy.set_field(entropy_field(field))
        if self.entropy is not None:
            self.entropy.height = self.field.height
        self._sync_points()
        t3 = time.perf_counter()
        self._since_weights += 1
        if self.curves is not None:
            self._update_curves()
        if s.structure_version != self._versions[0] or self._since_weights >= WEIGHTS_EVERY:
            self._rebuild_network()
        if self.point is not None:
            self.point_p = float(field.sample(self.point[None])[0])
            fr = s.activations(self.point)
            if fr.error is None:
                for sl in self.scene.slabs:
                    lf = fr.layers.get(sl.layer_id)
                    if lf is not None:
                        self.renderer.set_signed(sl.layer_id, lf.signed)
                        self.renderer.update_values(sl.layer_id, lf.values, lf.scale)
        self.seconds = {"train": t1 - t0, "field": t2 - t1, "upload": t3 - t2}
        self.renderer.set_hud(self.hud_lines(self.keys))
        self.frames += 1

    def _update_curves(self) -> None:
        for name, v in self.session.trainer.dynamics.grad_norm.items():
            hist = self._grad_hist.setdefault(name, [])
            hist.append(v)
            del hist[:-CURVES_KEPT]
        self._since_curves += 1
        if self._since_curves >= CURVES_EVERY:
            self._since_curves = 0
            self.renderer.set_panel(self.curves(self.session.trainer.history, self._grad_hist))

    def draw(self, camera: Camera | None = None) -> None:
        self.renderer.draw(camera or self.camera)

    def read_pixels(self) -> np.ndarray:
        return self.renderer.read_pixels()

    # ------------------------------------------------------------------ picking
    def pick(self, origin: np.ndarray, direction: np.ndarray) -> np.ndarray | None:
        """Data point under a camera ray: 2D the ray's hit on the field's middle plane; 3D the first
        crossing of p = 0.5 inside the box (else the ray's midpoint in the box)."""
        c, h = np.asarray(FIELD_CENTER, np.float64), FIELD_HALF
        o, d = np.asarray(origin, np.float64), np.asarray(direction, np.float64)
        if self.session.data.dims == 2:
            if abs(d[1]) < 1e-9:
                return None
            t = (c[1] - o[1]) / d[1]
            if t <= 0:
                return None
            x = self.field.to_data(o + t * d)
            return x if np.all(np.abs(x) <= 1.0) else None
        inv = 1.0 / np.where(d == 0, 1e-12, d)
        t0, t1 = (c - h - o) * inv, (c + h - o) * inv
        tn, tf = max(np.minimum(t0, t1).max(), 0.0), np.maximum(t0, t1).min()
        if tf <= tn:
            return None
        ts = np.linspace(tn, tf, 96)
        pts = np.array([self.field.to_data(o + t * d) for t in ts])
        f = self.session.field
        if f is not None:
            p = f.sample(np.clip(pts, -1, 1)) - 0.5
            cross = np.flatnonzero(np.sign(p[:-1]) != np.sign(p[1:]))
            if len(cross):
                return np.clip(pts[cross[0]], -1, 1)
        return np.clip(pts[len(pts) // 2], -1, 1)

    # ------------------------------------------------------------------ HUD
    def hud_lines(self, keys: list[str] | None = None) -> list[str]:
        s, c, tr = self.session, self.session.config, self.session.trainer
        d = s.data
        src = f"csv {d.name}" if c.csv else d.name
        arch = s.model_name if s.custom else f"mlp {'-'.join(map(str, [d.dims, *c.layers, d.classes]))} {c.activation}"
        lines = [f"playground  {src} ({d.dims}D, {len(d.y)} points, {d.classes} classes)   {arch}   step {tr.steps}"
                 + (f"   {self.fps:4.1f} fps" if self.fps else "") + ("   PAUSED" if self.paused else ""),
                 f"lr {tr.lr:g}   L2 {tr.l2:g}   batch {tr.batch}   noise {c.noise:.2f}   test split {tr.split:.0%}"
                 f"   {c.optimizer}   {c.steps_per_frame} steps/frame"]
        last = tr.last
        if last is not None:
            lines.append(f"loss train {last.train_loss:.3f}  test {last.test_loss:.3f}   accuracy train "
                         f"{last.train_acc:.1%}  test {last.test_acc:.1%}")
            h = tr.history
            tl, te = [x.train_loss for x in h], [x.test_loss for x in h]
            both = [v for v in tl[-48:] + te[-48:] if np.isfinite(v)]
            lo, hi = (min(both), max(both)) if both else (0.0, 1.0)
            if self.curves is None:               # (else plotted, with axes, in the corner)
                lines.append(f"train {sparkline(tl, 48, lo, hi)}")
                lines.append(f"test  {sparkline(te, 48, lo, hi)}")
            if tr.overfitting():
                lines.append("WARNING: test loss rising while train loss falls (overfitting): add L2, noise or data")
            if not np.isfinite(last.train_loss):
                lines.append("WARNING: the loss is NaN/Inf (diverged): lower the learning rate ([) and reset (R)")
        dyn = tr.dynamics
        compact = self.renderer.size[1] < COMPACT_BELOW_PX       # a small window: what the plots show goes
        if dyn.grad_norm and not (compact and self.curves is not None):
            lines.append("grad norm  " + "  ".join(f"{k} {v:.3g}" for k, v in dyn.grad_norm.items()))
        if dyn.dead_share:
            lines.append("dead ReLU  " + "  ".join(f"{k} {v:.0%}" for k, v in dyn.dead_share.items()))
        f = s.field
        if f is not None and not compact:
            n = f.res ** f.dims
            rate = n / s.evaluator.seconds / 1e6 if s.evaluator.seconds else 0.0
            lines.append(f"field {'x'.join([str(f.res)] * f.dims)} = {n:,} points in "
                         f"{s.evaluator.seconds * 1e3:.0f} ms ({rate:.1f} M/s) on {s.device.type}, "
                         f"p(class {d.class_names[f.interest]})")
        if self.point is not None and self.point_p is not None:
            lines.append(f"point ({', '.join(f'{v:+.2f}' for v in self.point)}): p(class "
                         f"{d.class_names[s.evaluator.interest]}) = {self.point_p:.3f}")
        if self.status:
            lines.append(self.status)
        if keys:
            lines.extend(keys)
        return lines

    def release(self) -> None:
        self.renderer.release()
