"""Camera paths for recordings: keyframes (position + look-at), "follow the data flow from layer A
to layer B" and "orbit layer X" segments, interpolated with clamped cubic splines (scipy), so the
camera starts and stops gently and passes every keyframe smoothly. With no path given, the default
flies beside the network from input to output, keeping each stretch of layers framed by its local
size. A path maps a time in seconds to a camera and nothing else: frame i of a recording is
``cameras(n)[i]`` whatever the machine's speed (fixed timestep).

Scene files describe a path as ``[[path]]`` entries (PathEntry below is their schema)::

    [[path]]                      # a keyframe
    position = [20, 12, 25]
    look_at = [0, 0, -30]
    [[path]]                      # then fly along the data flow
    follow = ["layer1", "layer4"] # layer names or module prefixes (neuroscape inspect)
    duration = 8                  # seconds from the previous entry's end to this entry's end
    [[path]]
    orbit = "fc"
    turns = 1.0
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.errors import NeuroscapeError
from engine.scene.camera import Camera
from engine.scene.nodes import Scene, Slab

DEFAULT_DURATION = {"position": 3.0, "follow": 6.0, "orbit": 6.0}
TRANSITION = 0.25            # share of a follow/orbit segment spent reaching its first key


MAX_TURNS = 1000.0           # an orbit's turns (16 keyframes each)
MAX_DISTANCE = 1e6           # world units from an orbited layer
MAX_SECONDS = 86400.0        # one entry's duration: a day of video


@dataclass
class PathEntry:
    """One [[path]] entry of a scene file: a keyframe (position, look_at), a flight along the data
    flow (follow = two layer names or module prefixes) or an orbit (orbit, turns, distance), reached
    ``duration`` seconds after the previous entry. Entries stay dicts; this is their schema."""

    position: tuple[float, float, float] | None = None
    look_at: tuple[float, float, float] | None = None
    follow: tuple[str, str] | None = None
    orbit: str | None = None
    turns: float | None = field(default=None, metadata={"min": -MAX_TURNS, "max": MAX_TURNS})
    distance: float | None = field(default=None, metadata={"above": 0, "max": MAX_DISTANCE})
    duration: float | None = field(default=None, metadata={"above": 0, "max": MAX_SECONDS})


class CameraPathError(NeuroscapeError):
    pass


@dataclass
class Key:
    t: float                 # seconds from the start of the path
    position: np.ndarray
    target: np.ndarray       # look-at point


class CameraPath:
    """Keys -> smooth camera motion. Positions and look-at targets are each a clamped cubic spline
    over time (zero velocity at both ends)."""

    def __init__(self, keys: list[Key], fov: float = 60.0, source: str = "default") -> None:
        if not keys:
            raise CameraPathError("a camera path needs at least one keyframe: add a [[path]] entry")
        keys = sorted(keys, key=lambda k: k.t)
        ts = np.array([k.t for k in keys], np.float64)
        if np.any(np.diff(ts) <= 0):
            raise CameraPathError("camera path keyframes share a time: give every [[path]] entry a duration > 0")
        self.keys, self.fov, self.source = keys, float(fov), source
        pos = np.array([k.position for k in keys], np.float64)
        tgt = np.array([k.target for k in keys], np.float64)
        if not (np.isfinite(pos).all() and np.isfinite(tgt).all()):
            raise CameraPathError("a camera path keyframe is not finite: use finite numbers for position and look_at")
        if len(keys) == 1:
            self._pos = lambda t: pos[0]
            self._tgt = lambda t: tgt[0]
        else:
            from scipy.interpolate import CubicSpline      # here: importing scipy.interpolate takes ~0.5-1 s
            self._pos = CubicSpline(ts, pos, axis=0, bc_type="clamped")
            self._tgt = CubicSpline(ts, tgt, axis=0, bc_type="clamped")

    @property
    def duration(self) -> float:
        return float(self.keys[-1].t)

    def at(self, t: float) -> Camera:
        t = float(np.clip(t, 0.0, self.duration))
        pos = np.asarray(self._pos(t), np.float64)
        cam = Camera(position=pos.copy(), fov=self.fov)
        return cam.look_at(np.asarray(self._tgt(t), np.float64))

    def times(self, frames: int) -> np.ndarray:
        """Path time of each of ``frames`` frames: the first shows the start, the last the end."""
        if frames <= 1:
            return np.zeros(max(frames, 0))
        return np.linspace(0.0, self.duration, frames)

    def cameras(self, frames: int) -> list[Camera]:
        return [self.at(t) for t in self.times(frames)]


# ---------------------------------------------------------------- building blocks
def _flow_profile(scene: Scene):
    """Along the network (z, input end first): smoothed local extent and centre x/y."""
    slabs = scene.slabs
    zs = np.array([s.center[2] for s in slabs])
    ext = np.array([max(s.cols * np.linalg.norm(s.u), s.rows * np.linalg.norm(s.v)) for s in slabs])
    cx = np.array([s.center[0] for s in slabs])
    cy = np.array([s.center[1] for s in slabs])
    order = np.argsort(-zs, kind="stable")          # input end (largest z) first
    zs, ext, cx, cy = zs[order], ext[order], cx[order], cy[order]
    lo, hi = float(zs[-1]), float(zs[0])
    grid = np.linspace(hi, lo, 256) if hi > lo else np.array([hi, hi - 1.0])
    from scipy.ndimage import gaussian_filter1d
    sm = lambda a: gaussian_filter1d(np.interp(-grid, -zs, a), 12)   # np.interp wants increasing x
    return grid, np.maximum(sm(ext), 1.0), sm(cx), sm(cy), zs


def _flow_key(profile, z: float, t: float) -> Key:
    grid, local, cx, cy, _ = profile
    e = float(np.interp(-z, -grid, local))
    x, y = float(np.interp(-z, -grid, cx)), float(np.interp(-z, -grid, cy))
    pos = np.array([x + 0.9 * e, y + 0.55 * e, z + 1.3 * e])
    return Key(t, pos, np.array([x, y, z - 0.4 * e]))


def _flow_keys(profile, z0: float, z1: float, t0: float, t1: float, n: int, ease: bool) -> list[Key]:
    keys = []
    for k in range(n):
        u = k / (n - 1)
        s = u * u * (3 - 2 * u) if ease else u     # ease in and out along the network
        keys.append(_flow_key(profile, z0 + (z1 - z0) * s, t0 + (t1 - t0) * u))
    return keys


def default_keys(scene: Scene, duration: float) -> list[Key]:
    """The default path: input to output beside the network over ``duration`` seconds."""
    if not scene.slabs:
        return [Key(0.0, scene.camera.position.copy(), scene.camera.position + scene.camera.forward)]
    prof = _flow_profile(scene)
    zs = prof[4]
    n = int(np.clip(len(scene.slabs), 8, 48))
    return _flow_keys(prof, float(zs[0]), float(zs[-1]), 0.0, max(duration, 1e-3), n, ease=True)


def default_camera_path(scene: Scene, duration: float) -> CameraPath:
    return CameraPath(default_keys(scene, duration), fov=scene.camera.fov, source="default")


def default_path(scene: Scene, frames: int, duration: float = 6.0) -> list[Camera]:
    """Cameras of the default fly-through, one per frame."""
    return default_camera_path(scene, duration).cameras(frames)


def find_layers(scene: Scene, name: str) -> list[Slab]:
    """Slabs named ``name`` exactly, else those inside module ``name`` (prefix ``name.``), by rank."""
    exact = [s for s in scene.slabs if s.name == name]
    found = exact or [s for s in scene.slabs if s.name.startswith(name + ".")]
    if not found:
        names = [s.name for s in scene.slabs]
        some = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        raise CameraPathError(f"no layer {name!r} in this scene: use a layer name or module prefix "
                              f"from `neuroscape inspect` (e.g. {some})")
    return sorted(found, key=lambda s: (s.rank, -s.center[2]))


def _group_box(slabs: list[Slab]) -> tuple[np.ndarray, np.ndarray]:
    lo = np.min([s.bbox[0] for s in slabs], axis=0)
    hi = np.max([s.bbox[1] for s in slabs], axis=0)
    return lo, hi


def _orbit_keys(scene: Scene, slabs: list[Slab], turns: float, distance: float | None, t0: float, t1: float,
                prev: Key | None, fov: float) -> list[Key]:
    lo, hi = _group_box(slabs)
    c = (lo + hi) / 2
    half = float(np.linalg.norm(hi - lo)) / 2
    r = float(distance) if distance else max(1.3 * half / math.tan(math.radians(fov) / 2), 0.5)
    if prev is not None and np.linalg.norm((prev.position - c)[[0, 2]]) > 1e-6:
        d = prev.position - c
        a0 = math.atan2(d[2], d[0])
    else:
        a0 = math.radians(55.0)          # from the front (+z), a little to the right, like the default view
    n = max(8, math.ceil(16 * abs(turns))) + 1
    keys = []
    for k in range(n):
        u = k / (n - 1)
        a = a0 + 2 * math.pi * turns * u
        pos = c + np.array([r * math.cos(a), 0.35 * r, r * math.sin(a)])
        keys.append(Key(t0 + (t1 - t0) * u, pos, c.copy()))
    return keys


def path_from_entries(scene: Scene, entries: list[dict], lines: list[int] | None = None,
                      file: str | Path | None = None) -> CameraPath:
    """A camera path from ``[[path]]`` entries (checked against PathEntry when the file loads). Layer names are
    checked here, against the scene; errors name the file and line of the entry."""
    fov = scene.camera.fov
    prof = _flow_profile(scene) if scene.slabs else None
    keys: list[Key] = []
    t = 0.0
    for i, e in enumerate(entries):
        where = f"{file}:{lines[i]}: " if file and lines and i < len(lines) else f"camera path entry {i + 1}: "
        kind = next((k for k in ("position", "follow", "orbit") if k in e), None)
        if kind is None:
            raise CameraPathError(f"{where}a [[path]] entry needs position (with look_at), follow = [\"A\", \"B\"] "
                                  "or orbit = \"layer\"")
        dur = float(e.get("duration", DEFAULT_DURATION[kind]))
        if not math.isfinite(dur) or dur <= 0:
            raise CameraPathError(f"{where}duration must be a number of seconds > 0, got {dur}")
        prev = keys[-1] if keys else None
        start = t if prev is None else t + TRANSITION * dur
        end = t + dur if prev is not None else max(dur, 1e-3)
        try:
            if kind == "position":
                pos = np.asarray(e["position"], np.float64)
                tgt = np.asarray(e["look_at"], np.float64) if "look_at" in e else pos + scene.camera.forward
                if "look_at" in e and np.linalg.norm(tgt - pos) < 1e-9:
                    raise CameraPathError("look_at equals position: look at a point away from the camera")
                keys.append(Key(0.0 if prev is None else t + dur, pos, tgt))
                t = keys[-1].t
                continue
            if prof is None:
                raise CameraPathError("the scene has no layers to follow or orbit: use position keyframes")
            if kind == "follow":
                names = e["follow"]
                a, b = find_layers(scene, names[0])[0], find_layers(scene, names[1])[-1]
                if abs(a.center[2] - b.center[2]) < 1e-9:
                    raise CameraPathError(f"follow {names[0]!r} -> {names[1]!r} goes nowhere: name two layers "
                                          "at different depths")
                n = int(np.clip(abs(a.rank - b.rank) + 1, 4, 48))
                keys += _flow_keys(prof, float(a.center[2]), float(b.center[2]), start, end, n, ease=False)
            else:
                turns = float(e.get("turns", 1.0))
                if turns == 0 or not math.isfinite(turns):
                    raise CameraPathError(f"turns must be a non-zero number, got {turns}")
                dist = e.get("distance")
                if dist is not None and not dist > 0:
                    raise CameraPathError(f"distance must be > 0, got {dist}")
                keys += _orbit_keys(scene, find_layers(scene, e["orbit"]), turns, dist, start, end, prev, fov)
        except CameraPathError as err:
            msg = str(err)
            raise CameraPathError(msg if msg.startswith(where) else where + msg) from None
        t = keys[-1].t
    return CameraPath(keys, fov=fov, source=str(file) if file else "entries")


def scene_camera_path(scene: Scene, spec=None, duration: float | None = None) -> CameraPath:
    """The spec's [[path]] if it has one, else the default fly-through lasting ``duration`` s (default 6)."""
    entries = getattr(spec, "camera_path", None) if spec is not None else None
    if entries:
        return path_from_entries(scene, entries, getattr(spec, "camera_path_lines", None), getattr(spec, "path", None))
    return default_camera_path(scene, duration or 6.0)


