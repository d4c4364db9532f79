"""Hugging Face models from a config: a local model folder (config.json + *.safetensors, sharded or
not, + tokenizer files), a config.json path, or a config that ships with Neuroscape (``llama3-8b``,
``llama3-70b``, ``mixtral-8x7b``, ``t5-11b``: configs only, no weights).

Offline, always. A folder with weights loads them; a config alone gets seeded random weights. Either
way, weights that would not fit in the memory available are not allocated at all: the model is built
on the meta device and recorded as structure only (engine/model/structure.py) -- ``--structure``
asks for that at any size.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.model.errors import ModelImportError, first_line
from engine.model.example import SEQ_LEN, generator
from engine.model.inputs import ExampleInputs
from engine.model.source import Built, ModelInfo, ModelSource, register_source, seeded, shipped_file
from engine.model.structure import fits_in_memory, on_meta, parameter_bytes

__all__ = ["HFConfigSource", "CONFIGS", "config_path", "folder_tokenizer"]

CONFIGS = Path(__file__).resolve().parents[3] / "configs"
SHIPPED = (
    ModelInfo("llama3-8b", "Llama-3-8B's config (32 blocks, 32 heads, 8 KV heads, 16 GB in bf16): structure only "
                           "unless that fits",
              aliases=("llama-3-8b", "meta-llama/meta-llama-3-8b"), vocab_size=128256),
    ModelInfo("llama3-70b", "Llama-3-70B's config (80 blocks, 64 heads, 8 KV heads, 141 GB in bf16): structure only",
              aliases=("llama-3-70b", "meta-llama/meta-llama-3-70b"), vocab_size=128256),
    ModelInfo("mixtral-8x7b", "Mixtral-8x7B's config (32 blocks, 8 experts, 2 per token): structure only",
              aliases=("mixtral", "mistralai/mixtral-8x7b-v0.1"), vocab_size=32000),
    ModelInfo("t5-11b", "T5-11B's config (24+24 blocks, 128 heads, encoder-decoder): structure only",
              vocab_size=32128),
)
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")


def config_path(name: str) -> Path:
    """The shipped config.json of ``name``: configs/ of a checkout, else the engine.configs package data."""
    path = shipped_file(CONFIGS / f"{name}.json", "engine.configs")
    if path is not None:
        return path
    raise ModelImportError(f"the shipped config {name}.json is missing; reinstall neuroscape (pip install -e .)")


def _folder_of(spec: str) -> Path | None:
    p = Path(spec).expanduser()
    if p.is_dir() and (p / "config.json").is_file():
        return p.resolve()
    if p.is_file() and p.suffix == ".json":
        return p.resolve()
    return None


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise ModelImportError(f"{path} is not a readable config.json ({first_line(e)}); pass a Hugging Face "
                               f"model folder or its config.json") from e
    if not isinstance(data, dict) or not isinstance(data.get("model_type"), str):
        raise ModelImportError(f"{path} has no \"model_type\"; a Hugging Face config.json names its architecture "
                               f"there (e.g. \"llama\")")
    return data


def _config(tf, data: dict[str, Any], path: Path):
    kind = data["model_type"]
    known = getattr(tf, "CONFIG_MAPPING", None) or tf.models.auto.configuration_auto.CONFIG_MAPPING
    if kind not in known:
        raise ModelImportError(f"{path}: model_type {kind!r} is not an architecture transformers "
                               f"{tf.__version__} knows; upgrade transformers or check the config")
    fields = {k: v for k, v in data.items() if k != "model_type"}
    try:
        return tf.AutoConfig.for_model(kind, **fields)
    except Exception as e:  # noqa: BLE001 - invalid values in the file
        raise ModelImportError(f"{path}: the config does not build ({first_line(e)})") from e


def _model_class(tf, cfg):
    for arch in getattr(cfg, "architectures", None) or []:
        cls = getattr(tf, arch, None)
        if isinstance(cls, type) and issubclass(cls, nn.Module):
            return cls
    return tf.AutoModel


def _dtype(cfg) -> torch.dtype:
    d = getattr(cfg, "dtype", None) or getattr(cfg, "torch_dtype", None)
    if isinstance(d, str):
        d = getattr(torch, d, None)
    return d if isinstance(d, torch.dtype) else torch.float32


def _example(cfg, tokenizer=None) -> ExampleInputs:
    """Token ids (the tokenizer's encoding of a sentence when the folder has one), plus decoder ids
    for encoder-decoder models; pixels for vision configs."""
    vocab = getattr(cfg, "vocab_size", None)
    if not vocab and getattr(cfg, "image_size", None):
        size, ch = int(cfg.image_size), int(getattr(cfg, "num_channels", 3))
        x = torch.randn((1, ch, size, size), generator=generator(0))
        return ExampleInputs((), {"pixel_values": x}, "image")
    ids = None
    if tokenizer is not None:
        try:
            from engine.model.sources.huggingface import MINILM_SENTENCE
            ids = tokenizer(MINILM_SENTENCE, return_tensors="pt", truncation=True, max_length=SEQ_LEN)["input_ids"]
        except Exception:  # noqa: BLE001 - a tokenizer that cannot encode: random ids then
            ids = None
    if ids is None:
        ids = torch.randint(0, int(vocab or 1000), (1, SEQ_LEN), generator=generator(0), dtype=torch.int64)
    kw = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    if getattr(cfg, "is_encoder_decoder", False):
        kw["decoder_input_ids"] = ids[:, : max(1, ids.shape[1] // 2)]
    return ExampleInputs((), kw, "language")


def folder_tokenizer(folder: str | Path):
    """The tokenizer of a local model folder, or None when it has no tokenizer files."""
    folder = Path(folder)
    if not folder.is_dir() or not any((folder / f).exists() for f in
                                      ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "tokenizer.model")):
        return None
    from engine.model.sources.huggingface import import_transformers
    tf = import_transformers()
    try:
        return tf.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except Exception:  # noqa: BLE001 - broken tokenizer files: the byte-level encoding then
        return None


def _check_shards(folder: Path) -> bool:
    """Whether the folder has weights; a sharded index whose shards are missing is an error."""
    index = folder / "model.safetensors.index.json"
    if index.exists():
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (OSError, ValueError, KeyError, AttributeError) as e:
            raise ModelImportError(f"{index} is not a readable shard index ({first_line(e)})") from e
        missing = [s for s in shards if not (folder / s).exists()]
        if missing:
            raise ModelImportError(f"{folder} is missing {len(missing)} of {len(shards)} weight shards "
                                   f"({missing[0]}{', ...' if len(missing) > 1 else ''}); copy them in, or "
                                   f"pass --structure to see the model without weights")
        return True
    return (folder / "model.safetensors").exists() or any(folder.glob("*.safetensors"))


class HFConfigSource(ModelSource):
    kind = "hf-config"
    catalog = SHIPPED

    def resolve(self, spec: str, canonical: str) -> str | None:
        if canonical in {m.name for m in SHIPPED}:
            return canonical
        found = _folder_of(spec)
        return str(found) if found is not None else None

    def display_name(self, name: str) -> str:
        p = Path(name)
        if not p.is_absolute():
            return name
        return p.parent.name if p.name == "config.json" else p.stem if p.suffix == ".json" else p.name

    def _parts(self, name: str):
        from engine.model.sources.huggingface import import_transformers
        tf = import_transformers()
        p = Path(name)
        path = p if p.is_absolute() else config_path(name)
        cfg_file = path / "config.json" if path.is_dir() else path
        cfg = _config(tf, _read_config(cfg_file), cfg_file)
        if hasattr(cfg, "use_cache"):
            cfg.use_cache = False
        folder = path if path.is_dir() else None
        return tf, cfg, folder

    def _meta(self, tf, cfg) -> nn.Module:
        cls = _model_class(tf, cfg)
        kw = {"dtype": _dtype(cfg)}
        if getattr(cfg, "num_local_experts", None) or getattr(cfg, "num_experts", None):
            kw["experts_implementation"] = "eager"        # a loop over experts: each one in the graph
        try:
            return on_meta(cls._from_config, cfg, **kw).eval()
        except Exception as e:  # noqa: BLE001
            raise ModelImportError(f"{type(cfg).__name__} does not build ({first_line(e)})") from e

    def build_structure(self, name: str) -> Built:
        tf, cfg, folder = self._parts(name)
        return self._meta(tf, cfg), _example(cfg, folder_tokenizer(folder) if folder else None), None

    def build(self, name: str) -> Built:
        tf, cfg, folder = self._parts(name)
        meta = self._meta(tf, cfg)
        tok = folder_tokenizer(folder) if folder else None
        if not fits_in_memory(parameter_bytes(meta)):
            return meta, _example(cfg, tok), None          # structure only (the CLI says why)
        cls = _model_class(tf, cfg)
        if folder is not None and _check_shards(folder):
            try:
                model = cls.from_pretrained(str(folder), local_files_only=True, dtype=_dtype(cfg))
            except Exception as e:  # noqa: BLE001
                raise ModelImportError(f"{folder}: the weights do not load ({first_line(e)}); check the folder or "
                                       f"pass --structure to see the model without weights") from e
        else:
            model = seeded(cls._from_config, cfg, dtype=_dtype(cfg))
        return model.eval(), _example(cfg, tok), None


register_source(HFConfigSource())
