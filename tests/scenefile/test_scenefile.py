"""Scene files: shipped scenes parse; bad files get one clear error naming file and line."""
from pathlib import Path

import pytest

from engine.scenefile import SceneFileError, load_scene_file, resolve_spec

SCENES = sorted((Path(__file__).parents[2] / "scenes").glob("*.toml"))


def test_shipped_scenes_cover_the_issue():
    names = {p.stem for p in SCENES}
    assert {"default", "resnet50", "vit_b_16", "gpt2", "minilm"} <= names


@pytest.mark.parametrize("path", SCENES, ids=lambda p: p.stem)
def test_shipped_scene_parses(path):
    spec = load_scene_file(path)
    assert spec.model and spec.path == path


def write(tmp_path, text):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("text, needle", [
    ('[model]\nname = "mlp"\n[look]\ncolormap = \n', "bad.toml: invalid TOML"),
    ('[model]\nname = "mlp"\n\n[look]\ncolourmap = "viridis"\n', "bad.toml:5: unknown key 'colourmap'"),
    ('[model]\nname = "mlp"\n[lok]\nx = 1\n', "bad.toml:3: unknown table [lok]"),
    ('[model]\nname = 3\n', "bad.toml:2: model.name must be str"),
    ('[look]\nshow_edges = true\n', "missing [model] name"),
    ('[model]\nname = "mlp"\n[camera]\nposition = [1, 2]\n', "bad.toml:4: camera.position must be a list of 3"),
    ('[model]\nname = "mlp"\n[look]\nshow_labels = "yes"\n', "look.show_labels must be bool"),
    # values are checked by the fields they fill: type, bounds, finiteness, a check of their own
    ('[model]\nname = "mlp"\n[layout]\nmax_aspect = 0\n', "bad.toml:4: layout.max_aspect must be > 0, got 0"),
    ('[model]\nname = "mlp"\n[look]\nweight_edges_per_neuron = 0\n', "look.weight_edges_per_neuron must be >= 1"),
    ('[model]\nname = "mlp"\n[render]\nsize = "huge"\n', "bad.toml:4: render.size must be valid (bad size 'huge'"),
    ('[model]\nname = "mlp"\n[camera]\nfov = 720\n', "camera.fov must be <= 179, got 720"),
    ('[model]\nname = "mlp"\n[look]\ncolormap = "no-such-map"\n', "unknown colormap 'no-such-map'"),
    ('[model]\nname = "mlp"\n[camera]\nspeed = 2\n', "unknown key 'speed' in [camera]"),
    ('[model]\nname = "mlp"\n[layout]\ngap = nan\n', "layout.gap must be a finite number"),
    ('[model]\nname = "mlp"\n[layout]\nhide = ["dropout", 3]\n', "layout.hide must be a list of strs"),
    ('[model]\nname = "mlp"\n[[path]]\nposition = [1, 2, 3]\nduration = 0\n', "bad.toml:5: path.duration must be > 0"),
    ('[model]\nname = "mlp"\n[[path]]\nfollow = ["a"]\n', "path.follow must be a list of 2 strs"),
    # values that used to hang (16 keyframes a turn) or overflow the spline and the frame count
    ('[model]\nname = "mlp"\n[[path]]\norbit = "net.2"\nturns = 1e9\n', "path.turns must be in [-1000, 1000]"),
    ('[model]\nname = "mlp"\n[[path]]\norbit = "net.2"\ndistance = 1e308\n', "path.distance must be <= 1e+06"),
    ('[model]\nname = "mlp"\n[[path]]\norbit = "net.2"\nduration = 1e308\n', "path.duration must be <= 86400"),
    ('[playground]\nlayers = [8, "x"]\n', "playground.layers must be str or a list of ints"),
    ('[model]\nname = "mlp"\n[look]\nbackground = [2, -1, 0]\n', "bad.toml:4: look.background must be valid "
                                                                  "(colour components run from 0 to 1"),
])
def test_bad_scene_file_errors_name_file_and_line(tmp_path, text, needle):
    with pytest.raises(SceneFileError) as e:
        load_scene_file(write(tmp_path, text))
    assert needle in str(e.value)
    assert "\n" not in str(e.value)


def test_missing_scene_file():
    with pytest.raises(SceneFileError, match="not found"):
        load_scene_file("nope/never.toml")


def test_overrides_and_relative_weights(tmp_path):
    p = write(tmp_path, '[model]\nname = "mlp"\nweights = "w.safetensors"\n')
    spec = resolve_spec(str(p), input_shape="1x64")
    assert spec.input_shape == "1x64"
    assert spec.weights == str(tmp_path / "w.safetensors")
    assert resolve_spec("resnet18").model == "resnet18"


@pytest.mark.parametrize("path", SCENES, ids=lambda p: p.stem)
def test_shipped_scene_colormaps_exist(path):
    from engine.colormaps import colormap_table
    spec = load_scene_file(path)
    for key in ("colormap", "diverging"):
        if key in spec.look:
            assert colormap_table(spec.look[key]).shape == (256, 4)


def test_every_option_field_is_a_file_key_and_fills_it(tmp_path):
    """The schema is the dataclasses: each field's default, written to a file, loads and fills it."""
    from dataclasses import fields

    from engine.layout.placement import LayoutOptions
    from engine.scene.look import Look
    from engine.scenefile import layout_of, look_of

    def toml(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (tuple, list)):
            return "[" + ", ".join(toml(x) for x in v) + "]"
        return f'"{v}"' if isinstance(v, str) else repr(v)

    body = ['[model]\nname = "mlp"', "[layout]"]
    body += [f"{f.name} = {toml(f.default)}" for f in fields(LayoutOptions) if f.default is not None]
    body += ["[look]"] + [f"{f.name} = {toml(f.default)}" for f in fields(Look)]
    spec = load_scene_file(write(tmp_path, "\n".join(body) + "\n"))
    assert look_of(spec) == Look() and layout_of(spec) == LayoutOptions()
    assert isinstance(look_of(spec).background, tuple) and isinstance(layout_of(spec).hide, tuple)


def test_tables_built_in_python_get_the_same_checks():
    from engine.scenefile import SceneSpec, look_of
    from engine.scenefile.schema import OptionError
    assert look_of(SceneSpec(model="mlp", look={"lod_px": 2})).lod_px == 2.0
    with pytest.raises(OptionError, match="Look.lod_px must be > 0, got -1"):
        look_of(SceneSpec(model="mlp", look={"lod_px": -1}))
    with pytest.raises(OptionError, match="unknown option 'colourmap' for Look"):
        look_of(SceneSpec(model="mlp", look={"colourmap": "viridis"}))
