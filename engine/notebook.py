"""``engine.show``: a model, scene or playground in a Jupyter notebook. It sits above the pipeline (it
loads models by name) and beside the CLI, so it is a top-level module; what it shows is an
engine/app NotebookView, in a widget where jupyter_rfb runs, else as a still PNG or a short MP4."""
from __future__ import annotations

import math
import numbers
from pathlib import Path

from typing import TYPE_CHECKING

from engine.errors import NeuroscapeError
from engine.scenefile import SizeError, parse_size
from engine.scenefile.sections import MAX_SIDE

if TYPE_CHECKING:
    from IPython.display import Image, Video

    from engine.app.notebook_view import NotebookView
    from engine.app.notebook_widget import NotebookWidget

VIDEO_SECONDS = 4.0     # the fallback video of a live input or a training playground
VIDEO_FPS = 10
VIDEO_ORBIT_PX = 6.0    # drag pixels per video frame: a slow orbit (0.9 degrees)
NEEDS_WIDGETS = "pip install 'neuroscape[notebook]' (jupyter_rfb, ipywidgets)"


class NotebookError(NeuroscapeError):
    """engine.show was given something it cannot show, or this Python lacks what it needs."""


def show(target, *, input=None, live: bool = False, size=(960, 540),
         interactive: bool | None = None) -> NotebookWidget | Image | Video:
    """Show ``target`` in a notebook cell.

    ``target``: a model name ("resnet18", "cnn" ...), a scene file (.toml; a playground scene trains
    live), an nn.Module (``input``: its example inputs), a LayerGraph, a Scene or a PlaygroundSession.
    ``input``: for a model name, an input spec ("digits", "photo", "text:..."); ``live``: step through
    it. ``size``: (width, height) pixels or "WIDTHxHEIGHT". ``interactive``: None (a widget inside a
    Jupyter kernel with jupyter_rfb installed, else a picture), True (the widget, or an error), False
    (a picture: a PNG, or for live inputs and playgrounds a few seconds of MP4).

    The widget: drag orbits, the wheel zooms, WASD/QE fly, H flies home, a click picks a layer and
    neuron (its title bar names them), a double-click flies there; a playground takes its window's keys.
    """
    size = check_size(size)
    if not isinstance(live, bool):
        raise NotebookError(f"live={live!r} must be True or False")
    if interactive not in (None, True, False):
        raise NotebookError(f"interactive={interactive!r} must be None (a widget where possible), True or False")
    widgets = widgets_available()
    if interactive is True and not widgets:
        raise NotebookError(f"interactive=True needs jupyter_rfb and ipywidgets: {NEEDS_WIDGETS}, or pass "
                            f"interactive=False for a picture")
    view = open_view(target, input=input, live=live, size=size)
    if widgets and (interactive is True or (interactive is None and _in_kernel())):
        from engine.app.notebook_widget import NotebookWidget
        return NotebookWidget(view)
    try:
        return _video(view) if view.animating else _still(view)
    finally:
        view.close()


def check_size(size) -> tuple[int, int]:
    """(width, height) as two whole positive numbers up to MAX_SIDE, or "WxH"; one line naming the fix."""
    if isinstance(size, str):
        return parse_size(size)
    try:
        w, h = size
    except (TypeError, ValueError):
        raise SizeError(f"size {size!r} is not (width, height): use e.g. size=(960, 540)") from None
    for v in (w, h):
        ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) and float(v) == int(v)
        if not ok or not 1 <= int(v) <= MAX_SIDE:
            raise SizeError(f"size {size!r}: width and height must be whole numbers of pixels in 1..{MAX_SIDE}, "
                            f"e.g. size=(960, 540)")
    return int(w), int(h)


def widgets_available() -> bool:
    """True when jupyter_rfb and ipywidgets import (the interactive widget can be made)."""
    try:
        import ipywidgets  # noqa: F401
        import jupyter_rfb  # noqa: F401
    except Exception:  # noqa: BLE001 - missing or broken installs alike: fall back to pictures
        return False
    return True


