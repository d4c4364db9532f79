"""Scene files (scenes/*.toml): which model, which input, layout and look options, camera.

Parsing is strict: an unknown table or key, or a value of the wrong type, is an error that
names the file and line, so a typo never silently falls back to a default.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import NeuroscapeError


class SceneFileError(NeuroscapeError):
    pass


# table -> key -> accepted python types
SCHEMA: dict[str, dict[str, tuple[type, ...]]] = {
    "scene": {"title": (str,), "description": (str,)},
    "model": {"name": (str,), "weights": (str,), "input_shape": (str,), "input_dtype": (str,)},
    "input": {"seed": (int,), "kind": (str,), "path": (str,), "text": (str,)},
    "layout": {"hide": (list,), "texel": (float, int), "max_extent": (float, int), "gap": (float, int),
               "max_aspect": (float, int)},
    "look": {"colormap": (str,), "diverging": (str,), "background": (list,), "show_edges": (bool,),
             "show_labels": (bool,), "max_edges_per_layer": (int,), "weight_edges_per_neuron": (int,),
             "edge_budget": (int,),
             "lod_px": (float, int)},
    "camera": {"position": (list,), "look_at": (list,), "fov": (float, int), "speed": (float, int)},
    "render": {"size": (str,), "samples": (int,)},
    # a live-training playground instead of a model (engine/compute/playground.py PlaygroundConfig)
    "playground": {"dataset": (str,), "csv": (str,), "model": (str,), "layers": (list, str), "activation": (str,),
                   "lr": (float, int), "l2": (float, int), "batch": (int,), "noise": (float, int),
                   "split": (float, int), "seed": (int,), "samples": (int,), "optimizer": (str,),
                   "resolution": (int,), "steps_per_frame": (int,), "interest": (int,)},
}
# [[path]]: camera path entries, one per keyframe / segment (see engine/record/path.py)
PATH_SCHEMA: dict[str, tuple[type, ...]] = {
    "position": (list,), "look_at": (list,), "follow": (list,), "orbit": (str,), "turns": (float, int),
    "distance": (float, int), "duration": (float, int)}


@dataclass
class SceneSpec:
    """Everything a command needs to build a scene; from a file or from a bare model name."""

    model: str
    weights: str | None = None
    input_shape: str | None = None
    input_dtype: str | None = None
    seed: int = 0
    layout: dict = field(default_factory=dict)
    look: dict = field(default_factory=dict)
    camera: dict = field(default_factory=dict)
    render: dict = field(default_factory=dict)
    input: dict = field(default_factory=dict)
    title: str = ""
    path: Path | None = None
    camera_path: list[dict] = field(default_factory=list)      # [[path]] entries
    camera_path_lines: list[int] = field(default_factory=list)  # their line numbers, for errors
    playground: dict = field(default_factory=dict)             # [playground] table


def _line_of(text: str, table: str, key: str | None) -> int:
    """1-based line of ``key`` inside ``[table]`` (or of the table header) for error messages."""
    lines = text.splitlines()
    start = next((i for i, l in enumerate(lines) if l.strip().startswith(f"[{table}]")), 0)
    if key is None:
        return start + 1
    for i in range(start, len(lines)):
        if lines[i].split("=")[0].strip() == key:
            return i + 1
    return start + 1


def load_scene_file(path: str | Path) -> SceneSpec:
    """Parse and validate a scene file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SceneFileError(f"scene file {path} not found: check the path (shipped scenes are in scenes/)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SceneFileError(f"scene file {path} cannot be read ({e}): pass a UTF-8 TOML file") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SceneFileError(f"{path}: invalid TOML: {e}: fix the syntax on that line") from None
    path_lines = _check_path_entries(path, text, data.get("path"))
    for table, body in data.items():
        if table == "path":
            continue
        if table not in SCHEMA or not isinstance(body, dict):
            raise SceneFileError(f"{path}:{_line_of(text, table, None)}: unknown table [{table}]: "
                                 f"use one of {', '.join('[' + t + ']' for t in SCHEMA)}, [[path]]")
        for key, val in body.items():
            if key not in SCHEMA[table]:
                raise SceneFileError(f"{path}:{_line_of(text, table, key)}: unknown key {key!r} in [{table}]: "
                                     f"allowed keys are {', '.join(SCHEMA[table])}")
            types = SCHEMA[table][key]
            if not isinstance(val, types) or (isinstance(val, bool) and bool not in types):
                raise SceneFileError(f"{path}:{_line_of(text, table, key)}: {table}.{key} must be "
                                     f"{' or '.join(t.__name__ for t in types)}, got {type(val).__name__}")
    for table, key, n in (("camera", "position", 3), ("camera", "look_at", 3), ("look", "background", 3)):
        v = data.get(table, {}).get(key)
        if v is not None and (len(v) != n or not all(isinstance(x, (int, float)) for x in v)):
            raise SceneFileError(f"{path}:{_line_of(text, table, key)}: {table}.{key} must be a list of "
                                 f"{n} numbers, got {v!r}")
    model = data.get("model", {})
    if "name" not in model and "playground" not in data:
        raise SceneFileError(f"{path}:{_line_of(text, 'model', None)}: missing [model] name: "
                             f"add name = \"resnet50\" (or \"package.module:callable\")")
    weights = model.get("weights")
    if weights and not Path(weights).is_absolute():
        weights = str((path.parent / weights).resolve())
    return SceneSpec(model=model.get("name", "playground"), weights=weights, input_shape=model.get("input_shape"),
                     input_dtype=model.get("input_dtype"), seed=data.get("input", {}).get("seed", 0),
                     layout=data.get("layout", {}), look=data.get("look", {}), camera=data.get("camera", {}),
                     render=data.get("render", {}), input=data.get("input", {}),
                     title=data.get("scene", {}).get("title", ""), path=path,
                     camera_path=data.get("path", []), camera_path_lines=path_lines,
                     playground=data.get("playground", {}))


def _path_line(text: str, k: int, key: str | None) -> int:
    """1-based line of ``key`` in the k-th [[path]] entry (or of its header)."""
    lines = text.splitlines()
    heads = [i for i, l in enumerate(lines) if l.strip().replace(" ", "").startswith("[[path]]")]
    if k >= len(heads):
        return next((i + 1 for i, l in enumerate(lines) if l.split("=")[0].strip() == "path"), 1)
    start = heads[k]
    for i in range(start + 1, len(lines)):
        if lines[i].strip().startswith("["):
            break
        if key is not None and lines[i].split("=")[0].strip() == key:
            return i + 1
    return start + 1


def _check_path_entries(path: Path, text: str, body) -> list[int]:
    """Validate [[path]] entries (types and shapes; layer names are checked against the scene later)."""
    if body is None:
        return []
    if not isinstance(body, list) or not all(isinstance(e, dict) for e in body):
        raise SceneFileError(f"{path}:{_line_of(text, 'path', None)}: [path] must be an array of tables: write "
                             "[[path]] once per keyframe")
    lines = []
    for k, e in enumerate(body):
        where = lambda key=None: f"{path}:{_path_line(text, k, key)}"  # noqa: E731
        for key, val in e.items():
            if key not in PATH_SCHEMA:
                raise SceneFileError(f"{where(key)}: unknown key {key!r} in [[path]]: allowed keys are "
                                     f"{', '.join(PATH_SCHEMA)}")
            types = PATH_SCHEMA[key]
            if not isinstance(val, types) or isinstance(val, bool):
                raise SceneFileError(f"{where(key)}: path.{key} must be {' or '.join(t.__name__ for t in types)}, "
                                     f"got {type(val).__name__}")
        kinds = [key for key in ("position", "follow", "orbit") if key in e]
        if len(kinds) != 1:
            raise SceneFileError(f"{where()}: a [[path]] entry needs exactly one of position (+ look_at), "
                                 f"follow = [\"A\", \"B\"] or orbit = \"layer\", got {kinds or 'none'}")
        for key in ("position", "look_at"):
            v = e.get(key)
            if v is not None and (len(v) != 3 or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                          for x in v)):
                raise SceneFileError(f"{where(key)}: path.{key} must be a list of 3 numbers, got {v!r}")
        if "look_at" in e and "position" not in e:
            raise SceneFileError(f"{where('look_at')}: look_at belongs to a position keyframe: add position")
        f = e.get("follow")
        if f is not None and (len(f) != 2 or not all(isinstance(x, str) for x in f)):
            raise SceneFileError(f"{where('follow')}: path.follow must be two layer names, e.g. "
                                 f"[\"layer1\", \"layer4\"], got {f!r}")
        for key in ("turns", "distance"):
            if key in e and "orbit" not in e:
                raise SceneFileError(f"{where(key)}: {key} belongs to an orbit entry: add orbit = \"layer\"")
        if "duration" in e and not e["duration"] > 0:
            raise SceneFileError(f"{where('duration')}: path.duration must be seconds > 0, got {e['duration']!r}")
        if "distance" in e and not e["distance"] > 0:
            raise SceneFileError(f"{where('distance')}: path.distance must be > 0, got {e['distance']!r}")
        lines.append(_path_line(text, k, None))
    return lines


def resolve_spec(target: str, **overrides) -> SceneSpec:
    """A scene file path (*.toml) or a model spec; CLI options override the file's values."""
    if target.endswith(".toml"):
        spec = load_scene_file(target)
    else:
        spec = SceneSpec(model=target)
    for k, v in overrides.items():
        if v is not None:
            setattr(spec, k, v)
    return spec
