"""One place that runs the data flow of DESIGN.md: spec -> model -> LayerGraph -> layout -> Scene,
plus, for live activations, the input source and probe session."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from engine.layout.placement import layout_graph
from engine.model.graph import LayerGraph
from engine.scene.build import build_scene
from engine.scene.nodes import Scene
from engine.scenefile import SceneSpec, camera_of, layout_of, look_of

__all__ = ["LiveOptions", "Loaded", "build", "load", "record_spec", "scene_from_graph"]


@dataclass
class LiveOptions:
    """How activations are fed: input spec, cycling/perturbing, normalization, pulse animation."""

    input: str | None = None
    live: bool = False
    norm: str = "layer"
    log: bool = False
    pulse: bool = False
    generate: int = 0               # tokens a causal LM writes step by step (0: no generation)
    temperature: float = 0.0        # 0: greedy; else sampled with the scene's seed

    @property
    def active(self) -> bool:
        return bool(self.input) or self.live or self.pulse or bool(self.generate)


@dataclass
class Loaded:
    spec: SceneSpec
    graph: LayerGraph
    scene: Scene
    model: object = None
    example: object = None
    session: object = None          # engine.compute.live.LiveSession when live options are active


def scene_from_graph(graph: LayerGraph, spec: SceneSpec | None = None) -> Scene:
    """Layout + scene of a recorded graph, with the spec's look, layout and camera options."""
    spec = spec or SceneSpec(model=graph.model_name)
    scene = build_scene(graph, look_of(spec), layout_graph(graph, layout_of(spec)))
    scene.camera = camera_of(spec, scene.camera)
    if spec.title:
        scene.title = spec.title
    if graph.structure_only:
        scene.title += f"  (structure only: {graph.weight_bytes / 1e9:.1f} GB of weights not loaded, no values)"
    if graph.random_weights:
        scene.title += "  (random weights: pass --weights)"
    return scene


def input_spec_of(spec: SceneSpec) -> str | None:
    """The scene file's [input] table as an input spec string (see engine/compute/inputs.py)."""
    i = spec.input
    kind = i.get("kind")
    if i.get("path"):
        return str(i["path"])
    if kind == "text" or i.get("text"):
        return "text:" + i.get("text", "")
    return kind


Stage = Callable[[str], None]


def _quiet(_what: str) -> None:
    pass


def load(spec: SceneSpec, live: LiveOptions | None = None, *, ring: int = 1, stage: Stage | None = None) -> Loaded:
    """Record the spec's model, build its scene and, with live options, its probe session (whose
    first frame is already in the scene's slabs). ``stage`` hears what is being done (a viewer's
    loading screen shows it)."""
    stage = stage or _quiet
    live = live or LiveOptions()
    if live.input is None:
        live.input = input_spec_of(spec)
    if not live.generate and spec.input.get("generate"):        # the scene file's [input] generate
        live.generate = int(spec.input["generate"])
        live.temperature = live.temperature or float(spec.input.get("temperature", 0.0))
    if live.generate:
        return _load_generating(spec, live, stage)
    model, example, name, graph = _load_and_record(spec, capture=not live.active, text=_text_of(live), stage=stage)
    if graph.structure_only and live.active:
        _no_values(name)
    stage(f"laying out {len(graph.layers)} layers")
    scene = scene_from_graph(graph, spec)
    loaded = Loaded(spec, graph, scene, model, example)
    if live.active:
        from engine.compute.inputs import open_input
        from engine.compute.live import LiveSession
        source = open_input(live.input, example=example, family=graph.family, model_spec=spec.model,
                            seed=spec.seed, model=model)
        loaded.session = LiveSession(model, graph, scene, source, live=live.live, norm=live.norm,
                                     log=live.log, pulse=live.pulse, ring=ring)
        stage(f"first forward pass on {live.input}")
        frame = loaded.session.first_frame()
        if frame.error:
            from engine.model.errors import ModelError
            raise ModelError(f"model {name!r} failed on input {live.input!r}: {frame.error}")
    if graph.family == "language" and not live.live:
        _label_tokens(loaded, getattr(loaded.session, "source", None), live.input)
    elif graph.family == "image" and not live.live:
        _label_patches(loaded, getattr(loaded.session, "source", None))
    return loaded


def _label_patches(loaded: Loaded, source) -> None:
    """A vision transformer's token rows labelled with thumbnails of the input's patches."""
    from engine.compute.patches import patch_tokens
    from engine.scene.tokens import add_token_labels
    maps = [l.shape for l in loaded.graph.layers if l.kind == "attention" and len(l.shape) == 4
            and l.shape[2] == l.shape[3]]
    if not maps:
        return
    inputs = source.frame(0, False) if source is not None else loaded.example
    images = [t for t in (inputs.tensors() if inputs is not None else []) if getattr(t, "dim", lambda: 0)() == 4]
    got = patch_tokens(images[0][0], int(maps[0][2])) if images else None
    if got is not None:
        add_token_labels(loaded.scene, loaded.graph, *got)


