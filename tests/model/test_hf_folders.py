"""Local Hugging Face folders (config.json + safetensors, sharded or not, + tokenizer files) load their
real weights offline, use their tokenizer for text input, and fail with one clear line when broken."""
from __future__ import annotations

import json

import pytest
import torch

from engine.model.errors import ModelImportError
from engine.model.registry import load_model


def _tf():
    from engine.model.sources.huggingface import import_transformers
    return import_transformers()


def _save_llama(folder, shard: str | None = None, tokenizer: bool = False):
    tf = _tf()
    torch.manual_seed(1)
    cfg = tf.LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                         num_key_value_heads=2, vocab_size=30522)
    model = tf.LlamaForCausalLM(cfg)
    model.save_pretrained(folder, **({"max_shard_size": shard} if shard else {}))
    if tokenizer:
        from engine.model.sources.huggingface import minilm_path
        tf.AutoTokenizer.from_pretrained(str(minilm_path()), local_files_only=True).save_pretrained(folder)
    return model


@pytest.mark.parametrize("shard", [None, "200KB"])
def test_a_folder_loads_its_own_weights(tmp_path, shard):
    saved = _save_llama(tmp_path / "m", shard)
    if shard:
        assert (tmp_path / "m" / "model.safetensors.index.json").exists()
    model, ex, name, family = load_model(str(tmp_path / "m"))
    assert name == "m" and family == "language" and type(model).__name__ == "LlamaForCausalLM"
    for (k, a), b in zip(saved.state_dict().items(), model.state_dict().values()):
        assert torch.equal(a, b), k
    out = model(**ex.kwargs).logits
    torch.testing.assert_close(out, saved.eval()(**ex.kwargs).logits)


def test_the_folders_tokenizer_reads_text_input(tmp_path):
    """``view ./folder --input text:...``: the folder's tokenizer (here a WordPiece), not bytes."""
    from engine.pipeline import LiveOptions, load
    from engine.scenefile import SceneSpec
    _save_llama(tmp_path / "m", tokenizer=True)
    loaded = load(SceneSpec(model=str(tmp_path / "m")), LiveOptions(input="text:the cat sat on the mat"))
    enc = loaded.session.source.encoder
    assert type(enc).__name__ == "HFEncoder" and "Bert" in type(enc.tok).__name__
    assert "cat" in loaded.scene.tokens and "mat" in loaded.scene.tokens
    loaded.session.close()


def test_a_config_alone_gets_random_weights_and_structure_on_request(tmp_path):
    _save_llama(tmp_path / "m")
    cfg = tmp_path / "m" / "config.json"
    model, _, name, _ = load_model(str(cfg))
    assert name == "m" and not next(model.parameters()).is_meta
    meta, _, _, _ = load_model(str(tmp_path / "m"), structure=True)
    assert all(p.is_meta for p in meta.parameters())


def test_broken_folders_fail_with_one_clear_line(tmp_path):
    _save_llama(tmp_path / "m", "200KB")
    index = json.loads((tmp_path / "m" / "model.safetensors.index.json").read_text())
    shard = sorted(set(index["weight_map"].values()))[1]
    (tmp_path / "m" / shard).unlink()
    with pytest.raises(ModelImportError, match=r"missing 1 of \d+ weight shards .*--structure"):
        load_model(str(tmp_path / "m"))
    assert load_model(str(tmp_path / "m"), structure=True)[0] is not None     # the structure still opens
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "config.json").write_text(json.dumps({"model_type": "no-such-arch", "hidden_size": 8}))
    with pytest.raises(ModelImportError, match="model_type 'no-such-arch' is not an architecture"):
        load_model(str(tmp_path / "x"))
    (tmp_path / "x" / "config.json").write_text("{not json")
    with pytest.raises(ModelImportError, match="not a readable config.json"):
        load_model(str(tmp_path / "x"))
