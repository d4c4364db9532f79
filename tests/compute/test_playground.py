"""Playground compute side: datasets, CSV errors, classifier edits, training, decision fields."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from engine.cli import main
from engine.compute.classifier import MLP, ClassifierError, parse_layers
from engine.compute.datasets import BUILTIN, DIMS, DatasetError, load_csv, make_dataset
from engine.compute.field import FieldEvaluator, grid_points
from engine.compute.playground import PlaygroundSession, config_from_table, train_playground
from engine.compute.trainer import Snapshot, Trainer, TrainerError
from engine.errors import NeuroscapeError

CIRCLES_STEPS, CIRCLES_MIN_ACC = 300, 0.90     # stated threshold: circles, seed 0, 300 steps -> test acc >= 0.90


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_builtin_datasets(name):
    d = make_dataset(name, n=200, noise=0.1, seed=3)
    assert d.dims == DIMS[name] and d.x.dtype == np.float32 and d.classes >= 2
    assert np.abs(d.x).max() <= 0.9 + 1e-6 and set(np.unique(d.y)) == set(range(d.classes))
    again = make_dataset(name, n=200, noise=0.1, seed=3)
    np.testing.assert_array_equal(d.x, again.x)
    tr, te = d.split(0.3, seed=0)
    assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == len(d.y)


def _csv(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_loads_with_header_and_text_labels(tmp_path):
    d = load_csv(_csv(tmp_path, "x,y,label\n0,0,cat\n1,0,dog\n0,1,cat\n1,1,dog\n0.5,0.2,dog\n"))
    assert d.dims == 2 and d.classes == 2 and d.class_names == ["cat", "dog"] and list(d.y) == [0, 1, 0, 1, 1]


@pytest.mark.parametrize("text,needle", [
    ("0,0,a\n1,x,b\n0,1,a\n1,1,b\n", "non-numeric"),
    ("0,0,0,0,a\n1,1,1,1,b\n", "columns"),
    ("0,0,a\n1,1,b,3\n0,1,a\n1,0,b\n", "same columns"),
    ("0,0,a\n1,1,a\n0,1,a\n1,0,a\n", "2 classes"),
    ("", "empty"),
])
def test_bad_csv_errors(tmp_path, text, needle):
    with pytest.raises(DatasetError) as e:
        load_csv(_csv(tmp_path, text))
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_missing_csv_and_cli_errors(tmp_path, capsys):
    with pytest.raises(DatasetError, match="not found"):
        load_csv(tmp_path / "nope.csv")
    for argv, needle in ((["--csv", str(tmp_path / "nope.csv")], "not found"), (["--lr", "-1"], "learning rate"),
                         (["--layers", "8,a"], "--layers"), (["--activation", "swish"], "activation"),
                         (["--split", "1.5"], "split"), (["--batch", "0"], "batch"), (["--dataset", "moons"], "moons"),
                         (["--noise", "2"], "noise")):
        assert main(["playground", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("neuroscape: error: ") and needle in err and err.count("\n") == 1, err


def test_bad_parameters_raise():
    with pytest.raises(TrainerError):
        PlaygroundSession(lr=0.0)
    with pytest.raises(ClassifierError):
        parse_layers("8,1000")
    s = PlaygroundSession(dataset="xor", layers=[4])
    with pytest.raises(TrainerError):
        s.set_batch(-3)
    with pytest.raises(ClassifierError):
        s.set_activation("nope")


def test_circles_reaches_accuracy():
    s = train_playground("8,8", "circles", steps=CIRCLES_STEPS, seed=0, lr=0.03, batch=32, noise=0.1, split=0.5)
    assert s.trainer.steps == CIRCLES_STEPS
    assert s.trainer.last.test_acc >= CIRCLES_MIN_ACC, s.trainer.last


def _probs(model, x):
    with torch.no_grad():
        return torch.softmax(model(torch.as_tensor(x, dtype=torch.float32)), 1).numpy()


@pytest.mark.parametrize("dims,res", [(2, 512), (3, 128)])
def test_field_equals_probabilities_at_grid_points(dims, res):
    model = MLP(dims, [8, 8], 2, "tanh", seed=1)
    f = FieldEvaluator(dims, res).evaluate(model)
    assert f.data.shape == (res,) * dims
    rng = np.random.default_rng(0)
    idx = rng.integers(0, res, (64, dims))             # (x, y[, z]) cell indices
    pts = np.array([f.point(i) for i in idx])
    expect = _probs(model, pts)[:, 1]
    got = f.data[tuple(idx[:, k] for k in reversed(range(dims)))]
    np.testing.assert_allclose(got, expect, atol=1e-5)
    g = grid_points(dims, 4, -1.0, 1.0)
    assert torch.allclose(g[1], torch.tensor([-0.25] + [-0.75] * (dims - 1)))   # x fastest


def test_multiclass_field_channels():
    model = MLP(3, [8], 3, "relu", seed=2)
    f = FieldEvaluator(3, 16, classes=3, interest=2).evaluate(model)
    assert f.data.shape == (16, 16, 16, 2)
    idx = np.array([[1, 2, 3], [15, 0, 7]])
    p = _probs(model, np.array([f.point(i) for i in idx]))
    got = f.data[idx[:, 2], idx[:, 1], idx[:, 0]]
    np.testing.assert_allclose(got[:, 0], p[:, 2], atol=1e-5)
    np.testing.assert_array_equal(got[:, 1], p.argmax(1))


def test_parameter_changes_take_effect():
    s = PlaygroundSession(dataset="circles", layers=[4, 4], seed=0)
    s.train(20)
    s.set_lr(0.2)
    assert all(g["lr"] == 0.2 for g in s.trainer.optimizer.param_groups)
    old = [l.weight.detach().clone() for l in s.model.linears]
    v = s.structure_version
    s.add_neurons(2, layer=0)
    s.add_layer()
    assert s.config.layers == [6, 4, 4] and s.structure_version == v + 2
    shapes = [tuple(l.weight.shape) for l in s.model.linears]
    assert shapes == [(6, 2), (4, 6), (4, 4), (2, 4)]
    torch.testing.assert_close(s.model.linears[0].weight[:4], old[0])      # trained weights kept
    torch.testing.assert_close(s.model.linears[1].weight[:, :4], old[1])
    assert len([n for n in s.graph.layers if n.kind == "linear"]) == 4        # graph re-recorded
    s.train(5)
    s.set_activation("relu")
    assert all(isinstance(m, torch.nn.ReLU) for m in list(s.model.net)[1::2])
    s.train(5)
    assert s.trainer.dynamics.dead_share and all(0 <= v <= 1 for v in s.trainer.dynamics.dead_share.values())
    assert all(v >= 0 for v in s.trainer.dynamics.grad_norm.values())
    f1 = s.refresh().prob.copy()
    s.set_activation("sigmoid")
    assert not np.allclose(s.refresh().prob, f1)
    s.remove_layer()
    s.remove_neurons(1, layer=0)
    assert [tuple(l.weight.shape) for l in s.model.linears] == [(5, 2), (4, 5), (2, 4)]
    n_test = len(s.trainer.x_test)
    s.set_split(0.2)
    assert len(s.trainer.x_test) < n_test
    x0 = s.data.x.copy()
    s.set_noise(0.4)
    assert not np.allclose(s.data.x, x0)
    w = s.model.linears[0].weight.detach().clone()
    s.reset()
    assert not torch.allclose(s.model.linears[0].weight, w) and s.trainer.steps == 0


def test_user_classifier_from_module(tmp_path, monkeypatch):
    (tmp_path / "pgmodels.py").write_text(
        "import torch\n"
        "def build():\n"
        "    return torch.nn.Sequential(torch.nn.Linear(2, 12), torch.nn.ReLU(), torch.nn.Linear(12, 2))\n"
        "def wrong():\n"
        "    return torch.nn.Sequential(torch.nn.Linear(5, 2))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    s = train_playground("pgmodels:build", "xor", steps=50, seed=0)
    assert s.custom and s.field.data.shape == (512, 512) and s.trainer.steps == 50
    with pytest.raises(ClassifierError, match="fixed architecture"):
        s.add_layer()
    with pytest.raises(ClassifierError, match="2 inputs"):
        train_playground("pgmodels:wrong", "xor", steps=1)
    module = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2))
    s3 = train_playground(module, "shells3d", steps=10, resolution=32)
    assert s3.field.data.shape == (32, 32, 32)


def test_overfitting_warning():
    d = make_dataset("circles", n=100)
    t = Trainer(MLP(2, [4], 2, seed=0), d)
    assert not t.overfitting()
    train = np.linspace(0.6, 0.05, 40)
    test = np.r_[np.linspace(0.6, 0.3, 20), np.linspace(0.3, 0.7, 20)]
    t.history = [Snapshot(i, a, b, 1.0, 0.8) for i, (a, b) in enumerate(zip(train, test))]
    assert t.overfitting()
    t.history = [Snapshot(i, a, a + 0.02, 1.0, 0.8) for i, a in enumerate(train)]
    assert not t.overfitting()


def test_scene_table_config(tmp_path):
    from engine.scenefile import SceneFileError, load_scene_file
    spec = load_scene_file("scenes/playground_circles.toml")
    cfg = config_from_table(spec.playground)
    assert cfg.dataset == "circles" and cfg.layers == [8, 8]
    bad = tmp_path / "bad.toml"
    bad.write_text("[playground]\ndataset = \"circles\"\nlearning_rate = 0.1\n")
    with pytest.raises(SceneFileError, match="learning_rate"):
        load_scene_file(bad)
    bad.write_text("[playground]\nlr = -1.0\n")
    with pytest.raises(NeuroscapeError, match="learning rate"):
        config_from_table(load_scene_file(bad).playground)
    good = tmp_path / "entropy.toml"
    good.write_text("[playground]\nentropy = true\n")
    assert config_from_table(load_scene_file(good).playground).entropy is True
    bad.write_text("[playground]\nentropy = 2\n")
    with pytest.raises(SceneFileError, match="entropy"):
        load_scene_file(bad)
