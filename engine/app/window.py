"""A glfw window with an EGL core-profile context: the same GL binding as offscreen rendering."""
from __future__ import annotations

import os
import time
from typing import Iterator

from engine.errors import NeuroscapeError


class NoDisplayError(NeuroscapeError):
    pass


def display_available() -> bool:
    """True if a window can be opened (an X11 or Wayland display answers)."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    try:
        import glfw
    except Exception:  # noqa: BLE001 - no libglfw
        return False
    ok = bool(glfw.init())
    return ok


def require_display() -> None:
    """Fail fast, before any model is loaded, when no window can be opened."""
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise NoDisplayError("no display (DISPLAY is not set): use `neuroscape render` or "
                             "`neuroscape record` for offscreen output, or run under Xvfb")


class Window:
    """Fullscreen (or windowed) glfw window; callbacks are forwarded to ``handler`` methods."""

    def __init__(self, title: str, size: tuple[int, int] | None = None, fullscreen: bool = True) -> None:
        require_display()
        from engine.render.preload import preload
        preload()
        import glfw
        self.glfw = glfw
        if not glfw.init():
            raise NoDisplayError(f"cannot open the display {os.environ.get('DISPLAY')!r}: check that the "
                                 "X server runs (or use `neuroscape render`/`record` offscreen)")
        glfw.default_window_hints()
        glfw.window_hint(glfw.CONTEXT_CREATION_API, glfw.EGL_CONTEXT_API)
        glfw.window_hint(glfw.CLIENT_API, glfw.OPENGL_API)
        glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3)
        glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
        glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
        glfw.window_hint(glfw.OPENGL_FORWARD_COMPAT, True)
        self.monitor = glfw.get_primary_monitor()
        mode = glfw.get_video_mode(self.monitor) if self.monitor else None
        screen = (mode.size.width, mode.size.height) if mode else (1280, 720)
        self.windowed_size = size or (min(1280, screen[0]), min(720, screen[1]))
        self.fullscreen = fullscreen and self.monitor is not None
        w, h = screen if self.fullscreen else self.windowed_size
        self.handle = glfw.create_window(w, h, title, self.monitor if self.fullscreen else None, None)
        if not self.handle:
            glfw.terminate()
            raise NoDisplayError("could not create an OpenGL 3.3 core window through EGL: update Mesa/the GPU "
                                 "driver, or use `neuroscape render` offscreen")
        glfw.make_context_current(self.handle)
        glfw.swap_interval(0)

    @property
    def framebuffer_size(self) -> tuple[int, int]:
        return tuple(self.glfw.get_framebuffer_size(self.handle))

    def toggle_fullscreen(self) -> None:
        g = self.glfw
        if self.fullscreen:
            w, h = self.windowed_size
            g.set_window_monitor(self.handle, None, 40, 40, w, h, 0)
        else:
            mode = g.get_video_mode(self.monitor)
            g.set_window_monitor(self.handle, self.monitor, 0, 0, mode.size.width, mode.size.height,
                                 mode.refresh_rate)
        self.fullscreen = not self.fullscreen

    def connect(self, app) -> None:
        """Forward key, mouse button, cursor and scroll events to ``app._on_key``, ``app._on_button``,
        ``app._on_cursor`` and ``app.controls.scroll`` (shared by the viewer and the playground)."""
        g, h = self.glfw, self.handle
        g.set_key_callback(h, app._on_key)
        g.set_mouse_button_callback(h, app._on_button)
        g.set_cursor_pos_callback(h, app._on_cursor)
        g.set_scroll_callback(h, lambda _w, _dx, dy: app.controls.scroll(dy))

    def move_keys(self) -> dict[int, str]:
        """glfw key -> fly-control name (engine/app/controls.py MOVE_KEYS)."""
        g = self.glfw
        return {g.KEY_W: "w", g.KEY_A: "a", g.KEY_S: "s", g.KEY_D: "d", g.KEY_Q: "q", g.KEY_E: "e"}

    def frames(self, controls, renderer, max_seconds: float | None = None,
               max_frames: int | None = None) -> Iterator[tuple[tuple[int, int], float]]:
        """The render loop shared by the viewer and the playground: poll input, advance the camera
        controls by the elapsed time, follow window resizes (skip while minimized), then yield
        (framebuffer size, measured fps) for the caller to draw; swap and count after each draw.
        Ends on Esc/close or at the limits (for tests)."""
        start = last = fps_t = time.monotonic()
        n = fps_n = 0
        fps = 0.0
        while not self.should_close():
            self.poll()
            now = time.monotonic()
            controls.update(min(now - last, 0.1))
            last = now
            size = self.framebuffer_size
            if size[0] == 0 or size[1] == 0:   # minimized
                time.sleep(0.05)
                continue
            if size != renderer.size:
                renderer.resize(size)
            yield size, fps
            self.swap()
            n += 1
            fps_n += 1
            if now - fps_t >= 0.5:
                fps, fps_t, fps_n = fps_n / (now - fps_t), now, 0
            if (max_frames is not None and n >= max_frames) or \
                    (max_seconds is not None and now - start >= max_seconds):
                return

    def should_close(self) -> bool:
        return bool(self.glfw.window_should_close(self.handle))

    def close(self) -> None:
        self.glfw.set_window_should_close(self.handle, True)

    def swap(self) -> None:
        self.glfw.swap_buffers(self.handle)

    def poll(self) -> None:
        self.glfw.poll_events()

    def destroy(self) -> None:
        self.glfw.destroy_window(self.handle)
        self.glfw.terminate()
