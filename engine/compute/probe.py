"""Live probes: one real forward pass per frame; each displayed layer's output, in tensor order,
goes to the renderer as it is -- the shaders map neurons to the mosaic -- with the statistics the
colormaps need, reduced on the model's device.

CPU (this machine): no copy at all. The replay (engine/model/replay.py) hands over the layers'
output tensors; the renderer wraps their memory in GL buffers (GL_AMD_pinned_memory on Mesa) or
copies it once where the driver cannot. Min/max: exact, one pass per layer as each output
appears (still in cache), none for ReLU-like layers of a displayed input (f(min), f(max));
a helper thread made it worse (it fights the intra-op threads). glibc is told to keep freed memory (``keep_freed_memory``): holding a frame's outputs
would otherwise make every forward pass fault fresh pages in (~30% slower).

CUDA: statistics on the device; the outputs are quantized to float16 there (half the bytes over
the bus) into pinned host buffers, one ring slot per frame in flight. Texels then hold
dtype(value * prescale), prescale = 1 unless |value| would overflow float16 (> 60000).

The colormap scale per layer is 1 / max|value| ("layer") or 1 / max over all layers ("global");
with log=True the shaders draw sign(v) * log1p(|v|) and the scale is 1 / log1p(max|v|).
"""
from __future__ import annotations

import ctypes
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from engine.model.graph import LayerGraph
from engine.model.inputs import ExampleInputs
from engine.model.replay import Replayer, ReplayMismatch

F16_SAFE = 60000.0
_MONOTONE = (torch.nn.ReLU, torch.nn.ReLU6, torch.nn.LeakyReLU, torch.nn.Hardtanh)


@dataclass
class LayerFrame:
    layer_id: int
    values: np.ndarray | None  # flat, tensor order (batch item 0): float32, or float16 on CUDA
    scale: float              # colormap scale for the texels
    signed: bool
    nonfinite: int            # NaN/Inf neurons in this layer (a softmax's -inf mask entries are not)
    prescale: float = 1.0     # texel = value * prescale
    log: bool = False         # drawn as sign(v) * log1p(|v|)


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


_KEPT = False


def keep_freed_memory() -> bool:
    """Ask glibc malloc to keep freed blocks up to 32 MB in the heap instead of returning them
    to the kernel, so buffers a live frame held are reused without page faults. No-op elsewhere."""
    global _KEPT
    if _KEPT:
        return True
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024) == 1 and libc.mallopt(m_trim_threshold, 1 << 30) == 1
    except (OSError, AttributeError):
        ok = False
    _KEPT = ok
    return ok


def _apply_monotone(mod: torch.nn.Module, lo: float, hi: float) -> tuple[float, float]:
    """f(lo), f(hi) for the _MONOTONE modules, in float32 as the module computes them."""
    f32 = np.float32
    a, b = f32(lo), f32(hi)
    if isinstance(mod, torch.nn.ReLU6):
        lo_v, hi_v = f32(0.0), f32(6.0)
    elif isinstance(mod, torch.nn.ReLU):
        return float(max(a, f32(0))), float(max(b, f32(0)))
    elif isinstance(mod, torch.nn.LeakyReLU):
        s = f32(mod.negative_slope)
        return float(a if a >= 0 else a * s), float(b if b >= 0 else b * s)
    else:                                        # Hardtanh
        lo_v, hi_v = f32(mod.min_val), f32(mod.max_val)
    return float(min(max(a, lo_v), hi_v)), float(min(max(b, lo_v), hi_v))


