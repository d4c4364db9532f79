"""Structure without weights: models built on the meta device record the same layers, kinds, shapes,
parameter counts, replay sites and edges as a real run, allocate no weights, and open at any size
(the shipped Llama-3-70B config); a structure-only model refuses inputs with one clear line."""
from __future__ import annotations

import pytest
import torch

from engine.model.inputs import ExampleInputs
from engine.model.recorder import record
from engine.model.structure import MetaShadow, is_structure_only, on_meta, parameter_bytes


def _table(g):
    layers = [(l.name, l.kind, l.op, tuple(l.shape), l.params, l.site) for l in g.layers]
    return layers, sorted((e.src, e.dst, e.kind) for e in g.edges)


def _tf():
    from engine.model.sources.huggingface import import_transformers
    return import_transformers()


def _ids():
    ids = torch.randint(0, 1000, (1, 16), generator=torch.Generator().manual_seed(0))
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def _small_llama(tf):
    return tf.LlamaForCausalLM(tf.LlamaConfig(hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                                              num_attention_heads=8, num_key_value_heads=2, vocab_size=1000,
                                              use_cache=False))


CASES = {
    "gpt2": (lambda: _tf().GPT2LMHeadModel(_tf().GPT2Config(n_layer=2, use_cache=False)), _ids, "language"),
    "bert": (lambda: _tf().BertModel(_tf().BertConfig(num_hidden_layers=2)), _ids, "language"),
    "llama-gqa": (lambda: _small_llama(_tf()), _ids, "language"),
    "resnet50": (lambda: __import__("torchvision").models.resnet50(),
                 lambda: {"x": torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))}, "image"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_meta_recording_equals_the_real_one(name):
    """Same layers, kinds, ops, shapes, parameter counts, sites and edges; no weight allocated."""
    build, inputs, family = CASES[name]
    real = record(build().eval(), ExampleInputs((), inputs(), family), capture=False, top_k=0)
    meta = on_meta(build).eval()
    assert is_structure_only(meta) and all(p.is_meta for p in meta.parameters())
    g = record(meta, ExampleInputs((), inputs(), family), capture=True)
    assert g.structure_only and g.weight_bytes == parameter_bytes(meta) > 0
    assert all(l.values is None for l in g.layers)            # shapes only, whatever capture asked
    assert _table(g) == _table(real)
    assert g.total_params == real.total_params


def test_shadow_values_answer_checks_on_inputs_and_everything_else_stays_meta():
    """Values from the inputs (masks, positions) are real for checks; what the weights make is not."""
    lin = on_meta(torch.nn.Linear, 4, 4)
    mask = torch.ones(1, 5, dtype=torch.bool)
    with MetaShadow():
        pos = torch.arange(5, device="meta")
        assert pos.is_meta and pos.sum().item() == 10                  # computed on the shadow
        assert bool(torch.all(mask == 1))
        y = lin(torch.randn(1, 5, 4))
        assert y.is_meta and tuple(y.shape) == (1, 5, 4)
        assert tuple(torch.nonzero(y > 0).shape) == (20, 3)             # as if every element were
        with pytest.raises(RuntimeError, match="structure-only"):
            y.sum().item()


@pytest.mark.slow
def test_llama3_70b_opens_as_structure_at_its_true_size():
    """The shipped config: 80 blocks x 64 heads with 8 KV heads, 70.6 B parameters, nothing allocated."""
    from engine.model.registry import load_model
    model, ex, name, family = load_model("llama3-70b")
    assert name == "llama3-70b" and is_structure_only(model)
    g = record(model, ex, name=name)
    assert g.structure_only and g.total_params == 70_553_706_496
    maps = [l for l in g.layers if l.op == "attention_probs"]
    assert len(maps) == 80 and all(l.shape == (1, 64, 16, 16) for l in maps)
    k = g.layer("model.layers.79.self_attn.k_proj")
    assert k.shape == (1, 16, 8 * 128)                                   # grouped-query: 8 KV heads
    assert "structure only: 141.1 GB of weights not loaded" in g.table()


def test_mixtral_shows_every_expert():
    """Routing depends on weights it does not have: every expert is in the graph, each with its two
    projections, side by side in every block."""
    from engine.model.registry import load_model
    model, ex, name, _ = load_model("mixtral-8x7b")
    g = record(model, ex, name=name)
    block = [l for l in g.layers if l.name.startswith("model.layers.3.mlp.experts.") and l.op == "linear"]
    assert len(block) == 8 * 2


def test_structure_only_models_refuse_inputs_and_weights(tmp_path):
    from engine.compute.errors import InputError
    from engine.model.errors import InputSpecError
    from engine.model.registry import load_model
    from engine.pipeline import LiveOptions, load
    from engine.scenefile import SceneSpec
    with pytest.raises(InputError, match="structure only .* drop --input"):
        load(SceneSpec(model="mlp", structure=True), LiveOptions(input="noise"))
    with pytest.raises(InputSpecError, match="drop --weights or --structure"):
        load_model("mlp", weights=str(tmp_path / "w.safetensors"), structure=True)
    loaded = load(SceneSpec(model="mlp", structure=True))
    assert loaded.graph.structure_only and "structure only" in loaded.scene.title
    assert all(s.values is None for s in loaded.scene.slabs)


def test_cli_inspect_says_structure_only(capsys):
    from engine.cli import main
    assert main(["inspect", "gpt2", "--structure"]) == 0
    out = capsys.readouterr().out
    assert "124,439,808 parameters" in out and "structure only: 0.5 GB of weights not loaded" in out
    assert main(["inspect", "--list"]) == 0
    assert "llama3-70b" in capsys.readouterr().out


def test_picking_a_structure_only_neuron_reads_no_weights():
    """The viewer's inspector on a structure-only conv net: names only, no kernels or contributions
    read from meta tensors."""
    from engine.app.inspector import Inspector
    from engine.pipeline import load
    from engine.scene.nodes import Pick
    from engine.scenefile import SceneSpec
    loaded = load(SceneSpec(model="cnn", structure=True))
    ins = Inspector(loaded.scene, loaded.graph, loaded.model)
    assert not ins.available
    conv = next(s for s in loaded.scene.slabs if s.kind == "conv")
    pick = Pick(conv, 1.0, conv.center, 1, 1)
    out = ins.inspect(pick)
    assert out.lines == ["Conv2d   448 parameters   kernel_size 3x3"] and out.panel is None   # the op, from the graph
    assert pick.value is None and conv.name in pick.describe()
