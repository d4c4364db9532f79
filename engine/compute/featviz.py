"""Feature visualization: an input optimized to excite one channel (or neuron) of a layer, as lucid and
lucent make them -- a Fourier-parameterized image with decorrelated colours (1/f spectrum, lucid's
ImageNet colour-correlation matrix), random jitter, scale and rotation at every step, Adam -- for a
whole layer's channels at once (a batch), seeded, and cached on disk by model, weights, layer, channel
and settings. The pictures then sit on their channels' tiles in the scene."""
from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from engine.compute.errors import InputError
from engine.compute.images import IMAGENET_MEAN, IMAGENET_STD
from engine.compute.module_layer import module_layer
from engine.model.graph import Layer, LayerGraph

__all__ = ["FeatVizSettings", "visualize", "optimize_images", "channel_labels", "cache_dir", "weights_key"]

# lucid's colour correlation of ImageNet, square root (lucid/optvis/param/color.py)
COLOR_SQRT = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
COLOR_SQRT = COLOR_SQRT / COLOR_SQRT.norm(dim=0).max()


@dataclass(frozen=True)
class FeatVizSettings:
    steps: int = 128
    size: int = 128              # the optimized image; the model sees it resized to its input size
    lr: float = 0.05
    jitter: int = 8
    seed: int = 0


def cache_dir() -> Path:
    root = os.environ.get("NEUROSCAPE_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"),
                                                                "neuroscape")
    return Path(root).expanduser() / "featviz"


def weights_key(model: nn.Module) -> str:
    """A fingerprint of the weights: a few values of every parameter (cheap, and changes when they do)."""
    h = hashlib.sha1()
    for name, p in model.state_dict().items():
        t = p.detach().reshape(-1)
        h.update(name.encode())
        h.update(t[:: max(1, t.numel() // 64)][:64].float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def _fourier_image(spectrum: torch.Tensor, scale: torch.Tensor, size: int) -> torch.Tensor:
    """(B, 3, size, size) in [0, 1] from a 1/f-scaled spectrum and decorrelated colours."""
    spec = torch.view_as_complex(spectrum) * scale
    img = torch.fft.irfft2(spec, s=(size, size), norm="ortho") / 4.0
    img = torch.einsum("bchw,cd->bdhw", img, COLOR_SQRT.T.to(img))
    return torch.sigmoid(img)


def _transform(x: torch.Tensor, jitter: int, gen: torch.Generator) -> torch.Tensor:
    """Random jitter, scale (0.9..1.1) and rotation (+-5 degrees), the same for the whole batch."""
    dx, dy = (int(v) for v in torch.randint(-jitter, jitter + 1, (2,), generator=gen))
    x = torch.roll(F.pad(x, (jitter,) * 4, mode="reflect"), (dy, dx), dims=(2, 3))[..., jitter:-jitter, jitter:-jitter]
    s = 0.9 + 0.2 * float(torch.rand((), generator=gen))
    a = math.radians(10 * float(torch.rand((), generator=gen)) - 5)
    theta = torch.tensor([[math.cos(a) / s, -math.sin(a) / s, 0.0], [math.sin(a) / s, math.cos(a) / s, 0.0]],
                         dtype=x.dtype).expand(x.shape[0], 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="reflection", align_corners=False)


def visualize(model: nn.Module, graph: LayerGraph, layer_name: str, channels: list[int], input_size: tuple[int, int],
              settings: FeatVizSettings = FeatVizSettings(), progress=None) -> list[np.ndarray]:
    """One (size, size, 3) uint8 image per channel of ``layer_name`` (a module layer), each optimized
    to maximize that channel's mean (a vector layer: that neuron); cached on disk."""
    layer, module = module_layer(model, graph, layer_name, "--featviz")
    n = int(layer.shape[1]) if len(layer.shape) > 1 else int(layer.neurons)
    bad = [c for c in channels if not 0 <= c < n]
    if bad:
        raise InputError(f"--featviz {layer_name}:{bad[0]}: the layer has {n} channels (0..{n - 1})")
    key = hashlib.sha1(repr((graph.model_name, weights_key(model), layer_name, settings)).encode()).hexdigest()[:20]
    folder = cache_dir() / key
    out: dict[int, np.ndarray] = {}
    for c in channels:
        f = folder / f"{c}.npy"
        if f.exists():
            try:
                out[c] = np.load(f, allow_pickle=False)
            except (OSError, ValueError):
                pass
    todo = [c for c in channels if c not in out]
    if todo:
        idx = torch.tensor(todo)
        objective = lambda a: a[torch.arange(len(todo)), idx].reshape(len(todo), -1).mean(1)  # noqa: E731
        for c, img in zip(todo, optimize_images(model, module, len(todo), objective, input_size, settings, progress)):
            out[c] = img
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / f"{c}.npy", img, allow_pickle=False)
    return [out[c] for c in channels]


def optimize_images(model: nn.Module, module: nn.Module, n: int, objective, input_size: tuple[int, int],
                    st: FeatVizSettings, progress=None) -> list[np.ndarray]:
    """``n`` (size, size, 3) uint8 images optimized together, image k to maximize ``objective(output)[k]``
    where output is ``module``'s output for the batch of n (lucid's parameterization and transforms)."""
    gen = torch.Generator().manual_seed(st.seed)
    b, size = n, st.size
    fy = torch.fft.fftfreq(size)[:, None]
    fx = torch.fft.rfftfreq(size)[None, :]
    scale = 1.0 / torch.sqrt(fx ** 2 + fy ** 2).clamp_min(1.0 / size)
    spectrum = (0.01 * torch.randn((b, 3, size, size // 2 + 1, 2), generator=gen)).requires_grad_(True)
    opt = torch.optim.Adam([spectrum], lr=st.lr)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    got: dict[str, torch.Tensor] = {}
    hook = module.register_forward_hook(lambda _m, _i, o: got.__setitem__("out", o))
    training = [m for m in model.modules() if m.training]
    for m in training:
        m.training = False
    try:
        for step in range(st.steps):
            img = _fourier_image(spectrum, scale, size)
            x = F.interpolate(_transform(img, st.jitter, gen), size=input_size, mode="bilinear", align_corners=False)
            model((x - mean) / std)
            loss = -objective(got["out"]).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            if progress is not None:
                progress(step + 1, st.steps)
    finally:
        hook.remove()
        for m in training:
            m.training = True
    with torch.no_grad():
        final = _fourier_image(spectrum, scale, size)
    return [(final[k].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for k in range(b)]


def channel_labels(slab, layer: Layer, images: dict[int, np.ndarray]):
    """Picture labels (engine/scene/nodes/label.py) of the images, each over its channel's tile."""
    from engine.scene.nodes.label import Label
    m = slab.mosaic
    dv = float(np.linalg.norm(slab.v))
    out = []
    for c, img in images.items():
        tr, tc = divmod(c, m.tiles_c)
        # 80% of the tile, centred: neighbours never touch, so none is decluttered away
        pos = slab.origin + (tc + 0.1) * m.tw * slab.u + (tr + 0.9) * m.th * slab.v - 0.02 * slab.normal * m.th * dv
        out.append(Label(f"{layer.name}:{c}", pos, 0.8 * m.th * dv, (1.0, 1.0, 1.0, 1.0), layer.id, 0.0, 0.0,
                         image=img))
    return out
