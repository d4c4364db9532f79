"""Playground datasets: small 2D / 3D classification sets built in, or the user's CSV.

Every dataset is plain numpy: ``x`` (N, 2|3) float32 scaled into [-1, 1] per axis, ``y`` (N,) int64
class ids 0..C-1. Built-ins are seeded, so a name + noise + seed always gives the same points.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import NeuroscapeError


class DatasetError(NeuroscapeError):
    """A bad dataset name, CSV file or dataset parameter."""


@dataclass
class Dataset:
    name: str
    x: np.ndarray              # (N, dims) float32 in [-1, 1]
    y: np.ndarray              # (N,) int64 class ids
    class_names: list[str]

    @property
    def dims(self) -> int:
        return int(self.x.shape[1])

    @property
    def classes(self) -> int:
        return len(self.class_names)

    def split(self, test_share: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(train indices, test indices): a seeded, class-stratified shuffle."""
        if not 0.0 < test_share < 1.0:
            raise DatasetError(f"test share {test_share} is outside (0, 1): use e.g. 0.5")
        rng = np.random.default_rng(seed + 7919)
        train, test = [], []
        for c in range(self.classes):
            idx = rng.permutation(np.flatnonzero(self.y == c))
            k = int(round(len(idx) * test_share))
            k = min(max(k, 1 if len(idx) > 1 else 0), len(idx) - 1) if len(idx) > 1 else 0
            test.append(idx[:k])
            train.append(idx[k:])
        return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _scaled(x: np.ndarray) -> np.ndarray:
    """Centre each axis and scale the largest axis extent into [-0.9, 0.9] (aspect kept)."""
    x = np.asarray(x, np.float64)
    lo, hi = x.min(axis=0), x.max(axis=0)
    centre = (lo + hi) / 2
    half = float(np.max(hi - lo)) / 2 or 1.0
    return ((x - centre) / half * 0.9).astype(np.float32)


def _circles(n: int, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow Playground's circle: class 1 inside radius 0.5, class 0 in a ring 0.7..1.0."""
    half = n // 2
    r_in = rng.uniform(0.0, 0.5, half)
    r_out = rng.uniform(0.7, 1.0, n - half)
    a = rng.uniform(0, 2 * np.pi, n)
    r = np.r_[r_in, r_out]
    x = np.c_[r * np.cos(a), r * np.sin(a)] + rng.normal(0, noise * 0.5, (n, 2))
    return x, np.r_[np.ones(half), np.zeros(n - half)]


def _xor(n: int, noise: float, rng):
    x = rng.uniform(-1, 1, (n, 2))
    pad = 0.05
    x += np.sign(x) * pad
    y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)
    return x + rng.normal(0, noise * 0.5, (n, 2)), y


def _spirals(n: int, noise: float, rng):
    half = n // 2
    out, ys = [], []
    for c, k in ((0, half), (1, n - half)):
        t = np.linspace(0, 1, k) ** 0.8
        r = 0.1 + 0.9 * t
        a = 1.75 * t * 2 * np.pi + c * np.pi
        out.append(np.c_[r * np.sin(a), r * np.cos(a)])
        ys.append(np.full(k, c))
    x = np.concatenate(out)
    return x + rng.normal(0, noise * 0.3, x.shape), np.concatenate(ys)


def _blobs(n: int, noise: float, rng):
    half = n // 2
    spread = 0.15 + noise
    a = rng.normal((0.5, 0.5), spread, (half, 2))
    b = rng.normal((-0.5, -0.5), spread, (n - half, 2))
    return np.r_[a, b], np.r_[np.ones(half), np.zeros(n - half)]


def _shells3d(n: int, noise: float, rng):
    """Two concentric spherical shells: class 1 the inner ball, class 0 the outer shell."""
    half = n // 2
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    r = np.r_[rng.uniform(0.0, 0.45, half), rng.uniform(0.7, 1.0, n - half)]
    x = d * r[:, None] + rng.normal(0, noise * 0.5, (n, 3))
    return x, np.r_[np.ones(half), np.zeros(n - half)]


def _helices3d(n: int, noise: float, rng):
    """Two intertwined helices along z."""
    half = n // 2
    out, ys = [], []
    for c, k in ((0, half), (1, n - half)):
        t = rng.uniform(0, 1, k)
        a = t * 3 * np.pi + c * np.pi
        out.append(np.c_[0.6 * np.cos(a), 0.6 * np.sin(a), 2 * t - 1])
        ys.append(np.full(k, c))
    x = np.concatenate(out)
    return x + rng.normal(0, noise * 0.5 + 0.04, x.shape), np.concatenate(ys)


