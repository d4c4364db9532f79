"""ONNX files: exported from torch here (resnet18, a small GPT-2, an LSTM), read with the onnx package
and run on onnxruntime; their layers and shapes match the PyTorch recording where ops correspond and
their values equal torch's; broken files and ops onnxruntime lacks fail with one clear line."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

from engine.model.errors import ModelImportError  # noqa: E402
from engine.model.inputs import ExampleInputs  # noqa: E402
from engine.model.recorder import record  # noqa: E402
from engine.model.registry import load_model  # noqa: E402
from engine.pipeline import record_spec  # noqa: E402
from engine.scenefile import SceneSpec  # noqa: E402


def _export(model, args, path, dynamo=False, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model.eval(), args, str(path), dynamo=dynamo, opset_version=17 if not dynamo else None,
                          **({"verbose": False} if dynamo else {}), **kw)
    return path


@pytest.fixture(scope="module")
def resnet18(tmp_path_factory):
    import torchvision
    torch.manual_seed(0)
    m = torchvision.models.resnet18().eval()
    x = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(1))
    return m, x, _export(m, (x,), tmp_path_factory.mktemp("onnx") / "resnet18.onnx", input_names=["x"])


def test_resnet18_layers_shapes_and_values_match_torch(resnet18):
    model, x, path = resnet18
    onnx_model, ex, name, family = load_model(str(path))
    assert name == "resnet18" and family == "image" and tuple(ex.kwargs["x"].shape) == (1, 3, 224, 224)
    ex.kwargs["x"] = x
    g = onnx_model.record_graph(ex, capture=True, name=name)
    ref = record(model, ExampleInputs((x,), {}), capture=True, top_k=0)
    convs = [l.shape for l in g.layers if l.kind == "conv"]
    assert convs == [l.shape for l in ref.layers if l.kind == "conv"]        # BN folded into each conv
    relus = [l for l in g.layers if l.op == "Relu"]
    assert [l.shape for l in relus] == [l.shape for l in ref.layers if l.op == "ReLU"]
    torch_relu = {l.name: l for l in ref.layers if l.op == "ReLU"}
    np.testing.assert_allclose(relus[0].values, torch_relu["relu"].values.reshape(-1), atol=1e-4)
    np.testing.assert_allclose(g.layers[-1].values, model(x)[0].detach().numpy(), atol=1e-4)
    fc = g.layers[-1]
    assert fc.op == "Gemm" and fc.kind == "linear" and fc.params == 512 * 1000 + 1000
    assert fc.attrs["initializers"] == {"fc.weight": [1000, 512], "fc.bias": [1000]}
    assert g.total_params == sum(p.numel() for p in model.parameters()) - sum(   # minus folded BN
        m.weight.numel() + m.bias.numel() for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)) + sum(
        m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d))


@pytest.mark.slow
def test_small_gpt2_and_lstm_run_and_match(tmp_path):
    from engine.model.sources.huggingface import import_transformers
    tf = import_transformers()
    gpt = tf.GPT2LMHeadModel(tf.GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=100, n_positions=32,
                                           use_cache=False, attn_implementation="eager")).eval()
    ids = torch.randint(0, 100, (1, 16), generator=torch.Generator().manual_seed(0))

    class Logits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids):
            return self.m(input_ids=input_ids).logits
    pytest.importorskip("onnxscript")              # the dynamo exporter: transformers' masks use aten::diff
    _export(Logits(gpt), (ids,), tmp_path / "gpt.onnx", dynamo=True, input_names=["input_ids"])
    m, ex, _, family = load_model(str(tmp_path / "gpt.onnx"))
    assert family == "language"
    ex.kwargs["input_ids"] = ids
    g = m.record_graph(ex, capture=True)
    assert sum(l.op == "Softmax" for l in g.layers) == 2 and any(l.kind == "matmul" for l in g.layers)
    np.testing.assert_allclose(g.layers[-1].values, gpt(input_ids=ids).logits[0].detach().numpy().reshape(-1),
                               atol=1e-4)
    lstm = torch.nn.LSTM(8, 16, num_layers=2, batch_first=True)
    x = torch.randn(1, 5, 8)
    _export(lstm, (x,), tmp_path / "lstm.onnx", input_names=["x"])
    m, ex, _, _ = load_model(str(tmp_path / "lstm.onnx"))
    ex.kwargs["x"] = x
    g = m.record_graph(ex, capture=True)
    rnn = [l for l in g.layers if l.op == "LSTM"]
    assert len(rnn) == 2 and all(l.kind == "recurrent" for l in rnn)
    out = g.layers[[l.op for l in g.layers].index("LSTM", 0)]
    assert out.shape == (5, 1, 1, 16)                 # ONNX LSTM: steps x directions x batch x hidden
    final = next(l for l in reversed(g.layers) if l.shape == (1, 5, 16))
    np.testing.assert_allclose(final.values, lstm(x)[0][0].detach().numpy().reshape(-1), atol=1e-5)


def test_scene_inspect_and_structure_of_an_onnx_file(resnet18, capsys):
    from engine.cli import main
    _, _, path = resnet18
    g = record_spec(SceneSpec(model=str(path)))
    assert len(g.layers) == 50 and all(l.values is not None for l in g.layers)
    assert main(["inspect", str(path), "--details"]) == 0
    out = capsys.readouterr().out
    assert "/conv1/Conv" in out and "kernel_shape=[7, 7]" in out and "initializers" in out
    s = record_spec(SceneSpec(model=str(path), structure=True))
    assert len(s.layers) == 50 and all(l.values is None for l in s.layers) and s.structure_only


def test_broken_onnx_files_fail_with_one_clear_line(resnet18, tmp_path):
    import onnx
    from onnx import helper
    _, _, path = resnet18
    data = path.read_bytes()
    (tmp_path / "cut.onnx").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelImportError, match="not a readable ONNX model"):
        load_model(str(tmp_path / "cut.onnx"))
    with pytest.raises(ModelImportError, match="no ONNX file at"):
        load_model(str(tmp_path / "missing.onnx"))
    node = helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    onnx.save(model, str(tmp_path / "custom.onnx"))
    with pytest.raises(ModelImportError, match="onnxruntime cannot run custom.onnx .*--structure"):
        record_spec(SceneSpec(model=str(tmp_path / "custom.onnx")))
    g = record_spec(SceneSpec(model=str(tmp_path / "custom.onnx"), structure=True))
    assert [l.op for l in g.layers] == ["input", "Frobnicate"] and g.layers[1].kind == "other"


def test_live_inputs_run_on_onnxruntime(resnet18):
    """``view model.onnx --input noise --live``: every frame runs onnxruntime on the source's input and
    each shown layer's values are that run's (the classifier's output equals torch's on the same input)."""
    from engine.pipeline import LiveOptions, load
    model, _, path = resnet18
    loaded = load(SceneSpec(model=str(path)), LiveOptions(input="noise", live=True))
    sess = loaded.session
    fc = loaded.graph.layers[-1]
    outs = []
    for t in (0, 7):
        frame = sess.compute(t)
        assert frame.error is None and len(frame.layers) == len(loaded.scene.slabs)
        x = sess.source.frame(t, True).kwargs["x"]
        np.testing.assert_allclose(frame.layers[fc.id].values, model(x)[0].detach().numpy(), atol=1e-4)
        outs.append(np.array(frame.layers[fc.id].values))
    assert np.abs(outs[0] - outs[1]).max() > 1e-3            # the input moved, so did the output
    sess.close()


def test_external_data_is_read_only_when_it_fits(resnet18, tmp_path, monkeypatch):
    """A model saved with its weights in an external file (as ONNX does past 2 GB) runs when they fit
    in memory and opens as its graph alone when they do not."""
    import onnx
    _, _, path = resnet18
    proto = onnx.load(str(path))
    onnx.save_model(proto, str(tmp_path / "ext.onnx"), save_as_external_data=True, location="ext.data")
    g = record_spec(SceneSpec(model=str(tmp_path / "ext.onnx")))
    assert not g.structure_only and g.layers[-1].values is not None
    monkeypatch.setattr("engine.model.structure.MEMORY_SHARE", 1e-9)
    g = record_spec(SceneSpec(model=str(tmp_path / "ext.onnx")))
    assert g.structure_only and len(g.layers) == 50 and g.layers[-1].values is None