# ---------------------------------------------------------------- saving (viewer: K adds, J saves)
def _toml_num(v: float) -> str:
    return repr(round(float(v), 4))


def path_entries_toml(entries: list[dict]) -> str:
    out = []
    for e in entries:
        out.append("[[path]]")
        for k in ("position", "look_at"):
            if k in e:
                out.append(f"{k} = [{', '.join(_toml_num(v) for v in e[k])}]")
        if "duration" in e:
            out.append(f"duration = {_toml_num(e['duration'])}")
        out.append("")
    return "\n".join(out)


def _strip_tables(text: str, headers: tuple[str, ...] = ("[[path]]",)) -> str:
    """Remove every table (or array-of-tables entry) with one of ``headers`` from scene-file text, each up
    to the next table header."""
    out, skipping = [], False
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("["):
            skipping = s.replace(" ", "").split("#")[0] in headers
        if not skipping:
            out.append(line)
    return "\n".join(out).rstrip() + "\n"


def input_table_toml(input_spec: str) -> str:
    """An --input spec as the scene file's [input] table: text, a file or folder (absolute), or a kind."""
    import json
    if input_spec.startswith("text:"):
        return f"[input]\ntext = {json.dumps(input_spec[5:])}\n"
    p = Path(input_spec).expanduser()
    if p.exists():
        return f"[input]\npath = {json.dumps(str(p.resolve()))}\n"
    return f"[input]\nkind = {json.dumps(input_spec)}\n"


