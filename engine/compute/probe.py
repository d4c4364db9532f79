"""Live probes: one real forward pass per frame, each displayed layer's output reduced on the
model's device (normalization stats, non-finite count) and laid out as its mosaic there, in the
transfer dtype, so the renderer writes the bytes as they arrive (one texture write per layer).

Transfer dtype ("auto"): float16 on CUDA (half the bytes over the bus; the GPU builds mipmaps for
free), float32 on the CPU (host memory is the device: quantizing would add a pass, and the
software-GL mipmap pyramid is fastest in float32). Texture contents (the documented quantization):
texel = dtype(value * prescale), prescale = 1 unless |value| would overflow float16 (> 60000);
the colormap scale per layer is 1 / max|value| ("layer") or 1 / max over all layers ("global");
with log=True the texel holds sign(v) * log1p(|v|) instead of v.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from engine.layout.mosaic import Mosaic, mosaic_for
from engine.model.graph import LayerGraph
from engine.model.inputs import ExampleInputs

F16_SAFE = 60000.0


@dataclass
class LayerFrame:
    layer_id: int
    mosaic: np.ndarray        # (rows, cols) float16 or float32: the texture image
    scale: float              # colormap scale for the texels
    signed: bool
    nonfinite: int            # NaN/Inf neurons in this layer
    prescale: float = 1.0     # texel = value * prescale


@dataclass
class Frame:
    layers: dict[int, LayerFrame] = field(default_factory=dict)
    error: str | None = None  # the model raised: message for the HUD; layers keep their last values
    nonfinite: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _device_of(model: torch.nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def pick_device(prefer: str | None = None) -> torch.device:
    """CUDA when present (or asked for), else CPU."""
    if prefer:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class LiveProbe:
    """Runs ``model`` and returns the displayed layers' outputs as float16 mosaics."""

    def __init__(self, model: torch.nn.Module, graph: LayerGraph, layer_ids: list[int] | None = None, *,
                 norm: str = "layer", log: bool = False, dtype: str = "auto", ring: int = 1) -> None:
        if norm not in ("layer", "global"):
            raise ValueError(f"norm must be 'layer' or 'global', got {norm!r}")
        self.model, self.graph, self.norm, self.log = model, graph, norm, log
        self.device = _device_of(model)
        if dtype == "auto":
            dtype = "float16" if self.device.type == "cuda" else "float32"
        if dtype not in ("float16", "float32"):
            raise ValueError(f"dtype must be auto, float16 or float32, got {dtype!r}")
        self.dtype = getattr(torch, dtype)
        ids = set(l.id for l in graph.layers) if layer_ids is None else set(layer_ids)
        self.by_name = {l.name: l for l in graph.layers if l.id in ids}
        self.mosaics: dict[int, Mosaic] = {l.id: mosaic_for(l.shape[1:] if len(l.shape) > 1 else l.shape)
                                           for l in self.by_name.values()}
        # ring > 1: frames rotate through that many buffer sets, so a frame handed to the renderer
        # (which reads it lazily for mipmaps) is not overwritten by the next ring - 1 frames
        self.ring = max(1, ring)
        self._dev_sets: list[dict[int, torch.Tensor]] = [{} for _ in range(self.ring)]
        self._host_sets: list[dict[int, torch.Tensor]] = [{} for _ in range(self.ring)]
        self.frames = 0

    # ------------------------------------------------------------------------------
    def _buffer(self, lid: int, m: Mosaic) -> torch.Tensor:
        """Per-layer (tiles_r, th, tiles_c, tw) buffer on the device, reused every frame."""
        bufs = self._dev_sets[self.frames % self.ring]
        b = bufs.get(lid)
        if b is None:
            b = bufs[lid] = torch.zeros((m.tiles_r, m.th, m.tiles_c, m.tw), dtype=self.dtype,
                                                  device=self.device)
        return b

    @staticmethod
    def _fill(buf: torch.Tensor, t: torch.Tensor, m: Mosaic) -> None:
        """Copy ``t`` (tensor order) into the mosaic buffer: reorder + dtype in strided copies.
        Neuron i goes to tile i // (th*tw) (engine/layout/mosaic.py); the last tile may be partial."""
        if m.ntiles == 1 and m.tiles_c == 1:
            buf.view(-1)[: m.count].copy_(t.reshape(-1))
            return
        flat = t.reshape(-1)
        per = m.th * m.tw
        tiles = buf.permute(0, 2, 1, 3)                      # (tiles_r, tiles_c, th, tw) view
        whole = m.count // per                               # complete tiles
        rows_full = whole // m.tiles_c                       # complete rows of complete tiles
        if rows_full:
            n = rows_full * m.tiles_c
            tiles[:rows_full].copy_(flat[: n * per].view(rows_full, m.tiles_c, m.th, m.tw))
        rest = whole - rows_full * m.tiles_c                  # complete tiles in the next tile row
        if rest:
            a = rows_full * m.tiles_c * per
            tiles[rows_full, :rest].copy_(flat[a: a + rest * per].view(rest, m.th, m.tw))
        left = m.count - whole * per                         # a partial last tile: whole rows, then a row part
        if left:
            tr, tc = divmod(whole, m.tiles_c)
            tile, a = tiles[tr, tc], whole * per
            r, c = divmod(left, m.tw)
            if r:
                tile[:r].copy_(flat[a: a + r * m.tw].view(r, m.tw))
            if c:
                tile[r, :c].copy_(flat[a + r * m.tw: a + left])

    def run(self, inputs: ExampleInputs) -> Frame:
        """One forward pass; the returned mosaics are valid until the next run()."""
        from engine.model.recorder import record

        frame = Frame()
        t0 = time.perf_counter()
        try:
            g = record(self.model, inputs, capture="tensor", top_k=0, name=self.graph.model_name)
        except Exception as e:  # noqa: BLE001 - the viewer keeps running and shows the error
            frame.error = str(e).splitlines()[0][:300]
            return frame
        t1 = time.perf_counter()
        todo = []
        for l in g.layers:
            ref = self.by_name.get(l.name)
            if ref is None or l.values is None or tuple(l.shape) != tuple(ref.shape):
                continue
            t = l.values
            if t.is_complex():
                t = t.abs()
            if not t.is_floating_point():
                t = t.float()
            if self.log:
                t = torch.sign(t) * torch.log1p(t.abs())
            todo.append((ref.id, t))
        if not todo:
            frame.error = "no displayed layer matched this input's recording (input shape changed?)"
            return frame
        # one pass per layer for min and max; a single host sync for all layers
        stats = torch.stack([torch.stack(torch.aminmax(t.reshape(-1))) for _, t in todo]).float().cpu().numpy()
        lo, hi = stats[:, 0], stats[:, 1]
        bad = ~(np.isfinite(lo) & np.isfinite(hi))
        nonfinite = np.zeros(len(todo), np.int64)
        for k in np.flatnonzero(bad):                       # rare path: count and mask them
            t = todo[k][1]
            finite = torch.isfinite(t)
            nonfinite[k] = int((~finite).sum())
            if finite.any():
                lo[k], hi[k] = float(t[finite].min()), float(t[finite].max())
            else:
                lo[k] = hi[k] = 0.0
        maxabs = np.maximum(np.abs(lo), np.abs(hi))
        global_max = float(maxabs.max()) if len(maxabs) else 1.0
        t2 = time.perf_counter()
        for k, (lid, t) in enumerate(todo):
            m = self.mosaics[lid]
            buf = self._buffer(lid, m)
            pre = 1.0 if maxabs[k] <= F16_SAFE else F16_SAFE / float(maxabs[k])
            self._fill(buf, t * pre if pre != 1.0 else t, m)
            denom = (global_max if self.norm == "global" else float(maxabs[k])) * pre
            frame.layers[lid] = LayerFrame(lid, None, 1.0 / denom if denom > 0 else 1.0, bool(lo[k] < 0),
                                           int(nonfinite[k]), pre)
        t3 = time.perf_counter()
        dev, hosts = self._dev_sets[self.frames % self.ring], self._host_sets[self.frames % self.ring]
        for lid, lf in frame.layers.items():
            buf = dev[lid]
            if buf.device.type == "cpu":
                host = buf
            else:
                host = hosts.get(lid)
                if host is None:
                    host = hosts[lid] = torch.empty_like(buf, device="cpu").pin_memory()
                host.copy_(buf, non_blocking=True)
            m = self.mosaics[lid]
            lf.mosaic = host.numpy().reshape(m.rows, m.cols)
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        t4 = time.perf_counter()
        frame.nonfinite = int(nonfinite.sum())
        frame.seconds = {"forward": t1 - t0, "stats": t2 - t1, "quantize": t3 - t2, "transfer": t4 - t3}
        self.frames += 1
        return frame
