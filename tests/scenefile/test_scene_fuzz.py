"""Property-based: scene files made of the tables and keys a user can write, with values of every kind
(huge, tiny, negative, NaN, Inf, wrong types), go through load -> layout -> scene -> camera path (and
frames along it): each either works or stops with our own one-line error -- no other exception, no hang
(each case is bounded by hypothesis' deadline), no NaN in a camera that is returned."""
from __future__ import annotations

import math
import signal

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from engine.errors import NeuroscapeError  # noqa: E402

NUMBERS = st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, 1, -1, 0.5, 1e-9, 1e308, -1e308, 6469693229]))
WILD = st.one_of(NUMBERS, st.booleans(), st.text(max_size=8), st.lists(NUMBERS, max_size=4))
XYZ = st.lists(st.floats(-50, 50), min_size=3, max_size=3)
# what a user would write for each key (most cases), so that files get past loading and into the engine
PLAUSIBLE = {
    "layout": {"texel": st.floats(0.01, 2), "max_extent": st.floats(1, 100), "gap": st.floats(0, 5),
               "spread": st.floats(0, 1), "max_aspect": st.floats(1, 10), "hide": st.just(["dropout"]),
               "model_view": st.booleans()},
    "look": {"show_edges": st.booleans(), "show_labels": st.booleans(), "weight_edges_per_neuron": st.integers(1, 10),
             "colormap": st.sampled_from(["viridis", "icefire"])},
    "camera": {"position": XYZ, "look_at": XYZ, "fov": st.floats(10, 120)},
    "render": {"size": st.sampled_from(["320x180", "64x64"]), "samples": st.integers(0, 4)},
}
PATH = {"orbit": {"turns": st.floats(0.25, 3), "distance": st.floats(0.5, 50), "duration": st.floats(0.2, 10)},
        "position": {"look_at": XYZ, "duration": st.floats(0.2, 10)},
        "follow": {"duration": st.floats(0.2, 10)}}


def _value(draw, plausible):
    """A plausible value seven times in eight, else anything (huge, NaN, a string ...)."""
    return draw(WILD) if draw(st.integers(0, 7)) == 0 else draw(plausible)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'
    return "[" + ", ".join(_toml_value(x) for x in v) + "]"


@st.composite
def scene_files(draw) -> str:
    lines = ['[model]', 'name = "mlp"']
    for table, keys in PLAUSIBLE.items():
        chosen = draw(st.lists(st.sampled_from(sorted(keys)), unique=True, max_size=3))
        if chosen:
            lines.append(f"[{table}]")
            lines += [f"{k} = {_toml_value(_value(draw, keys[k]))}" for k in chosen]
            if draw(st.integers(0, 19)) == 0:
                lines.append("unknown_key = 1")
    for _ in range(draw(st.integers(0, 2))):
        lines.append("[[path]]")
        kind = draw(st.sampled_from(["orbit", "position", "follow"]))
        if kind == "orbit":
            lines.append(f'orbit = {_toml_value(draw(st.sampled_from(["net.2", "net", "nope", ""])))}')
        elif kind == "follow":
            lines.append('follow = ["net.0", "net.4"]')
        else:
            lines.append(f"position = {_toml_value(_value(draw, XYZ))}")
        keys = PATH[kind]
        for k in draw(st.lists(st.sampled_from(sorted(keys)), unique=True, max_size=2)):
            lines.append(f"{k} = {_toml_value(_value(draw, keys[k]))}")
    return "\n".join(lines) + "\n"


@settings(max_examples=120, deadline=8000, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(text=scene_files())
def test_scene_files_work_or_stop_with_one_line(tmp_path, text):
    from engine.pipeline import build
    from engine.scene.path import scene_camera_path
    from engine.scenefile import load_scene_file
    f = tmp_path / "fuzz.toml"
    f.write_text(text)
    signal.signal(signal.SIGALRM, _hung)
    signal.alarm(30)                       # a hang fails the case (hypothesis' deadline only measures)
    try:
        spec = load_scene_file(f)
        _, scene = build(spec)
        path = scene_camera_path(scene, spec)
        for cam in path.cameras(min(8, max(2, int(path.duration * 2)))):
            assert np.isfinite(cam.position).all() and math.isfinite(cam.yaw) and math.isfinite(cam.pitch)
    except NeuroscapeError as e:
        assert "\n" not in str(e), str(e)
    finally:
        signal.alarm(0)


def _hung(*_):
    raise TimeoutError("a scene file took over 30 s: a hang")


NUMERIC = st.one_of(st.integers(-10**6, 10**6).map(str), st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.sampled_from(["0", "-1", "1e308", "nan", "inf", "1e-9", "x", "", "3x", "64x64", "0x0",
                                     "100000x100000", "2x2"]))


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fps=NUMERIC, duration=NUMERIC, size=NUMERIC)
def test_cli_numeric_flags_work_or_are_one_line(tmp_path, fps, duration, size):
    """record's numeric flags with any value: exit 0 or 2 (our error), never a traceback."""
    from engine.cli import main
    out = tmp_path / "f.mp4"
    out.unlink(missing_ok=True)
    try:
        code = main(["record", "mlp", "--fps", fps, "--duration", duration, "--size", size, "-o", str(out),
                     "--quiet", "--force"])
    except SystemExit as e:               # argparse: a value that is not a number at all
        code = e.code
    assert code in (0, 2)
