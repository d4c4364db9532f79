"""Display mosaics back to tensor order (no GL, no torch): the inverse of
engine/layout/mosaic.py's ``to_mosaic`` and of the live probe's texel encoding, so the values a
slab shows can feed computations (contributions of picked neurons)."""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from engine.layout.mosaic import Mosaic
from engine.scene.nodes import Scene, Slab


def slab_mosaic(slab: Slab) -> Mosaic:
    """The :class:`Mosaic` a slab's texels follow (tiles of ``slab.tile`` texels)."""
    th, tw = slab.tile if slab.tile else (slab.rows, slab.cols)
    th, tw = max(1, int(th)), max(1, int(tw))
    tiles_r, tiles_c = slab.rows // th, slab.cols // tw
    return Mosaic(int(slab.count), -(-int(slab.count) // (th * tw)), th, tw, tiles_r, tiles_c)


def from_mosaic(image: np.ndarray, m: Mosaic, *, prescale: float = 1.0, log: bool = False) -> np.ndarray:
    """Flat float32 values (tensor order, ``m.count`` long) of a (rows, cols) mosaic image.

    Neuron i sits at texel ``m.texel(i)``. ``prescale`` and ``log`` undo the live probe's
    encoding (texel = value * prescale, or sign(v) * log1p(|v|) when log is on)."""
    img = np.asarray(image)
    if img.shape != (m.rows, m.cols):
        raise ValueError(f"mosaic image is {img.shape}, expected {(m.rows, m.cols)}")
    tiles = img.reshape(m.tiles_r, m.th, m.tiles_c, m.tw).transpose(0, 2, 1, 3)
    flat = tiles.reshape(-1)[: m.count].astype(np.float32)
    if log:
        flat = np.sign(flat) * np.expm1(np.abs(flat))
    if prescale not in (0.0, 1.0):
        flat = flat / np.float32(prescale)
    return flat


def slab_values(slab: Slab, image: np.ndarray | None = None, *, prescale: float = 1.0,
                log: bool = False) -> np.ndarray | None:
    """A slab's neuron values in tensor order (flat), from ``image`` or else ``slab.values``."""
    image = slab.values if image is None else image
    if image is None:
        return None
    return from_mosaic(image, slab_mosaic(slab), prescale=prescale, log=log)


class SceneValues(Mapping):
    """Tensor-order values of a scene's slabs by layer id, decoded lazily (one layer at a time,
    cached): from a live session's newest frame when one is given (the renderer's textures,
    which the scene's slabs do not follow), else from the slabs' own ``values``."""

    def __init__(self, scene: Scene, session=None) -> None:
        self._slabs = {s.layer_id: s for s in scene.slabs}
        self._frame = getattr(session, "last", None) if session is not None else None
        self._log = bool(getattr(getattr(session, "probe", None), "log", False))
        self._cache: dict[int, np.ndarray | None] = {}

    def _decode(self, lid: int) -> np.ndarray | None:
        s = self._slabs.get(lid)
        if s is None:
            return None
        lf = self._frame.layers.get(lid) if self._frame is not None else None
        if lf is not None and lf.mosaic is not None:
            return slab_values(s, np.array(lf.mosaic, dtype=np.float32), prescale=lf.prescale, log=self._log)
        return slab_values(s)

    def __getitem__(self, lid: int) -> np.ndarray:
        if lid not in self._cache:
            self._cache[lid] = self._decode(lid)
        v = self._cache[lid]
        if v is None:
            raise KeyError(lid)
        return v

    def __contains__(self, lid: object) -> bool:
        try:
            self[lid]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[int]:
        return (lid for lid in self._slabs if lid in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)