def save_path_file(entries: list[dict], out: str | Path, base: str | Path | None = None,
                   model: str | None = None, input_spec: str | None = None) -> Path:
    """Write a scene file: ``base`` (a scene file) with its [[path]] entries replaced by
    ``entries``, or a minimal one naming ``model``; with ``input_spec`` (the viewer's --input), its
    [input] table says that input, so the path replays on what it was made with. Returns the path."""
    out = Path(out)
    strip = ("[[path]]", "[input]") if input_spec else ("[[path]]",)
    if base is not None and str(base).endswith(".toml") and Path(base).is_file():
        text = _strip_tables(Path(base).read_text(encoding="utf-8"), strip)
        if Path(base).resolve().parent != out.resolve().parent and "weights" in text:
            text = "# note: relative paths (weights) are relative to " + str(Path(base).resolve().parent) + "\n" + text
    else:
        text = f'[model]\nname = "{model or "mlp"}"\n'
    if input_spec:
        text += "\n" + input_table_toml(input_spec)
    text += "\n# camera path recorded in the viewer (K adds a keyframe, J saves)\n" + path_entries_toml(entries)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out)
    except OSError as e:
        raise CameraPathError(f"cannot write the camera path to {out} ({e.strerror}): "
                              "choose a writable --path-out") from None
    return out


