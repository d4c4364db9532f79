"""The values a slab shows, in tensor order (no GL, no torch), so they can feed computations
(contributions of picked neurons): from a live frame, the slab's own values or a mosaic image."""
from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np

from engine.layout.mosaic import from_mosaic  # noqa: F401 - re-exported
from engine.scene.nodes import Scene, Slab


def slab_values(slab: Slab, values: np.ndarray | None = None, *, prescale: float = 1.0,
                log: bool = False) -> np.ndarray | None:
    """A slab's neuron values in tensor order (flat float32), from ``values`` or else
    ``slab.values``: flat tensor order, or a (rows, cols) mosaic image."""
    v = slab.values if values is None else values
    if v is None:
        return None
    v = np.asarray(v)
    if v.size == slab.count:
        flat = v.reshape(-1).astype(np.float32)
        if log:
            flat = np.sign(flat) * np.expm1(np.abs(flat))
        return flat / np.float32(prescale) if prescale not in (0.0, 1.0) else flat
    return from_mosaic(v.reshape(slab.rows, slab.cols), slab.mosaic, prescale=prescale, log=log)


class SceneValues(Mapping):
    """Tensor-order values of a scene's slabs by layer id, decoded lazily (one layer at a time,
    cached): from a live session's newest frame when one is given (the renderer's textures,
    which the scene's slabs do not follow), else from the slabs' own ``values``."""

    def __init__(self, scene: Scene, session=None) -> None:
        self._slabs = {s.layer_id: s for s in scene.slabs}
        self._frame = getattr(session, "last", None) if session is not None else None
        self._cache: dict[int, np.ndarray | None] = {}

    def _decode(self, lid: int) -> np.ndarray | None:
        s = self._slabs.get(lid)
        if s is None:
            return None
        lf = self._frame.layers.get(lid) if self._frame is not None else None
        if lf is not None and lf.values is not None:
            return slab_values(s, lf.values, prescale=lf.prescale)
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
