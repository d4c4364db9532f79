"""The Jupyter widget: a jupyter_rfb RemoteFrameBuffer (it throttles to what the browser takes and sends
JPEG while moving, PNG when still) whose frames and events go to a NotebookView. The title bar is its
text line: what is shown, the live input, the last pick."""
from __future__ import annotations

import base64

import numpy as np
from jupyter_rfb import RemoteFrameBuffer

from engine.app.notebook_view import NotebookView


class NotebookWidget(RemoteFrameBuffer):
    """Shows ``view`` in a notebook cell; drag orbits, the wheel zooms, WASD flies, a click picks."""

    def __init__(self, view: NotebookView, **kw) -> None:
        w, h = view.size
        super().__init__(css_width=f"{w}px", css_height=f"{h}px", has_titlebar=True, title=view.caption(), **kw)
        self.view = view

    @property
    def status(self) -> str:
        """The text line: the picked layer and neuron (with its value), a key's effect, or the key hints."""
        return self.view.caption()

    def get_frame(self) -> np.ndarray | None:
        """The next frame, drawn offscreen; while it animates by itself the next draw is asked for."""
        if self.view.context is None:
            return None
        img = self.view.frame()
        self._show_caption()
        if self.view.animating:
            self.request_draw()
        return img

    def handle_event(self, event: dict) -> None:
        if (event.get("type") or event.get("event_type")) == "close":
            self.view.close()
            return
        if self.view.context is None:
            return
        if self.view.handle(event):
            self.request_draw()
        self._show_caption()

    def _repr_mimebundle_(self, **kw):
        """The widget, with a PNG of its first frame beside it for where no widget can show (a notebook
        saved and opened on a page, nbconvert)."""
        bundle = super()._repr_mimebundle_(**kw)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict) and "text/html" not in data and self.view.context is not None:
            from engine.render.png import encode_png
            data["image/png"] = base64.b64encode(encode_png(self.view.frame())).decode()
        return bundle

    def _show_caption(self) -> None:
        text = self.view.caption()
        if text != self.title:
            self.title = text

    def close(self, *args, **kw) -> None:
        """Close the views in the browser and free the GL context."""
        super().close(*args, **kw)
        self.view.close()


__all__ = ["NotebookWidget"]
