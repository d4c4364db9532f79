"""examples/show.ipynb executed by nbclient on a kernel of this Python (offscreen EGL, no network): its
picture is a real render of the asked size, and its widgets' frames change when the camera is dragged,
the live input steps and the playground trains."""
from __future__ import annotations

import base64
import io
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "show.ipynb"
KERNEL = "neuroscape-test"
WIDGET = "application/vnd.jupyter.widget-view+json"

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")
pytest.importorskip("jupyter_rfb")


@pytest.fixture
def kernel_of_this_python(tmp_path, monkeypatch):
    """A kernelspec running this interpreter (the venv's), found first through JUPYTER_PATH."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "neuroscape test", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))     # connection files
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))              # no user profile or startup files
    monkeypatch.setenv("PYOPENGL_PLATFORM", "egl")
    return KERNEL


def _outputs(cell) -> list[dict]:
    return list(cell.get("outputs", []))


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in _outputs(cell) if o["output_type"] == "stream")


def _percent(text: str, what: str) -> int:
    m = re.search(rf"^{what}: [^\n]*?(\d+)% of the pixels changed", text, re.MULTILINE)
    assert m, f"no '{what}: N% of the pixels changed' in {text!r}"
    return int(m.group(1))


# Run before the notebook's last cell (which closes the views): what the browser does, through jupyter_rfb's
# own message path -- the view shown, sized, dragged, each frame confirmed -- on the kernel's event loop.
FRONTEND = """
import asyncio

def message(w, **event):
    w._rfb_handle_msg(w, {"timestamp": 0, "modifiers": [], **event}, [])

async def sent(w, n, seconds=60.0):
    for _ in range(int(seconds / 0.05)):
        if w.get_stats()["sent_frames"] >= n:
            return
        await asyncio.sleep(0.05)

view._has_visible_views = True
message(view, type="resize", width=640, height=360, pwidth=640, pheight=360, ratio=1.0)
await sent(view, 1)
first = view.snapshot().data.copy()
for kind, x in (("pointer_down", 320), ("pointer_move", 200), ("pointer_up", 200)):
    message(view, type=kind, x=x, y=180, button=1, buttons=[1])
view._frame_feedback = {"index": view._rfb_frame_index, "timestamp": 0, "localtime": 0}
await sent(view, 2)
print(f"rfb: {view.get_stats()['sent_frames']} frames sent, {first.shape[1]}x{first.shape[0]}, "
      f"{changed(first, view.snapshot().data):.0%} of the pixels changed")
"""


@pytest.mark.slow
def test_show_notebook_runs_and_draws(kernel_of_this_python):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert not any(_outputs(c) for c in nb.cells if c.cell_type == "code"), "ship the notebook without outputs"
    nb.cells.insert(len(nb.cells) - 1, nbformat.v4.new_code_cell(FRONTEND))
    client = nbclient.NotebookClient(nb, kernel_name=kernel_of_this_python, timeout=600,
                                     resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    errors = [o for c in code for o in _outputs(c) if o["output_type"] == "error"]
    assert not errors, "\n".join(f"{e['ename']}: {e['evalue']}" for e in errors)

    # the picture: a PNG of the asked size with layers on it, not one flat colour
    pngs = [o["data"]["image/png"] for c in code for o in _outputs(c) if "image/png" in o.get("data", {})]
    assert pngs, "no PNG output"
    from PIL import Image
    img = np.asarray(Image.open(io.BytesIO(base64.b64decode(pngs[0]))).convert("RGB"))
    assert img.shape == (360, 640, 3)
    background = np.median(img.reshape(-1, 3), axis=0)
    drawn = np.mean(np.abs(img.astype(int) - background).sum(axis=2) > 30)
    assert img.std() > 10 and drawn > 0.03, f"a flat picture (std {img.std():.1f}, {drawn:.1%} drawn)"

    # three widgets shown (the view, the live input, the playground)
    views = [c for c in code if any(WIDGET in o.get("data", {}) and o["output_type"] == "execute_result"
                                    for o in _outputs(c))]
    assert len(views) == 3
    for c in views:                                  # each with a picture for where widgets cannot show
        shown = next(o for o in _outputs(c) if o["output_type"] == "execute_result")
        assert shown["data"]["image/png"][:10] == base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()[:10]

    printed = "".join(_text(c) for c in code)
    assert _percent(printed, "orbit") >= 5          # dragging orbits the camera: most of the layers move
    assert "pick:" in printed
    assert _percent(printed, "live") >= 1           # the next digit's activations
    assert "input: digits" in printed
    assert _percent(printed, "playground") >= 1     # training moved the decision field and the weights
    assert "playground  step" in printed
    m = re.search(r"rfb: (\d+) frames sent, (\d+)x(\d+)", printed)
    assert m and int(m.group(1)) >= 2 and (int(m.group(2)), int(m.group(3))) == (640, 360), printed
    assert _percent(printed, "rfb") >= 5            # the frame the widget sent after the drag is another
