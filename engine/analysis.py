"""Analyses drawn on a loaded scene: instead of its activations, attribution (why the model decided),
contrast (A - B) and uncertainty (spread over passes), each on the input the scene shows; beside them,
feature visualizations on their channels' tiles. Each returns the HUD lines that say what is drawn."""
from __future__ import annotations

from pathlib import Path

from engine.pipeline import Loaded

__all__ = ["CheckpointTimeline", "check_atlas", "collect_loaded", "compare_loaded", "embed_loaded", "explain_loaded",
           "featviz_loaded", "timeline_loaded", "uncertainty_loaded"]


def _shown_input(loaded: Loaded):
    """The input the scene shows: the live source's first frame, else the model's example."""
    return loaded.session.source.frame(0) if loaded.session is not None else loaded.example


def explain_loaded(loaded: Loaded, method: str, target: int | None = None) -> list[str]:
    """Attributions (engine/compute/attribution.py) of the loaded model on the input its scene shows,
    drawn on its scene; the HUD lines (the output explained, the top-5)."""
    from engine.compute.attribution import apply_to_scene, categories_for, explain
    from engine.compute.errors import InputError
    from engine.model.registry import canonical_name
    if loaded.graph.structure_only or hasattr(loaded.model, "record_graph"):
        raise InputError("--explain needs a PyTorch model with weights (not structure only, not ONNX)")
    inputs = _shown_input(loaded)
    names = categories_for(canonical_name(loaded.spec.model))
    if names is None and loaded.graph.family == "language":
        names = _TokenNames(loaded)
    ex = explain(loaded.model, loaded.graph, inputs, method, target, names)
    apply_to_scene(loaded.scene, loaded.graph, ex)
    loaded.scene.title += f"  (attribution: {method}, output {ex.target})"
    return ex.hud()


class _TokenNames:
    """A language model's outputs named by their token's text (looked up only for the ones shown)."""

    def __init__(self, loaded: Loaded) -> None:
        from engine.compute.text import encoder_for
        from engine.model.example import vocab_size
        self.n = vocab_size(loaded.model) or 0
        src = getattr(loaded.session, "source", None)
        self.encoder = getattr(src, "encoder", None) or encoder_for(loaded.spec.model, self.n or 1)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> str:
        from engine.compute.text import token_pieces
        return repr(token_pieces(self.encoder, [i])[0])


def compare_loaded(loaded: Loaded, input_b: str | None = None, weights_b: str | None = None) -> list[str]:
    """Contrast (engine/compute/contrast.py): the loaded scene shows A - B, where A is the input it
    shows and B another input (``input_b``, an --input spec) or the same input through other weights
    (``weights_b``); the HUD lines rank the layers by relative change."""
    from engine.compute.errors import InputError
    from engine.compute.inputs import open_input
    from engine.model.recorder import record
    from engine.model.registry import load_model
    if (input_b is None) == (weights_b is None):
        raise InputError("compare with one of --compare-input or --compare-weights")
    if loaded.graph.structure_only or hasattr(loaded.model, "record_graph"):
        raise InputError("--compare-* needs a PyTorch model with weights (not structure only, not ONNX)")
    spec = loaded.spec
    inputs_a = _shown_input(loaded)
    a = record(loaded.model, inputs_a, capture=True, top_k=0, name=loaded.graph.model_name)
    if weights_b is not None and Path(weights_b).is_dir():
        return timeline_loaded(loaded, weights_b).show(-1)
    if weights_b is not None and not Path(weights_b).is_file():
        raise InputError(f"--compare-weights {weights_b}: no such file or folder; pass a weights file or a folder "
                         f"of checkpoints")
    if input_b is not None:
        src = open_input(input_b, example=loaded.example, family=loaded.graph.family, model_spec=spec.model,
                         seed=spec.seed, model=loaded.model)
        b = record(loaded.model, src.frame(0), capture=True, top_k=0, name=loaded.graph.model_name)
        label = f"input {input_b}"
    else:
        model_b, _, _, _ = load_model(spec.model, weights=weights_b, input_shape=spec.input_shape,
                                      input_dtype=spec.input_dtype)
        b = record(model_b, inputs_a, capture=True, top_k=0, name=loaded.graph.model_name)
        label = f"weights {weights_b}"
    loaded.scene.title += f"  (A - B, B = {label})"
    return _show_contrast(loaded, a, b, label)