class LiveProbe:
    """Runs ``model`` and returns the displayed layers' outputs (tensor order) with their scales."""

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
        self.by_id = {l.id: l for l in self.by_name.values()}
        self.masks = {l.id for l in self.by_id.values() if l.attrs.get("neg_inf_is_mask")}
        # frames rotate through ``ring`` sets of CUDA pinned host buffers (and ring + 1 of attention
        # maps computed in the pass), so a frame handed to the renderer is not overwritten by the
        # next ring - 1 frames
        self.ring = max(1, ring)
        # a model that captures its own layers (an ONNX file on onnxruntime) needs no replay
        self.own = hasattr(model, "capture_layers")
        self.replayer = None if self.own else Replayer(model, graph, set(self.by_id), map_depth=self.ring + 1)
        self.cpu = self.device.type == "cpu"
        if self.cpu:
            keep_freed_memory()
        self._host_sets: list[dict[int, torch.Tensor]] = [{} for _ in range(self.ring)]
        self.frames = 0
        self.replays = self.recordings = 0
        self._derived: dict[int, tuple[int, torch.nn.Module]] | None = None
        self._hot: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    # ------------------------------------------------------------------------------
    def _capture(self, inputs: ExampleInputs) -> dict[int, torch.Tensor]:
        """Outputs of the displayed layers: replayed, or recorded again when the replay does not
        line up (the first frame of a new input shape, value-dependent control flow)."""
        if self.own:
            if self._derived is None:
                self._derived = self._derivations()
            self._hot = {}
            return self.model.capture_layers(inputs, self.by_id)
        structural = True
        if self._derived is None:
            self._derived = self._derivations()
        self._hot = {}
        try:
            out = self.replayer.run(inputs, self._hot_stats)
            self.replays += 1
            return out
        except ReplayMismatch as e:
            structural = e.structural
        from engine.model.recorder import record
        # copies taken as each layer runs: in-place chains (x += y; relu_) keep their own values
        g = record(self.model, inputs, capture=True, top_k=0, name=self.graph.model_name)
        self.recordings += 1
        out = {}
        for l in g.layers:
            ref = self.by_name.get(l.name)
            if ref is None or l.values is None or tuple(l.shape) != tuple(ref.shape):
                continue
            out[ref.id] = torch.from_numpy(np.ascontiguousarray(l.values, np.float32))
        if structural and len(out) == len(self.by_id) and not self.replayer.unplayable:
            # replay this recording from now on
            mine = {l.id: self.by_name[l.name].id for l in g.layers if l.name in self.by_name}
            self.replayer.restore()
            self.replayer = Replayer(self.model, g, set(mine), rename=mine, map_depth=self.ring + 1)
        return out

    def _derivations(self) -> dict[int, tuple[int, torch.nn.Module]]:
        """Layers whose min/max follow from their input layer's: a piecewise-linear monotone
        activation module (ReLU, ReLU6, LeakyReLU, Hardtanh; f(min), f(max) are exact) applied
        to exactly one displayed layer of the same shape. Saves a pass over ~1/4 of a CNN's
        activations."""
        out: dict[int, tuple[int, torch.nn.Module]] = {}
        mods = dict(self.model.named_modules())
        relu = torch.nn.ReLU()                    # an ONNX Relu node has no module: the same function
        preds: dict[int, list[int]] = {}
        for e in self.graph.edges:
            preds.setdefault(e.dst, []).append(e.src)
        for l in self.by_id.values():
            site = l.site
            mod = mods.get(site[1]) if site and site[0] == "leaf" else relu if l.op == "Relu" else None
            if not isinstance(mod, _MONOTONE) or (isinstance(mod, torch.nn.LeakyReLU) and mod.negative_slope < 0):
                continue
            src = preds.get(l.id, [])
            if len(src) == 1 and src[0] in self.by_id and tuple(self.by_id[src[0]].shape) == tuple(l.shape):
                out[l.id] = (src[0], mod)
        return out

    def _hot_stats(self, lid: int, t: torch.Tensor) -> None:
        """min/max of a layer's output (whole batch) while it is still in cache; derived layers
        need none. One torch call: during the pass the calls, not the bytes, are the cost."""
        if lid not in self._derived and t.is_floating_point() and t.numel():
            if t.dim() > 1 and t.shape[0] != 1:
                t = t[0]
            self._hot[lid] = torch.aminmax(t)

    def _stats(self, todo: list[tuple[int, torch.Tensor]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exact min, max and NaN/Inf count per layer, one host sync for all: taken during the
        pass (_hot_stats) or now; derived layers from their source's min/max unless that has
        non-finite values."""
        n = len(todo)
        index = {lid: k for k, (lid, _) in enumerate(todo)}
        derived = [k for k, (lid, _) in enumerate(todo) if lid in self._derived and self._derived[lid][0] in index]
        lo, hi = np.zeros(n), np.zeros(n)
        hot = self._hot
        ks = [k for k in range(n) if todo[k][0] in hot]
        if ks:                                   # one stack, one host sync
            st = torch.stack([v for k in ks for v in hot[todo[k][0]]]).double().cpu().numpy().reshape(-1, 2)
            lo[ks], hi[ks] = st[:, 0], st[:, 1]
        skip = set(ks) | set(derived)
        for k in range(n):                       # not seen during the pass (recorded, non-float ...)
            t = todo[k][1]
            if k not in skip and t.numel():
                lo[k], hi[k] = (float(v) for v in torch.aminmax(t.reshape(-1)))
        nonfinite = np.zeros(n, np.int64)
        for k in derived:                        # in data-flow order: a source comes first
            lid, t = todo[k]
            s = index[self._derived[lid][0]]
            if np.isfinite(lo[s]) and np.isfinite(hi[s]):
                lo[k], hi[k] = _apply_monotone(self._derived[lid][1], lo[s], hi[s])
            elif t.numel():
                lo[k], hi[k] = (float(v) for v in torch.aminmax(t.reshape(-1)))
        bad = ~(np.isfinite(lo) & np.isfinite(hi))
        for k in np.flatnonzero(bad):                       # rare path: count and mask them
            t = todo[k][1]
            finite = torch.isfinite(t)
            errors = ~finite
            if todo[k][0] in self.masks:                    # -inf there masks a key: not an error
                errors &= ~torch.isneginf(t)
            nonfinite[k] = int(errors.sum())
            if finite.any():
                lo[k], hi[k] = float(t[finite].min()), float(t[finite].max())
            else:
                lo[k] = hi[k] = 0.0
        return lo, hi, nonfinite

    def run(self, inputs: ExampleInputs) -> Frame:
        """One forward pass; the returned values stay valid (and unchanged) while referenced
        on the CPU, and until ``ring`` more runs on CUDA."""
        frame = Frame()
        t0 = time.perf_counter()
        try:
            out = self._capture(inputs)
        except Exception as e:  # noqa: BLE001 - the viewer keeps running and shows the error
            frame.error = str(e).splitlines()[0][:300]
            return frame
        t1 = time.perf_counter()
        if not out:
            frame.error = "no displayed layer matched this input's recording (input shape changed?)"
            return frame
        todo = []
        for lid, t in out.items():
            if t.is_complex():
                t = t.abs()
            if not t.is_floating_point() or t.dtype in (torch.bfloat16, torch.float64):
                t = t.float()
            todo.append((lid, t))
        lo, hi, nonfinite = self._stats(todo)
        maxabs = np.maximum(np.abs(lo), np.abs(hi))
        if self.log:
            maxabs = np.log1p(maxabs)
        global_max = float(maxabs.max()) if len(maxabs) else 1.0
        t2 = time.perf_counter()
        hosts = self._host_sets[self.frames % self.ring]
        for k, (lid, t) in enumerate(todo):
            raw_max = float(max(abs(lo[k]), abs(hi[k])))
            pre = 1.0 if self.dtype != torch.float16 or raw_max <= F16_SAFE else F16_SAFE / raw_max
            if self.cpu:
                if t.dtype != self.dtype or pre != 1.0:       # quantize (a copy); float32 outputs: none
                    t = (t * pre if pre != 1.0 else t).to(self.dtype)
                values = t.contiguous().numpy().reshape(-1)
            else:
                host = hosts.get(lid)
                if host is None or host.numel() != t.numel():
                    host = hosts[lid] = torch.empty(t.numel(), dtype=self.dtype, pin_memory=True)
                src = (t * pre if pre != 1.0 else t).reshape(-1).to(self.dtype)
                host.copy_(src, non_blocking=True)
                values = host.numpy()
            denom = (global_max if self.norm == "global" else float(maxabs[k])) * (1.0 if self.log else pre)
            frame.layers[lid] = LayerFrame(lid, values, 1.0 / denom if denom > 0 else 1.0, bool(lo[k] < 0),
                                           int(nonfinite[k]), pre, self.log)
        if not self.cpu:
            torch.cuda.synchronize(self.device)
        t3 = time.perf_counter()
        frame.nonfinite = int(nonfinite.sum())
        frame.seconds = {"forward": t1 - t0, "stats": t2 - t1, "transfer": t3 - t2}
        self.frames += 1
        return frame

    def close(self) -> None:
        """Give back the modules made out of place (engine/model/replay.py)."""
        if self.replayer is not None:
            self.replayer.restore()