class PathBuilder:
    """The viewer's path recorder: K adds the current camera as a keyframe (its duration is the
    time since the previous one, 1-10 s), J writes the path into a scene file."""

    def __init__(self, scene: Scene, out: str | Path | None = None, base: str | Path | None = None,
                 model: str | None = None, input_spec: str | None = None) -> None:
        self.scene, self.base, self.model, self.input_spec = scene, base, model, input_spec
        self.out = Path(out) if out is not None else None
        self.entries: list[dict] = []
        self._last_t: float | None = None
        self._chosen = out is not None

    def add(self, cam: Camera, now: float) -> str:
        lo, hi = self.scene.bbox if self.scene.slabs else (np.zeros(3), np.zeros(3))
        dist = max(float(np.linalg.norm((lo + hi) / 2 - cam.position)), 1.0)
        e = {"position": [float(v) for v in cam.position],
             "look_at": [float(v) for v in cam.position + cam.forward * dist]}
        if self._last_t is not None:
            e["duration"] = float(np.clip(now - self._last_t, 1.0, 10.0))
        self._last_t = now
        self.entries.append(e)
        return f"keyframe {len(self.entries)} added (J saves the path)"

    def default_out(self) -> Path:
        b = Path(str(self.base)) if self.base is not None and str(self.base).endswith(".toml") else None
        folder = b.parent if b is not None and b.parent.is_dir() and os.access(b.parent, os.W_OK) else Path(".")
        stem = (b.stem if b is not None else str(self.model or self.base or "scene").replace(":", "_")) + "-path"
        out, k = folder / f"{stem}.toml", 2
        while out.exists():
            out, k = folder / f"{stem}-{k}.toml", k + 1
        return out

    def save(self) -> Path:
        if not self.entries:
            raise CameraPathError("no keyframes yet: press K to add the current camera as a keyframe")
        if not self._chosen:          # first save picks a fresh name; later saves update that file
            self.out, self._chosen = self.default_out(), True
        return save_path_file(self.entries, self.out, base=self.base, model=self.model or str(self.base or ""),
                              input_spec=self.input_spec)


__all__ = ["PathBuilder", "CameraPath", "CameraPathError", "Key", "default_path", "default_camera_path", "path_from_entries",
           "scene_camera_path", "find_layers", "save_path_file", "path_entries_toml"]