def _show_contrast(loaded: Loaded, a, b, label: str) -> list[str]:
    """A - B of two recordings on the loaded scene (layers matched by name); the HUD lines."""
    from engine.compute.contrast import apply_contrast, contrast_graphs
    c = contrast_graphs(a, b, label)
    mine = {l.name: l.id for l in loaded.graph.layers}
    c.layers = {mine[n]: v for n, v in ((l.name, c.layers.get(l.id)) for l in a.layers) if v is not None and n in mine}
    c.change = {mine[l.name]: c.change[l.id] for l in a.layers if l.id in c.change and l.name in mine}
    apply_contrast(loaded.scene, c)
    return c.hud(loaded.graph)


WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth")


class CheckpointTimeline:
    """A folder of training checkpoints as a timeline: each one's activations on the scene's input,
    recorded once; step k shows checkpoint k - the first, so what training changed grows along it."""

    def __init__(self, loaded: Loaded, folder: str, progress=None) -> None:
        import re

        from engine.compute.errors import InputError
        from engine.model.recorder import record
        from engine.model.registry import load_model
        key = lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]   # noqa: E731 - step_10 after step_9
        self.files = sorted((p for p in Path(folder).iterdir() if p.suffix in WEIGHT_SUFFIXES), key=key)
        if len(self.files) < 2:
            raise InputError(f"{folder} holds {len(self.files)} weight file(s); a timeline needs 2 or more "
                             f"(.safetensors, .pt, .pth)")
        self.loaded, spec = loaded, loaded.spec
        inputs = _shown_input(loaded)
        self.graphs = []
        for k, f in enumerate(self.files):
            model, _, _, _ = load_model(spec.model, weights=str(f), input_shape=spec.input_shape,
                                        input_dtype=spec.input_dtype)
            self.graphs.append(record(model, inputs, capture=True, top_k=0, name=loaded.graph.model_name))
            if progress is not None:
                progress(k + 1, len(self.files))
        self.k = len(self.files) - 1
        loaded.scene.title += f"  (checkpoints of {Path(folder).name}: each - the first)"

    def show(self, k: int) -> list[str]:
        """Checkpoint ``k`` (negative: from the end) - the first on the scene; the HUD lines."""
        self.k = k % len(self.files)
        lines = _show_contrast(self.loaded, self.graphs[self.k], self.graphs[0],
                               f"{self.files[0].name} (checkpoint 1 of {len(self.files)})")
        return [f"A = {self.files[self.k].name} (checkpoint {self.k + 1} of {len(self.files)}; , . step)"] + lines

    def step(self, d: int) -> list[str]:
        return self.show(self.k + d)


def timeline_loaded(loaded: Loaded, folder: str, progress=None) -> CheckpointTimeline:
    from engine.compute.errors import InputError
    if loaded.graph.structure_only or hasattr(loaded.model, "record_graph"):
        raise InputError("--compare-weights needs a PyTorch model with weights (not structure only, not ONNX)")
    return CheckpointTimeline(loaded, folder, progress)


def uncertainty_loaded(loaded: Loaded, passes: int = 0, weights: list[str] | None = None) -> list[str]:
    """Uncertainty (engine/compute/uncertainty.py) on the input the scene shows: ``passes``
    Monte-Carlo dropout passes (seeded by the scene's seed) or one pass per weight file; the scene
    shows each neuron's std; the HUD lines give the predictive entropy and the most uncertain layers."""
    import torch

    from engine.compute.errors import InputError
    from engine.compute.uncertainty import apply_spread, dropout_on, spread_of
    from engine.model.recorder import record
    from engine.model.registry import load_model
    if bool(passes) == bool(weights):
        raise InputError("uncertainty from one of --uncertainty N (Monte-Carlo dropout) or --ensemble W1 W2 ...")
    if loaded.graph.structure_only or hasattr(loaded.model, "record_graph"):
        raise InputError("uncertainty needs a PyTorch model with weights (not structure only, not ONNX)")
    if passes and not 2 <= passes <= 1000:
        raise InputError(f"--uncertainty {passes}: use 2 to 1000 passes, e.g. --uncertainty 16")
    spec, name = loaded.spec, loaded.graph.model_name
    inputs = _shown_input(loaded)
    graphs = []
    if passes:
        with dropout_on(loaded.model), torch.random.fork_rng(devices=[]):
            for k in range(passes):
                torch.manual_seed(spec.seed * 7919 + k)
                graphs.append(record(loaded.model, inputs, capture=True, top_k=0, name=name))
        label = f"{passes} Monte-Carlo dropout passes"
    else:
        for w in weights:
            model, _, _, _ = load_model(spec.model, weights=w, input_shape=spec.input_shape, input_dtype=spec.input_dtype)
            graphs.append(record(model, inputs, capture=True, top_k=0, name=name))
        label = f"{len(weights)} weight files"
    s = spread_of(graphs, label)
    top = apply_spread(loaded.scene, loaded.graph, s)
    loaded.scene.title += f"  (uncertainty: {label})"
    return s.hud(top)