def _in_kernel() -> bool:
    """True inside a Jupyter kernel (where a widget can show), not in a plain Python or IPython shell."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def open_view(target, *, input=None, live: bool = False, size: tuple[int, int] = (960, 540)) -> NotebookView:
    """The NotebookView of ``target`` (see show), its model loaded and its GL context open."""
    from engine.app.notebook_view import NotebookView
    from engine.compute.playground import PlaygroundSession
    from engine.model.graph import LayerGraph
    from engine.scene.nodes import Scene

    if isinstance(target, PlaygroundSession):
        _no_input(target, input, live, "a playground session trains on its own data")
        return NotebookView(playground=target, size=size)
    if isinstance(target, (str, Path)):
        return _open_named(str(target), input, live, size)
    if isinstance(target, Scene):
        _no_input(target, input, live, "a Scene shows the values it holds")
        return NotebookView(target, size)
    if isinstance(target, LayerGraph):
        _no_input(target, input, live, "a LayerGraph shows the values it recorded")
        from engine.pipeline import scene_from_graph
        return NotebookView(scene_from_graph(target), size)
    import torch
    if isinstance(target, torch.nn.Module):
        if live:
            raise NotebookError("live=True steps through an input source, which needs a model name or scene file: "
                                "show the module with input=its example inputs, or register it by name")
        if input is None or isinstance(input, str):
            raise NotebookError(f"an nn.Module needs its example inputs: engine.show(model, input=torch.randn(1, 64)) "
                                f"(got input={input!r})")
        from engine.model.recorder import record
        from engine.pipeline import scene_from_graph
        return NotebookView(scene_from_graph(record(target, input, capture=True)), size)
    raise NotebookError(f"engine.show cannot show an object of type {type(target).__name__}: give a model name, a "
                        f"scene file (.toml), an nn.Module with input=, a LayerGraph, a Scene or a PlaygroundSession")


def _no_input(target, input, live: bool, why: str) -> None:
    if input is not None or live:
        raise NotebookError(f"{why}: drop input= and live= (they feed a model named by a string)")


def _open_named(text: str, input, live: bool, size: tuple[int, int]) -> NotebookView:
    """A model name or a scene file: a playground scene's session, else the pipeline's scene + session."""
    from engine.app.notebook_view import NotebookView
    from engine.pipeline import LiveOptions, load
    from engine.scenefile import find_scene, load_scene_file, resolve_spec

    if input is not None and not isinstance(input, str):
        raise NotebookError(f"input= for a model name is an input spec such as 'digits', 'photo' or 'text:Hello' "
                            f"(got a {type(input).__name__}); example tensors go with an nn.Module")
    if text.endswith(".toml"):
        path = find_scene(text)
        spec = load_scene_file(path)
        if spec.playground:
            from engine.compute.playground import PlaygroundSession, config_from_table
            if input is not None:
                raise NotebookError(f"{text} is a playground: it trains on its own data, so drop input=")
            session = PlaygroundSession(config_from_table(spec.playground, Path(path).resolve().parent))
            return NotebookView(playground=session, size=size)
    else:
        spec = resolve_spec(text)
    loaded = load(spec, LiveOptions(input=input, live=live))
    try:
        return NotebookView(loaded.scene, size, session=loaded.session)
    except BaseException:
        if loaded.session is not None:
            loaded.session.close()
        raise


def _still(view) -> Image:
    """One frame as a PNG the notebook shows (and saves with the notebook)."""
    from IPython.display import Image

    from engine.render.png import encode_png
    return Image(data=encode_png(view.frame()), format="png")


def _video(view) -> Video | Image:
    """A few seconds of a live input or a training playground, slowly orbiting, embedded as MP4 (a
    still PNG where no encoder runs)."""
    import tempfile

    from IPython.display import Video

    from engine.record.video import VideoError, VideoWriter
    w, h = view.size
    view.resize((w // 2 * 2, h // 2 * 2))          # H.264 needs even sides
    if view.stage is not None:
        view.stage.field_every = 0.0               # as recordings: the field follows every frame
    with tempfile.TemporaryDirectory(prefix="neuroscape-show-") as tmp:
        path = Path(tmp) / "show.mp4"
        try:
            with VideoWriter(path, view.size, VIDEO_FPS) as writer:
                for i in range(int(VIDEO_SECONDS * VIDEO_FPS)):
                    if i:
                        view.controls.drag(VIDEO_ORBIT_PX, 0.0)
                    writer.write(view.frame(at=i / VIDEO_FPS))
        except VideoError:
            return _still(view)
        data = path.read_bytes()
    return Video(data=data, embed=True, mimetype="video/mp4", width=view.size[0], height=view.size[1])


__all__ = ["NotebookError", "check_size", "open_view", "show", "widgets_available"]
