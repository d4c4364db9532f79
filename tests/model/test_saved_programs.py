"""Saved programs: a torch.export archive (.pt2) records as its graph of aten ops with the eager model's
shapes and values; a TorchScript archive is shown as its inner graph (exported to ONNX in memory), or as
one opaque block when that export fails; a weights file named as a model is one clear error."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

from engine.model.errors import ModelImportError
from engine.model.inputs import ExampleInputs
from engine.model.recorder import record
from engine.model.registry import load_model
from engine.model.zoo import SmallCNN
from engine.pipeline import record_spec
from engine.scenefile import SceneSpec


def _cnn():
    torch.manual_seed(0)
    return SmallCNN().eval(), torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def test_torch_export_archives_record_their_aten_graph(tmp_path):
    model, x = _cnn()
    torch.export.save(torch.export.export(model, (x,)), str(tmp_path / "cnn.pt2"))
    m, ex, name, family = load_model(str(tmp_path / "cnn.pt2"))
    assert name == "cnn" and family == "image" and torch.equal(ex.args[0], x)
    g = record(m, ex, capture=True)
    ref = record(model, ExampleInputs((x,), {}), capture=True, top_k=0)
    for kind in ("conv", "norm", "pooling", "linear"):
        assert [l.shape for l in g.layers if l.kind == kind] == [l.shape for l in ref.layers if l.kind == kind], kind
    np.testing.assert_allclose(g.layers[-1].values, ref.layers[-1].values, atol=1e-5)


def test_torchscript_archives_show_their_inner_graph(tmp_path):
    pytest.importorskip("onnxruntime")
    model, x = _cnn()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(model, x).save(str(tmp_path / "cnn_ts.pt"))
    spec = SceneSpec(model=str(tmp_path / "cnn_ts.pt"), input_shape="1x3x32x32")
    g = record_spec(spec)
    assert [l.op for l in g.layers if l.kind == "conv"] == ["Conv", "Conv"]
    out = model(torch.from_numpy(np.asarray(g.layers[0].values).reshape(1, 3, 32, 32)))
    np.testing.assert_allclose(g.layers[-1].values, out[0].detach().numpy(), atol=1e-4)


class Diff(nn.Module):
    def forward(self, x):
        return torch.diff(x, dim=-1) * 2            # aten::diff: no ONNX export at opset 17


def test_torchscript_the_onnx_exporter_cannot_take_is_one_opaque_block(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.script(Diff()).save(str(tmp_path / "diff.pt"))
    g = record_spec(SceneSpec(model=str(tmp_path / "diff.pt"), input_shape="1x8"))
    assert [l.kind for l in g.layers] == ["input", "opaque"] and g.layers[-1].shape == (1, 7)


def test_a_weights_file_is_not_a_model(tmp_path):
    torch.save(SmallCNN().state_dict(), tmp_path / "w.pt")
    with pytest.raises(ModelImportError, match="holds weights, not a model; .* --weights w.pt"):
        load_model(str(tmp_path / "w.pt"))
