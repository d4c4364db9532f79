"""Feature visualization: an input optimized to excite one channel (or neuron) of a layer, as lucid and
lucent make them -- a Fourier-parameterized image with decorrelated colours (1/f spectrum, lucid's
ImageNet colour-correlation matrix), random jitter, scale and rotation at every step, Adam -- for a
whole layer's channels at once (a batch), seeded, and cached on disk by model, weights, layer, channel
and settings. The pictures then sit on their channels' tiles in the scene. With --workers the channels
are shared out among Ray workers (engine/compute/cluster.py): each optimizes its share, drawing the
random start of the whole batch and keeping its own rows, so the pictures are the one-process ones."""
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

from engine.compute.cluster import Workers, segments, spread
from engine.compute.errors import InputError
from engine.compute.images import IMAGENET_MEAN, IMAGENET_STD
from engine.compute.module_layer import module_layer
from engine.model.graph import Layer, LayerGraph

__all__ = ["FeatVizSettings", "ChannelMeans", "visualize", "optimize_images", "optimize_spread", "channel_labels",
           "cache_dir", "weights_key"]

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


class ChannelMeans:
    """The objective of channel pictures: image k raises the mean of channel ``channels[k]`` (a vector
    layer: that neuron). A class, not a closure, so a Ray worker can be sent one."""

    def __init__(self, channels: list[int]) -> None:
        self.channels = list(channels)

    def __call__(self, a: torch.Tensor) -> torch.Tensor:
        k = len(self.channels)
        return a[torch.arange(k), torch.tensor(self.channels)].reshape(k, -1).mean(1)


def visualize(model: nn.Module, graph: LayerGraph, layer_name: str, channels: list[int], input_size: tuple[int, int],
              settings: FeatVizSettings = FeatVizSettings(), progress=None,
              workers: Workers | None = None) -> list[np.ndarray]:
    """One (size, size, 3) uint8 image per channel of ``layer_name`` (a module layer), each optimized
    to maximize that channel's mean (a vector layer: that neuron); cached on disk. With ``workers`` the
    channels are shared out among Ray workers (the same pictures)."""
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
        if workers is None:
            imgs = optimize_images(model, module, len(todo), ChannelMeans(todo), input_size, settings, progress)
        else:
            def steps(done: int, total: int) -> None:
                if progress is not None:
                    progress(round(settings.steps * done / total), settings.steps)
            group = (len(todo), lambda rows: ChannelMeans([todo[r] for r in rows]))
            imgs = optimize_spread(workers, layer.site[1], [group], input_size, settings,
                                   f"optimizing the pictures of {layer_name}", steps)[0]
        for c, img in zip(todo, imgs):
            out[c] = img
            folder.mkdir(parents=True, exist_ok=True)
            np.save(folder / f"{c}.npy", img, allow_pickle=False)
    return [out[c] for c in channels]


def optimize_images(model: nn.Module, module: nn.Module, n: int, objective, input_size: tuple[int, int],
                    st: FeatVizSettings, progress=None, rows: list[int] | None = None) -> list[np.ndarray]:
    """``n`` (size, size, 3) uint8 images optimized together, image k to maximize ``objective(output)[k]``
    where output is ``module``'s output for the batch of n (lucid's parameterization and transforms).
    ``rows``: only those of the n images (``objective`` then scores just them): their random start is
    drawn as for all n and the transforms are shared, so a share gives the same images as the whole
    batch -- how Ray workers split one (each image's loss and Adam's steps are its own)."""
    gen = torch.Generator().manual_seed(st.seed)
    size = st.size
    fy = torch.fft.fftfreq(size)[:, None]
    fx = torch.fft.rfftfreq(size)[None, :]
    scale = 1.0 / torch.sqrt(fx ** 2 + fy ** 2).clamp_min(1.0 / size)
    spectrum = 0.01 * torch.randn((n, 3, size, size // 2 + 1, 2), generator=gen)
    spectrum = (spectrum if rows is None else spectrum[list(rows)]).requires_grad_(True)
    b = len(spectrum)
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


def _optimize_share(state, module_name: str, n: int, rows: list[int], objective, input_size: tuple[int, int],
                    st: FeatVizSettings) -> list[np.ndarray]:
    """On a Ray worker (state: its (model, source)): ``rows`` of a batch of ``n`` images."""
    model = state[0]
    return optimize_images(model, dict(model.named_modules())[module_name], n, objective, input_size, st, rows=rows)


def optimize_spread(workers: Workers, module_name: str, groups: list, input_size: tuple[int, int],
                    st: FeatVizSettings, what: str, progress=None) -> list[list[np.ndarray]]:
    """The images of each group -- (n, objective_for(rows)): n images optimized together, as one
    optimize_images call would -- with each group's rows shared out among the workers; a list of n
    images per group. ``progress(jobs done, jobs)``."""
    jobs, owner = [], []
    for g, (n, objective_for) in enumerate(groups):
        for a, b in segments(n, workers.count):
            jobs.append((module_name, n, list(range(a, b)), objective_for(list(range(a, b))), input_size, st))
            owner.append(g)
    parts: dict[int, list[np.ndarray]] = {}

    def got(k: int, images: list[np.ndarray]) -> None:
        parts[k] = images
        if progress is not None:
            progress(len(parts), len(jobs))
    spread(workers, _optimize_share, jobs, what, got)
    out: list[list[np.ndarray]] = [[] for _ in groups]
    for k, g in enumerate(owner):
        out[g] += parts[k]
    return out


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