def _image_input_size(loaded: Loaded, flag: str) -> tuple[int, int]:
    """(H, W) of the loaded model's RGB image input, for methods that optimize one (feature visualization)."""
    import torch

    from engine.compute.errors import InputError
    if loaded.graph.structure_only or hasattr(loaded.model, "record_graph"):
        raise InputError(f"{flag} needs a PyTorch model with weights (not structure only, not ONNX)")
    images = [t for t in loaded.example.tensors() if isinstance(t, torch.Tensor) and t.dim() == 4
              and t.is_floating_point() and t.shape[1] == 3]
    if not images:
        raise InputError(f"{flag} needs a model that takes RGB images (batch x 3 x H x W)")
    return tuple(images[0].shape[-2:])


def _workers(loaded: Loaded, count: int | None, address: str | None, input_spec: str | None = None):
    """engine/compute/cluster.py's Workers for --workers / --ray-address (None: this process, as
    `--workers 1` without an address is), each building the loaded model (and ``input_spec``'s source)."""
    if count is None or (count == 1 and not address):
        return None
    from engine.compute.cluster import Workers, check_workers
    from engine.compute.featviz import weights_key
    from engine.compute.worker_model import WorkerModel
    check_workers(count, address)
    s = loaded.spec
    return Workers(count, address, WorkerModel(s.model, s.weights, s.input_shape, s.input_dtype, s.seed,
                                               weights_key(loaded.model), input_spec, loaded.graph.family))


def featviz_loaded(loaded: Loaded, target: str, steps: int = 128, channels: int = 8, progress=None,
                   workers: int | None = None, address: str | None = None) -> list[str]:
    """Feature visualization (engine/compute/featviz.py) of ``target`` = ``LAYER`` (its first
    ``channels`` channels) or ``LAYER:C1,C2,...``, the channels shared among Ray ``workers`` when given;
    each picture sits on its channel's tile. The HUD lines."""
    from engine.compute.errors import InputError
    from engine.compute.featviz import FeatVizSettings, channel_labels, visualize
    name, _, chans = target.rpartition(":") if ":" in target else (target, "", "")
    size = _image_input_size(loaded, "--featviz")
    layer = next((l for l in loaded.graph.layers if l.name == name), None)
    n = int(layer.shape[1]) if layer is not None and len(layer.shape) > 1 else 0
    try:
        picked = [int(c) for c in chans.split(",")] if chans else list(range(min(channels, max(n, 1))))
    except ValueError:
        raise InputError(f"--featviz {target}: channels are numbers, e.g. {name}:0,5,9") from None
    imgs = visualize(loaded.model, loaded.graph, name, picked, size,
                     FeatVizSettings(steps=steps, seed=loaded.spec.seed), progress, _workers(loaded, workers, address))
    slab = next(s for s in loaded.scene.slabs if s.layer_id == layer.id)
    loaded.scene.labels.extend(channel_labels(slab, layer, dict(zip(picked, imgs))))
    return [f"feature visualization of {name}: channels {', '.join(map(str, picked))} ({steps} steps each, "
            f"on their tiles)"]


def collect_loaded(loaded: Loaded, layer: str, input_spec: str | None, limit: int | None = None, progress=None,
                   workers: int | None = None, address: str | None = None):
    """The dataset pass of an embedding or an atlas (engine/compute/embed.py's Collected): ``layer``'s
    output for every item of ``input_spec``, on Ray ``workers`` when given. Made once when both are asked."""
    from engine.compute.embed import collect
    from engine.compute.errors import InputError
    if loaded.graph.structure_only or hasattr(loaded.model, "record_graph"):
        raise InputError("embed needs a PyTorch model with weights (not structure only, not ONNX)")
    return collect(loaded.model, loaded.graph, layer, _source(loaded, input_spec), limit=limit, progress=progress,
                   workers=_workers(loaded, workers, address, input_spec))


