"""Embeddings of a whole dataset: every item of an input source through the model, in batches, one
layer's representations kept (batch item by item, float32, within a memory budget), reduced to 3D
with PCA (exact from the covariance up to 4096 wide, else torch.pca_lowrank), t-SNE (openTSNE) or UMAP (umap-learn) where those are installed, and
saved (npz) so a scene reloads them without recomputing. Points are coloured by the item's label when
the source knows it, else by the model's prediction. With --workers the batches run on Ray workers
(engine/compute/cluster.py): each reads its own items and sends back only the layer's rows."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.colormaps import palette
from engine.compute.cluster import Spread, Workers, spread
from engine.compute.errors import InputError
from engine.compute.module_layer import module_layer
from engine.model.graph import LayerGraph
from engine.model.inputs import ExampleInputs

__all__ = ["Embedding", "Collected", "collect", "embed", "reduce", "load_embedding", "METHODS", "MAX_BYTES"]

METHODS = ("pca", "tsne", "umap")
MAX_BYTES = 2 << 30                   # the representations kept for the reduction
CHUNK = 4                             # batches in one job of a Ray worker at most ...
SHARES = 8                            # ... and fewer, down to one, until each worker has this many jobs: a job
                                      # stays with its worker, so the last ones decide how long the others wait


@dataclass
class Embedding:
    layer: str
    method: str
    points: np.ndarray                     # (N, 3) float32
    labels: np.ndarray                     # (N,) int: the item's class (-1 unknown)
    predictions: np.ndarray                # (N,) int: the model's top output
    items: list[str] = field(default_factory=list)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, points=self.points, labels=self.labels, predictions=self.predictions,
                            items=np.array(self.items, dtype=str), layer=np.array(self.layer),
                            method=np.array(self.method))
        tmp.replace(path)
        return path

    def colors(self) -> np.ndarray:
        """A colour per point: its label's (or prediction's) from the categorical palette."""
        key = np.where(self.labels >= 0, self.labels, self.predictions)
        table = np.asarray(palette.CLASSES, np.float32)
        return table[np.mod(key, len(table))]


def load_embedding(path: str | Path) -> Embedding:
    try:
        with np.load(path, allow_pickle=False) as z:
            return Embedding(str(z["layer"]), str(z["method"]), z["points"].astype(np.float32), z["labels"],
                             z["predictions"], [str(s) for s in z["items"]])
    except (OSError, KeyError, ValueError) as e:
        raise InputError(f"{path} is not an embedding saved by neuroscape embed ({e}); compute it again") from e


def _first_tensor(out) -> torch.Tensor | None:
    if isinstance(out, torch.Tensor):
        return out
    t = getattr(out, "logits", None)
    if isinstance(t, torch.Tensor):
        return t
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    return None


def _batched(items: list[ExampleInputs]) -> ExampleInputs:
    """Items (each a batch of one) concatenated along the batch dimension."""
    first = items[0]
    args = tuple(torch.cat([it.args[k] for it in items]) if isinstance(a, torch.Tensor) else a
                 for k, a in enumerate(first.args))
    kwargs = {k: torch.cat([it.kwargs[k] for it in items]) if isinstance(v, torch.Tensor) else v
              for k, v in first.kwargs.items()}
    return ExampleInputs(args, kwargs, first.family)


@dataclass
class Collected:
    """A layer's representations of a dataset, one row per item, with what the items are."""

    feats: np.ndarray                      # (N, width) float32
    predictions: np.ndarray                # (N,) int: the model's top output (-1 unknown)
    labels: np.ndarray                     # (N,) int: the item's class (-1 unknown)
    items: list[str]
    spread: Spread | None = None           # on Ray: where the time went (setup, jobs), the scaling model's terms