def _label_tokens(loaded: Loaded, source, input_spec: str | None) -> None:
    """Token texts beside the rows of token planes and attention maps: the text input's tokens, or
    the example's ids when the model sees its example (engine/scene/tokens.py)."""
    from engine.compute.text import encoder_for, token_pieces
    from engine.model.example import vocab_size
    from engine.scene.tokens import add_token_labels
    if source is not None and hasattr(source, "encoded"):
        encoder, ids = source.encoder, source.encoded.ids
    elif not input_spec or input_spec.strip().lower() == "example":
        t = loaded.example.kwargs.get("input_ids") if loaded.example is not None else None
        if t is None:
            return
        encoder, ids = encoder_for(loaded.spec.model, vocab_size(loaded.model) or 1), t.reshape(-1).tolist()
    else:
        return                                   # noise and other inputs: no text to show
    add_token_labels(loaded.scene, loaded.graph, token_pieces(encoder, ids))


def _load_generating(spec: SceneSpec, live: LiveOptions, stage: Stage = _quiet) -> Loaded:
    """--generate: the text is written first (a bare KV-cache loop), the scene laid out for all of it,
    and the session steps through it from the prompt (engine/compute/generate.py)."""
    import math

    import torch

    from engine.compute.errors import InputError
    from engine.compute.generate import GenerationSession, prompt_for
    from engine.model.generation import TokenChooser, generate_tokens
    from engine.model.inputs import ExampleInputs
    from engine.model.recorder import record
    from engine.model.registry import load_model

    if live.live or live.pulse:
        raise InputError("--generate steps through its own text token by token; drop --live / --pulse")
    t = live.temperature
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or not 0 <= t <= 100:
        raise InputError(f"--temperature {t!r} must be 0 (greedy) or a positive number up to 100, e.g. 0.8")
    stage(f"loading {spec.model}")
    model, example, name, _family = load_model(spec.model, weights=spec.weights, input_shape=spec.input_shape,
                                               input_dtype=spec.input_dtype, structure=spec.structure)
    from engine.model.structure import is_structure_only
    if is_structure_only(model):
        _no_values(name)
    prompt = prompt_for(model, example, spec.model, name, live.input, live.generate)
    chooser = TokenChooser(t, spec.seed)
    stage(f"writing {live.generate} tokens")
    tokens = generate_tokens(model, prompt.ids, live.generate, chooser)
    ids = torch.tensor([prompt.ids + tokens], dtype=torch.int64)
    stage("recording its layers")
    graph = record(model, ExampleInputs((), {"input_ids": ids}, "language"), capture=False, name=name)
    scene = scene_from_graph(graph, spec)
    session = GenerationSession(model, graph, scene, prompt.ids, tokens, prompt.decode, chooser=chooser,
                                norm=live.norm, log=live.log)
    frame = session.first_frame()
    if frame.error:
        from engine.model.errors import ModelError
        raise ModelError(f"model {name!r} failed generating: {frame.error}")
    from engine.compute.text import token_pieces
    from engine.scene.tokens import add_token_labels
    add_token_labels(scene, graph, token_pieces(prompt.encoder, prompt.ids + tokens))
    return Loaded(spec, graph, scene, model, example, session)


def _no_values(name: str) -> None:
    from engine.compute.errors import InputError
    raise InputError(f"{name} opens as structure only (no weights), so it has no activations to show: drop "
                     f"--input / --live / --pulse / --generate, or load a model that fits in memory")


def _text_of(live: LiveOptions) -> str | None:
    """The text of a still ``--input text:...`` (a live run keeps the example's length)."""
    spec = live.input
    return spec[5:] if isinstance(spec, str) and spec.startswith("text:") and not live.live else None


def _load_and_record(spec: SceneSpec, *, capture: bool, text: str | None = None, stage: Stage = _quiet):
    """(model, example inputs, name, LayerGraph): the spec's model recorded once on its example --
    resized to ``text``'s length for a language model given a text, so the scene holds all of it."""
    from engine.model.recorder import record
    from engine.model.registry import load_model

    stage(f"loading {spec.model}")
    model, example, name, family = load_model(spec.model, weights=spec.weights, input_shape=spec.input_shape,
                                              input_dtype=spec.input_dtype, structure=spec.structure)
    if hasattr(model, "record_graph"):          # not torch: an ONNX file records itself
        return model, example, name, model.record_graph(example, capture=capture, name=name,
                                                        values=not spec.structure)
    if text is not None and example is not None and spec.input_shape is None:
        from engine.compute.input_sources.text import text_example
        example = text_example(example, text, spec.model, model) or example
    from engine.model.registry import has_random_weights
    stage("recording its layers")
    graph = record(model, example, capture=capture, name=name)
    graph.random_weights = spec.weights is None and not graph.structure_only and has_random_weights(spec.model)
    return model, example, name, graph


def record_spec(spec: SceneSpec, *, capture: bool = True) -> LayerGraph:
    """Load the spec's model and record it once on its example input."""
    return _load_and_record(spec, capture=capture)[3]


def build(spec: SceneSpec, live: LiveOptions | None = None) -> tuple[LayerGraph, Scene]:
    """Record the spec's model and build its scene (values from the input when one is given)."""
    loaded = load(spec, live)
    return loaded.graph, loaded.scene

