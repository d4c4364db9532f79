"""The viewer's X key: cycle the scene between its activations and each attribution method.

Attributions are computed in a thread (Integrated Gradients takes seconds on a CPU) on the input the
scene shows now; while one is shown, live frames are paused so they do not paint over it; back at
"activations" the values the scene had are put back and live frames resume."""
from __future__ import annotations

import threading


from engine.compute.attribution import METHODS, apply_to_scene, explain

CYCLE = (None,) + METHODS           # None: the activations


class ExplainToggle:
    def __init__(self, scene, graph, model, inputs, categories=None) -> None:
        """``inputs()``: the input the scene shows now (ExampleInputs)."""
        self.scene, self.graph, self.model, self.inputs, self.categories = scene, graph, model, inputs, categories
        self.k = 0
        self.lines: list[str] = []
        self._saved: dict[int, tuple] | None = None
        self._job: threading.Thread | None = None
        self._result = None
        self._dirty = False

    @property
    def active(self) -> bool:
        """True while an attribution is shown or being computed (live frames wait)."""
        return CYCLE[self.k] is not None

    def cycle(self) -> str:
        """Next method (the status line to show)."""
        if self._job is not None and self._job.is_alive():
            return f"still computing {CYCLE[self.k]} ..."
        self.k = (self.k + 1) % len(CYCLE)
        method = CYCLE[self.k]
        if method is None:
            self._restore()
            self.lines = []
            return "activations"
        if self._saved is None:
            self._saved = {s.layer_id: (s.values, s.signed, s.scale) for s in self.scene.slabs}
        inputs = self.inputs()
        self._result = None

        def work():
            try:
                self._result = explain(self.model, self.graph, inputs, method, None, self.categories)
            except Exception as e:  # noqa: BLE001 - a model gradients cannot go through: say so, keep flying
                self._result = str(e).splitlines()[0][:200]
        self._job = threading.Thread(target=work, name="neuroscape-explain", daemon=True)
        self._job.start()
        return f"computing {method} ..."

    def _restore(self) -> None:
        if self._saved is None:
            return
        for s in self.scene.slabs:
            s.values, s.signed, s.scale = self._saved[s.layer_id]
        self._saved = None
        self._dirty = True

    def poll(self, renderer) -> str | None:
        """Push a finished attribution (or the restored activations) into the renderer; the new
        status line when something changed."""
        status = None
        if self._result is not None and (self._job is None or not self._job.is_alive()):
            got, self._result = self._result, None
            if isinstance(got, str):
                self.lines, status = [f"--explain failed: {got}"], got
            else:
                apply_to_scene(self.scene, self.graph, got)
                self.lines, status, self._dirty = got.hud(), f"{got.method} (X: next)", True
        if self._dirty and renderer is not None:
            self._dirty = False
            renderer.show_scene_values()
        return status
