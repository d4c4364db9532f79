"""The window's first seconds: a big model takes a while to record and lay out, so the window opens at
once and shows what is being done (stage, elapsed time, a bar) instead of staying black. The work runs
in a thread; the window keeps answering, and Esc or closing it cancels the wait."""
from __future__ import annotations

import threading
import time
from typing import Callable, TypeVar

from engine.scene.scene import Scene

T = TypeVar("T")
FRAME_S = 0.05          # the screen redraws 20 times a second, leaving the cores to the loading
BAR = 28                # characters of the progress bar


class Cancelled(Exception):
    """The user closed the window (or pressed Esc) while the scene was loading."""


def bar_line(done: int, total: int, t: float) -> str:
    """A text progress bar: finished stages filled, the current one pulsing so a long stage visibly lives."""
    total = max(total, 1)
    full = min(done, total) * BAR // total
    step = BAR // total
    pulse = int(t * 4) % max(step, 1) if done < total else 0
    return "[" + "#" * full + "=" * min(pulse, BAR - full) + "." * max(BAR - full - pulse, 0) + "]"


class LoadingScreen:
    """Draws ``title``, the current stage and the elapsed time until ``work`` returns."""

    def __init__(self, window, title: str, stages: int = 4) -> None:
        self.window = window
        self.title = title
        self.stages = stages            # how many stage messages a load usually says (for the bar)
        self.said: list[str] = []
        self._lock = threading.Lock()

    def stage(self, what: str) -> None:
        """Called from the loading thread: what is being done now."""
        with self._lock:
            self.said.append(what)

    def lines(self, elapsed: float) -> list[str]:
        with self._lock:
            said = list(self.said)
        now = said[-1] if said else "starting"
        return [f"Neuroscape: opening {self.title}", "",
                f"{now} ...   {elapsed:4.1f} s", bar_line(max(len(said) - 1, 0), self.stages, elapsed),
                "", "Esc cancels"]

    def _draw(self, renderer, start: float) -> None:
        size = self.window.framebuffer_size
        if not (size[0] and size[1]):            # minimized
            return
        if size != renderer.size:
            renderer.resize(size)
        renderer.set_hud(self.lines(time.monotonic() - start), centered=True)
        renderer.draw()
        renderer.draw_to(0, size)
        self.window.swap()

    def run(self, work: Callable[[Callable[[str], None]], T]) -> T:
        """``work(stage)`` in a thread while the window shows its progress; its result, or its exception
        re-raised here. Raises Cancelled when the window is closed first (the thread is left to finish
        on its own: it touches no GL)."""
        from engine.render.renderer import Renderer

        result: list = []
        failed: list[BaseException] = []

        def target() -> None:
            try:
                result.append(work(self.stage))
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                failed.append(e)

        thread = threading.Thread(target=target, name="neuroscape-load", daemon=True)
        g, h = self.window.glfw, self.window.handle
        esc = g.set_key_callback(h, lambda _w, key, _s, action, _m:
                                 self.window.close() if key == g.KEY_ESCAPE and action == g.PRESS else None)
        renderer = Renderer(Scene(title=self.title), self.window.framebuffer_size)
        start = time.monotonic()
        try:
            self._draw(renderer, start)          # the first picture before the loading competes for the cores
            thread.start()
            while thread.is_alive():
                self.window.poll()
                if self.window.should_close():
                    raise Cancelled(f"closed while loading {self.title}")
                self._draw(renderer, start)
                thread.join(FRAME_S)
            if not failed:                       # the viewer's textures come next
                self.stage("uploading the scene to the GPU")
                self._draw(renderer, start)
        finally:
            renderer.release()
            g.set_key_callback(h, esc)
        if failed:
            raise failed[0]
        return result[0]