def _rows(state, module_name: str, start: int, end: int, batch: int, width: int, out=None,
          progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Items start..end of the source through the model, ``batch`` at a time from ``start``: the module's
    output of each (float32 rows, into ``out`` when given) and the model's top output (-1 unknown).
    ``state`` is (model, source): this process's, or a Ray worker's (engine/compute/cluster.py), so both
    run the very same batches."""
    model, source = state
    module = dict(model.named_modules())[module_name]
    if out is None:
        out = np.empty((end - start, width), np.float32), np.empty(end - start, np.int64)
    feats, preds = out
    got: dict[str, torch.Tensor] = {}
    hook = module.register_forward_hook(lambda _m, _i, o: got.__setitem__("o", _first_tensor(o)))
    training = [m for m in model.modules() if m.training]
    for m in training:
        m.training = False
    try:
        with torch.no_grad():
            for a in range(start, end, batch):
                idx = list(range(a, min(end, a + batch)))
                out_ = _first_tensor(model(*(b := _batched([source.get(i) for i in idx])).args, **b.kwargs))
                feats[a - start:a - start + len(idx)] = got["o"].reshape(len(idx), -1).float().numpy()
                preds[a - start:a - start + len(idx)] = (out_.reshape(len(idx), -1).argmax(-1).numpy()
                                                         if out_ is not None else -1)
                if progress is not None:
                    progress(a + len(idx))
    finally:
        hook.remove()
        for m in training:
            m.training = True
    return feats, preds


def collect(model: nn.Module, graph: LayerGraph, layer_name: str, source, batch: int = 64, limit: int | None = None,
            progress=None, flag: str = "--layer", workers: Workers | None = None) -> Collected:
    """Run every item of ``source`` (an input source: len(), get(i), describe(i)) through ``model`` in
    batches and keep ``layer_name``'s output of each (float32, within MAX_BYTES). With ``workers`` the
    batches run on Ray workers, each with its own model and source (built by ``workers.setup``), a job
    of up to CHUNK batches at a time, the rows coming back into place: the same batches as here, so the
    same rows in the same order."""
    layer, _ = module_layer(model, graph, layer_name, flag)
    n = len(source) if limit is None else min(len(source), int(limit))
    if n < 4:
        raise InputError(f"the input has {n} item(s); an embedding needs a dataset (a folder of images, digits)")
    width = int(layer.neurons)
    if n * width * 4 > MAX_BYTES:
        raise InputError(f"{n:,} items x {width:,} values of {layer_name} need {n * width * 4 / 1e9:.1f} GB; pick a "
                         f"narrower layer or fewer items (--limit)")
    feats = np.empty((n, width), np.float32)
    preds = np.empty(n, np.int64)
    name = layer.site[1]
    stats = None
    if workers is None:
        _rows((model, source), name, 0, n, batch, width, (feats, preds),
              None if progress is None else lambda done: progress(done, n))
    else:
        step = batch * max(1, min(CHUNK, n // (batch * workers.count * SHARES)))
        jobs = [(name, a, min(n, a + step), batch, width) for a in range(0, n, step)]
        done = [0]

        def place(k: int, rows: tuple[np.ndarray, np.ndarray]) -> None:
            a = jobs[k][1]
            feats[a:a + len(rows[0])], preds[a:a + len(rows[1])] = rows
            done[0] += len(rows[0])
            if progress is not None:
                progress(done[0], n)
        stats = spread(workers, _rows, jobs, f"embedding {layer_name}", place)
    labels = np.asarray(getattr(source, "labels", None) or [-1] * n, np.int64)[:n]
    return Collected(feats, preds, labels, [source.describe(i) for i in range(n)], stats)


def embed(model: nn.Module, graph: LayerGraph, layer_name: str, source, method: str = "pca", batch: int = 64,
          limit: int | None = None, progress=None, workers: Workers | None = None,
          collected: Collected | None = None) -> Embedding:
    """Run every item of ``source`` through ``model`` (on Ray ``workers`` when given) and reduce
    ``layer_name``'s outputs to 3D; ``collected``: that pass already made (an atlas of the same layer
    shares it)."""
    if method not in METHODS:
        raise InputError(f"--method {method!r}: use one of {', '.join(METHODS)}")
    c = collected if collected is not None else collect(model, graph, layer_name, source, batch, limit, progress,
                                                         workers=workers)
    return Embedding(layer_name, method, reduce(c.feats, method), c.labels, c.predictions, c.items)


def reduce(x: np.ndarray, method: str = "pca", seed: int = 0, dims: int = 3) -> np.ndarray:
    """(N, D) -> (N, dims) float32, centred, scaled to unit radius (the 99th percentile)."""
    if method == "pca":
        t = torch.from_numpy(np.nan_to_num(x)).float()
        t = t - t.mean(0, keepdim=True)
        q = min(dims, t.shape[1])
        if t.shape[1] <= 4096:            # exact: the covariance's top eigenvectors (D x D, float64)
            cov = (t.T.double() @ t.double()) / max(1, t.shape[0] - 1)
            v = torch.linalg.eigh(cov).eigenvectors.flip(-1)[:, :q].float()
        else:                             # wide layers: randomized, a few power iterations
            torch.manual_seed(seed)
            v = torch.pca_lowrank(t, q=q + 7, center=False, niter=6)[2][:, :q]
        y = (t @ v).numpy()
    elif method == "tsne":
        try:
            from openTSNE import TSNE
        except ImportError as e:
            raise InputError("--method tsne needs openTSNE: pip install openTSNE (or use --method pca)") from e
        y = np.asarray(TSNE(n_components=dims, random_state=seed, n_jobs=2).fit(x))
    else:
        try:
            import umap
        except ImportError as e:
            raise InputError("--method umap needs umap-learn: pip install umap-learn (or use --method pca)") from e
        import warnings
        with warnings.catch_warnings():          # (a seeded run is single-threaded: it says so)
            warnings.simplefilter("ignore", UserWarning)
            y = umap.UMAP(n_components=dims, random_state=seed).fit_transform(x)
    y = np.pad(y, ((0, 0), (0, dims - y.shape[1]))) if y.shape[1] < dims else y
    y = y - y.mean(0)
    r = float(np.percentile(np.linalg.norm(y, axis=1), 99)) or 1.0
    return (y / r).astype(np.float32)
