"""Contrast: every neuron shows A - B for two inputs or two weight files, and the HUD ranks layers by
relative change -- exactly where the difference was put in."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.compute.contrast import contrast_graphs
from engine.compute.errors import InputError
from engine.model.inputs import ExampleInputs
from engine.model.recorder import record
from engine.analysis import compare_loaded
from engine.pipeline import LiveOptions, load
from engine.scenefile import SceneSpec


def test_a_minus_b_layer_by_layer():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5, bias=False), torch.nn.Linear(5, 3, bias=False)).eval()
    xa, xb = torch.randn(1, 6), torch.randn(1, 6)
    a = record(model, ExampleInputs((xa,), {}), capture=True, top_k=0)
    b = record(model, ExampleInputs((xb,), {}), capture=True, top_k=0)
    c = contrast_graphs(a, b, "x_b")
    last = a.layers[-1]
    with torch.no_grad():
        want = (model(xa) - model(xb))[0].numpy()
    np.testing.assert_allclose(c.layers[last.id], want, rtol=1e-5, atol=1e-6)
    assert c.change[last.id] == pytest.approx(np.linalg.norm(want) / np.linalg.norm(model(xa)[0].detach().numpy()),
                                              rel=1e-5)
    same = contrast_graphs(a, a, "itself")
    assert all(not v.any() for v in same.layers.values()) and not any(same.change.values())


def test_other_weights_light_up_only_what_changed(tmp_path):
    """--compare-weights with the last layer's weights changed: every earlier layer is unchanged (0),
    the last one tops the ranking."""
    from safetensors.torch import save_file
    loaded = load(SceneSpec(model="mlp"))
    state = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    last_w = [k for k in state if k.endswith("weight")][-1]
    state[last_w] += 0.5
    save_file(state, str(tmp_path / "b.safetensors"))
    lines = compare_loaded(loaded, weights_b=str(tmp_path / "b.safetensors"))
    last = loaded.graph.layers[-1]
    assert last.name in lines[1] and "weights" in lines[0]
    by_id = {s.layer_id: s for s in loaded.scene.slabs}
    assert np.abs(by_id[last.id].values).max() > 0 and by_id[last.id].signed
    first_linear = next(l for l in loaded.graph.layers if l.kind == "linear")
    assert not np.abs(by_id[first_linear.id].values).any()
    assert "A - B" in loaded.scene.title


def test_another_input_and_bad_requests():
    loaded = load(SceneSpec(model="cnn"), LiveOptions(input="noise"))
    lines = compare_loaded(loaded, input_b="photo")
    assert lines[0].startswith("A - B, B = input photo") and len(lines) == 6
    with pytest.raises(InputError, match="one of --compare-input or --compare-weights"):
        compare_loaded(loaded)
    loaded.session.close()


def test_cli_refuses_explain_and_compare_together(tmp_path, capsys):
    from engine.cli import main
    assert main(["render", "cnn", "--explain", "ig", "--compare-input", "noise", "-o", str(tmp_path / "x.png")]) == 2
    assert "pick one" in capsys.readouterr().err