def _pca3(x: np.ndarray) -> np.ndarray:
    x = x - x.mean(axis=0)
    _u, _s, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[:3].T


def _iris(n: int, noise: float, rng):
    from sklearn.datasets import load_iris
    d = load_iris()
    x = _pca3((d.data - d.data.mean(0)) / d.data.std(0))
    return x + rng.normal(0, noise * 0.2, x.shape), d.target, [str(t) for t in d.target_names]


def _digits(n: int, noise: float, rng):
    from sklearn.datasets import load_digits
    d = load_digits()
    x = _pca3(d.data.astype(np.float64))
    return x + rng.normal(0, noise * x.std() * 0.2, x.shape), d.target, [str(t) for t in range(10)]


BUILTIN = {"circles": _circles, "xor": _xor, "spirals": _spirals, "blobs": _blobs,
           "shells3d": _shells3d, "helices3d": _helices3d, "iris": _iris, "digits": _digits}
DIMS = {"circles": 2, "xor": 2, "spirals": 2, "blobs": 2, "shells3d": 3, "helices3d": 3, "iris": 3, "digits": 3}


def make_dataset(name: str, n: int = 400, noise: float = 0.1, seed: int = 0) -> Dataset:
    """A built-in dataset by name (see BUILTIN); ``noise`` in [0, 1]."""
    key = str(name).strip().lower()
    if key not in BUILTIN:
        raise DatasetError(f"unknown dataset {name!r}: use one of {', '.join(BUILTIN)} or --csv FILE")
    if not 0.0 <= noise <= 1.0:
        raise DatasetError(f"noise {noise} is outside [0, 1]: use e.g. 0.1")
    if not 20 <= n <= 1_000_000:
        raise DatasetError(f"{n} points is outside 20..1000000: choose a sample count in that range")
    rng = np.random.default_rng(seed)
    got = BUILTIN[key](n, noise, rng)
    x, y = got[0], got[1]
    names = got[2] if len(got) > 2 else ["0", "1"]
    return Dataset(key, _scaled(x), np.asarray(y, np.int64), names)


def load_csv(path: str | Path) -> Dataset:
    """A CSV of numeric feature columns (2 or 3) and a last label column (any text or number).

    An optional header row (non-numeric feature cells in the first row) is skipped."""
    p = Path(path)
    if not p.is_file():
        raise DatasetError(f"CSV file {str(p)!r} not found: check the --csv path")
    try:
        with p.open(newline="", encoding="utf-8") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise DatasetError(f"CSV file {str(p)!r} cannot be read ({e}): pass a UTF-8 comma-separated file") from None
    if not rows:
        raise DatasetError(f"CSV file {str(p)!r} is empty: add rows of x,y[,z],label")

    def numeric(cells: list[str]) -> bool:
        try:
            [float(c) for c in cells]
            return True
        except ValueError:
            return False

    header = None
    if not numeric(rows[0][:-1]):
        header, rows = rows[0], rows[1:]
    if not rows:
        raise DatasetError(f"CSV file {str(p)!r} has a header but no data rows: add rows of x,y[,z],label")
    width = len(rows[0])
    if width not in (3, 4):
        raise DatasetError(f"{p.name}: rows have {width} columns; need 2 or 3 feature columns and a last label column")
    feats, labels = [], []
    for i, r in enumerate(rows, start=2 if header else 1):
        if len(r) != width:
            raise DatasetError(f"{p.name}:{i}: {len(r)} columns where the first row has {width}: give every row "
                               f"the same columns")
        try:
            v = [float(c) for c in r[:-1]]
        except ValueError:
            bad = next(c for c in r[:-1] if not numeric([c]))
            raise DatasetError(f"{p.name}:{i}: non-numeric feature {bad!r}: feature columns must be numbers "
                               f"(the label is the last column)") from None
        if not np.all(np.isfinite(v)):
            raise DatasetError(f"{p.name}:{i}: NaN or infinite feature: remove or fix that row")
        feats.append(v)
        labels.append(r[-1].strip())
    names = sorted(set(labels), key=lambda s: (not numeric([s]), float(s) if numeric([s]) else 0.0, s))
    if len(names) < 2:
        raise DatasetError(f"{p.name}: only one class ({names[0]!r}) in the label column: a classifier needs at "
                           f"least 2 classes")
    if len(rows) < 4:
        raise DatasetError(f"{p.name}: only {len(rows)} rows: give at least 4 labelled points")
    index = {n: k for k, n in enumerate(names)}
    return Dataset(p.stem, _scaled(np.asarray(feats)), np.array([index[s] for s in labels], np.int64), names)


__all__ = ["Dataset", "DatasetError", "BUILTIN", "DIMS", "make_dataset", "load_csv"]
