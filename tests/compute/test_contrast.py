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


def test_a_folder_of_checkpoints_is_a_timeline(tmp_path):
    """Checkpoints that move only the last layer further and further: every step shows that layer's
    change since the first (growing), nothing before it, in natural file order (step_10 after step_9)."""
    from safetensors.torch import save_file

    from engine.analysis import timeline_loaded
    loaded = load(SceneSpec(model="mlp"))
    base = {k: v.clone() for k, v in loaded.model.state_dict().items()}
    last_w = [k for k in base if k.endswith("weight")][-1]
    for step in (1, 9, 10, 2):
        state = dict(base)
        state[last_w] = base[last_w] + 0.1 * step
        save_file(state, str(tmp_path / f"step_{step}.safetensors"))
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    t = timeline_loaded(loaded, str(tmp_path))
    assert [f.name for f in t.files] == ["step_1.safetensors", "step_2.safetensors", "step_9.safetensors",
                                         "step_10.safetensors"]
    last = loaded.graph.layers[-1]
    first_linear = next(l for l in loaded.graph.layers if l.kind == "linear")
    by_id = {s.layer_id: s for s in loaded.scene.slabs}
    sizes = []
    for k in range(4):
        lines = t.show(k)
        assert f"checkpoint {k + 1} of 4" in lines[0]
        sizes.append(float(np.abs(by_id[last.id].values).max()))
        assert not np.abs(by_id[first_linear.id].values).any()
    assert sizes[0] == 0 and sizes[1] < sizes[2] < sizes[3]
    assert t.step(1)[0].startswith("A = step_1.safetensors")            # wraps around
    (tmp_path / "step_2.safetensors").unlink()
    for f in list(tmp_path.glob("step_*")):
        if f.name != "step_1.safetensors":
            f.unlink()
    with pytest.raises(InputError, match="a timeline needs 2 or more"):
        timeline_loaded(loaded, str(tmp_path))