def _source(loaded: Loaded, input_spec: str | None):
    from engine.compute.inputs import open_input
    return open_input(input_spec, example=loaded.example, family=loaded.graph.family, model_spec=loaded.spec.model,
                      seed=loaded.spec.seed, model=loaded.model)


def embed_loaded(loaded: Loaded, layer: str, input_spec: str | None = None, method: str = "pca",
                 limit: int | None = None, load_from: str | None = None, save_to: str | None = None,
                 progress=None, workers: int | None = None, address: str | None = None,
                 collected=None) -> list[str]:
    """An embedding (engine/compute/embed.py) of ``layer``'s representations of every item of
    ``input_spec`` (or loaded from an npz), as a point cloud standing beside that layer's slab; the
    dataset pass on Ray ``workers`` when given, or ``collected`` (collect_loaded) when already made."""
    from engine.compute.embed import METHODS, embed, load_embedding
    from engine.compute.errors import InputError
    from engine.scene.nodes.cloud import PointCloud, beside
    if load_from is not None:
        emb = load_embedding(load_from)
        layer = emb.layer
    else:
        if method not in METHODS:        # before the dataset pass, not after it
            raise InputError(f"--method {method!r}: use one of {', '.join(METHODS)}")
        _slab_named(loaded, layer, "the embedding")
        if collected is None:
            collected = collect_loaded(loaded, layer, input_spec, limit, progress, workers, address)
        emb = embed(loaded.model, loaded.graph, layer, None, method, collected=collected)
        if save_to is not None:
            emb.save(save_to)
    slab = _slab_named(loaded, layer, "the embedding")
    pos, size = beside(slab, loaded.scene.bbox, emb.points)
    loaded.scene.add(PointCloud(pos, emb.colors(), slab.layer_id, f"{layer} ({emb.method})", size, emb.items))
    by = "label" if (emb.labels >= 0).any() else "prediction"
    return [f"{len(pos):,} items of {layer} reduced with {emb.method}, coloured by {by}, beside the layer"]


def _slab_named(loaded: Loaded, layer: str, what: str):
    from engine.compute.errors import InputError
    slab = next((s for s in loaded.scene.slabs if s.name == layer), None)
    if slab is None:
        raise InputError(f"the scene has no layer {layer!r} to put {what} beside")
    return slab


def check_atlas(loaded: Loaded, layer: str):
    """(icon size, the layer's slab) for an atlas of ``layer``, or the InputError saying why not --
    before any dataset pass."""
    return _image_input_size(loaded, "--atlas"), _slab_named(loaded, layer, "the atlas")


def atlas_loaded(loaded: Loaded, layer: str, input_spec: str, method: str = "pca", grid: int = 8, steps: int = 128,
                 limit: int | None = None, progress_items=None, progress_steps=None, workers: int | None = None,
                 address: str | None = None, collected=None) -> list[str]:
    """An Activation Atlas (engine/compute/atlas.py) of ``layer`` over every item of ``input_spec``: its
    icons as a wall beside the layer (past an embedding's cloud), computed on Ray ``workers`` when given;
    ``collected``: the dataset pass already made (collect_loaded). The HUD lines."""
    import numpy as np

    from engine.compute.atlas import activation_atlas, atlas_labels
    from engine.compute.featviz import FeatVizSettings
    from engine.scene.nodes.cloud import beside_box
    size, slab = check_atlas(loaded, layer)
    src = None if collected is not None else _source(loaded, input_spec)
    atlas = activation_atlas(loaded.model, loaded.graph, layer, src, size, method, grid,
                             FeatVizSettings(steps=steps, seed=loaded.spec.seed), limit, progress_items, progress_steps,
                             _workers(loaded, workers, address, input_spec), collected)
    centre, side = beside_box(slab, loaded.scene.bbox)
    corner = centre + np.array([0.75 * side, side / 2, 0.0])
    loaded.scene.labels.extend(atlas_labels(atlas, corner, side, slab.layer_id))
    return [f"activation atlas of {layer}: {len(atlas.cells)} of {grid}x{grid} cells ({method}, {int(atlas.counts.sum()):,}"
            f" items), an icon each optimized {steps} steps"]
