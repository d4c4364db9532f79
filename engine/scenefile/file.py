"""Scene files (scenes/*.toml): which model, which input, layout and look options, camera and
camera path, render options, or a [playground]. Each table is checked against the dataclass it
fills (engine/scenefile/schema.py): an unknown table or key, or a value of the wrong type or out of
range, is one error naming the file and line, so a typo never silently falls back to a default."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import NeuroscapeError
from engine.layout.placement import LayoutOptions
from engine.scene.look import Look
from engine.scene.path import PathEntry
from engine.scenefile.schema import problem, rules_of
from engine.scenefile.sections import CameraTable, InputTable, ModelTable, RenderTable, SceneInfo


class SceneFileError(NeuroscapeError):
    pass


def _playground_config():
    from engine.compute.playground import PlaygroundConfig   # imports torch: only for [playground] files
    return PlaygroundConfig


# table -> the dataclass it fills (a callable: loaded when a file has the table)
TABLES = {
    "scene": lambda: SceneInfo, "model": lambda: ModelTable, "input": lambda: InputTable,
    "layout": lambda: LayoutOptions, "look": lambda: Look, "camera": lambda: CameraTable,
    "render": lambda: RenderTable, "playground": _playground_config,
}


@dataclass
class SceneSpec:
    """Everything a command needs to build a scene; from a file or from a bare model name. The
    tables are kept as checked dicts (what the file says); CLI options override fields."""

    model: str
    weights: str | None = None
    input_shape: str | None = None
    input_dtype: str | None = None
    structure: bool = False
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


def _check_table(path: Path, text: str, table: str, body: dict) -> None:
    rules = rules_of(TABLES[table]())
    for key, val in body.items():
        if key not in rules:
            raise SceneFileError(f"{path}:{_line_of(text, table, key)}: unknown key {key!r} in [{table}]: "
                                 f"allowed keys are {', '.join(rules)}")
        why = problem(rules[key], val)
        if why:
            raise SceneFileError(f"{path}:{_line_of(text, table, key)}: {table}.{key} must be {why}")


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
        if table not in TABLES or not isinstance(body, dict):
            raise SceneFileError(f"{path}:{_line_of(text, table, None)}: unknown table [{table}]: "
                                 f"use one of {', '.join('[' + t + ']' for t in TABLES)}, [[path]]")
        _check_table(path, text, table, body)
    model = data.get("model", {})
    if "name" not in model and "playground" not in data:
        raise SceneFileError(f"{path}:{_line_of(text, 'model', None)}: missing [model] name: "
                             f"add name = \"resnet50\" (or \"package.module:callable\")")
    weights = model.get("weights")
    if weights and not Path(weights).is_absolute():
        weights = str((path.parent / weights).resolve())
    return SceneSpec(model=model.get("name", "playground"), weights=weights, input_shape=model.get("input_shape"),
                     input_dtype=model.get("input_dtype"), structure=bool(model.get("structure", False)),
                     seed=data.get("input", {}).get("seed", 0),
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
    """Validate [[path]] entries against engine.scene.path.PathEntry (layer names are checked
    against the scene later)."""
    if body is None:
        return []
    if not isinstance(body, list) or not all(isinstance(e, dict) for e in body):
        raise SceneFileError(f"{path}:{_line_of(text, 'path', None)}: [path] must be an array of tables: write "
                             "[[path]] once per keyframe")
    rules = rules_of(PathEntry)
    lines = []
    for k, e in enumerate(body):
        where = lambda key=None: f"{path}:{_path_line(text, k, key)}"  # noqa: E731
        for key, val in e.items():
            if key not in rules:
                raise SceneFileError(f"{where(key)}: unknown key {key!r} in [[path]]: allowed keys are "
                                     f"{', '.join(rules)}")
            why = problem(rules[key], val)
            if why:
                raise SceneFileError(f"{where(key)}: path.{key} must be {why}")
        kinds = [key for key in ("position", "follow", "orbit") if key in e]
        if len(kinds) != 1:
            raise SceneFileError(f"{where()}: a [[path]] entry needs exactly one of position (+ look_at), "
                                 f"follow = [\"A\", \"B\"] or orbit = \"layer\", got {kinds or 'none'}")
        if "look_at" in e and "position" not in e:
            raise SceneFileError(f"{where('look_at')}: look_at belongs to a position keyframe: add position")
        for key in ("turns", "distance"):
            if key in e and "orbit" not in e:
                raise SceneFileError(f"{where(key)}: {key} belongs to an orbit entry: add orbit = \"layer\"")
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


def find_scene(target: str) -> str:
    """A scene path as given, else one shipped with the package (scenes/ inside the wheel)."""
    if not target.endswith(".toml") or Path(target).exists():
        return target
    name = Path(target).name
    source_tree = Path(__file__).resolve().parents[2] / "scenes" / name       # checkout / editable install
    if source_tree.is_file():
        return str(source_tree)
    try:                                                                      # wheel: engine/scenes/
        from importlib.resources import files
        packaged = files("engine.scenes") / name
        return str(packaged) if packaged.is_file() else target
    except ModuleNotFoundError:
        return target
