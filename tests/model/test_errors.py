"""Every bad model spec, weights file or input string gives a NeuroscapeError subclass whose one-line
message names the problem and the fix."""
from __future__ import annotations

import collections
import textwrap

import pytest

import torch
from torch import nn

from engine.errors import NeuroscapeError
from engine.model.errors import (InputSpecError, ModelError, ModelImportError, ModelSpecError,
                                 UnknownModelError, WeightsError)
from engine.model.inputs import parse_input_dtype, parse_input_shape
from engine.model.recorder import record
from engine.model.registry import load_model, load_weights


def raises(exc_type, fn, *args, match: str | tuple = (), **kw) -> str:
    with pytest.raises(exc_type) as info:
        fn(*args, **kw)
    msg = str(info.value)
    assert isinstance(info.value, NeuroscapeError)
    assert "\n" not in msg and 20 < len(msg) < 600, msg
    for m in (match,) if isinstance(match, str) else match:
        assert m in msg, msg
    return msg


# ------------------------------------------------------------------------ names and modules
def test_unknown_model_name_suggests_close_matches():
    msg = raises(UnknownModelError, load_model, "resnet5", match=("'resnet5'", "neuroscape inspect --list"))
    pytest.importorskip("torchvision")
    assert "resnet50" in msg or "resnet18" in msg
    raises(UnknownModelError, load_model, "bertt", match="bert")
    raises(UnknownModelError, load_model, "", match="--list")


def test_module_not_found():
    raises(ModelImportError, load_model, "no_such_pkg_for_neuroscape.models:build",
           match=("no_such_pkg_for_neuroscape", "PYTHONPATH"))


def test_missing_file_spec(tmp_path):
    raises(ModelImportError, load_model, f"{tmp_path}/nope.py:build", match=("not found",))


def test_syntax_error_in_user_module(tmp_path, monkeypatch):
    (tmp_path / "broken_ns_mod.py").write_text("def build(:\n    pass\n")
    msg = raises(ModelImportError, load_model, f"{tmp_path / 'broken_ns_mod.py'}:build", match="syntax error")
    assert "broken_ns_mod.py:1" in msg
    monkeypatch.syspath_prepend(str(tmp_path))
    raises(ModelImportError, load_model, "broken_ns_mod:build", match=("syntax error", "fix the file"))


def test_user_module_raising_on_import(tmp_path, monkeypatch):
    (tmp_path / "raising_ns_mod.py").write_text("raise ValueError('no GPU here')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    raises(ModelImportError, load_model, "raising_ns_mod:build", match=("ValueError", "no GPU here"))


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "user_models_ns.py").write_text(textwrap.dedent("""
        import torch
        from torch import nn

        def build_model():
            return nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))

        def with_inputs():
            return build_model(), torch.randn(1, 6)

        def returns_int():
            return 3

        def raises():
            raise RuntimeError("out of memory")

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(1, 4, 3)

            def forward(self, x):
                return self.conv(x)

        instance = Net()
        not_callable = 42
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path / "user_models_ns.py"


def test_callable_specs_work(user_module):
    model, inputs, name, family = load_model("user_models_ns:with_inputs")
    assert name == "with_inputs" and inputs.args[0].shape == (1, 6)
    assert record(model, inputs).layers[-1].shape == (1, 2)
    model, inputs, name, family = load_model("user_models_ns:build_model")  # input guessed from Linear(6, 5)
    assert inputs.args[0].shape == (1, 6)
    model, inputs, name, family = load_model(f"{user_module}:Net")  # a class, from a file path
    assert isinstance(model, nn.Module) and inputs.args[0].shape == (1, 1, 28, 28) and family == "image"
    model, inputs, _, _ = load_model("user_models_ns:instance", input_shape="2x1x10x10")
    assert record(model, inputs).layers[-1].shape == (2, 4, 8, 8)


def test_callable_missing(user_module):
    raises(ModelSpecError, load_model, "user_models_ns:build_modle", match=("has no attribute", "build_model"))


def test_callable_returns_non_module(user_module):
    raises(ModelSpecError, load_model, "user_models_ns:returns_int", match=("returned int", "nn.Module"))
    raises(ModelSpecError, load_model, "user_models_ns:not_callable", match="not callable")


def test_callable_raises(user_module):
    raises(ModelSpecError, load_model, "user_models_ns:raises", match=("RuntimeError", "out of memory"))


# ------------------------------------------------------------------------ inputs
@pytest.mark.parametrize("text", ["abc", "1x-3", "", "1xx3", "3.5x2", "1x0"])
def test_bad_input_shape(text):
    raises(InputSpecError, parse_input_shape, text, match="--input-shape")
    raises(InputSpecError, load_model, "mlp", input_shape=text, match="--input-shape")


def test_input_shape_forms():
    assert parse_input_shape("1x3x224x224") == [(1, 3, 224, 224)]
    assert parse_input_shape("(1, 3, 32, 32)") == [(1, 3, 32, 32)]
    assert parse_input_shape("1x16; 1x16") == [(1, 16), (1, 16)]
    assert parse_input_dtype("long") == "int64" and parse_input_dtype("torch.float16") == "float16"


def test_bad_input_dtype():
    raises(InputSpecError, parse_input_dtype, "float33", match=("--input-dtype", "float32"))
    raises(InputSpecError, load_model, "mlp", input_dtype="complex", match="--input-dtype")


def test_model_fails_on_example_input():
    model, inputs, name, _ = load_model("mlp", input_shape="1x3x8")
    msg = raises(ModelError, record, model, inputs, name=name,
                 match=("'mlp'", "1x3x8", "RuntimeError", "--input-shape"))
    assert "mat1 and mat2" in msg
    assert torch._C._len_torch_function_stack() == 0  # the recorder cleaned up
    assert not torch.nn.modules.module._global_forward_hooks
    assert not torch.nn.modules.module._global_forward_pre_hooks
    # the same model still records fine afterwards
    model, inputs, name, _ = load_model("mlp")
    assert record(model, inputs).layers[-1].shape == (1, 10)


def test_model_raising_outside_leaf_modules():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)

        def forward(self, x):
            return self.a(x).view(3, 7)

    raises(ModelError, record, Bad(), torch.randn(1, 4), match=("'Bad'", "shape 1x4", "--input-shape"))
    assert torch._C._len_torch_function_stack() == 0


def test_record_needs_a_module_and_an_input():
    raises(ModelError, record, "resnet50", torch.randn(1, 3), match="nn.Module")
    raises(ModelError, record, nn.Linear(2, 2), None, match="example input")


# ------------------------------------------------------------------------ weights
@pytest.fixture
def mlp():
    model, inputs, name, _ = load_model("mlp")
    return model


def test_weights_round_trip(tmp_path, mlp):
    from safetensors.torch import save_file
    state = {k: torch.full_like(v, 0.5) for k, v in mlp.state_dict().items()}
    save_file(state, str(tmp_path / "w.safetensors"))
    torch.save({"state_dict": state}, tmp_path / "w.pt")
    torch.save({"module." + k: v for k, v in state.items()}, tmp_path / "ddp.pth")
    for f in ("w.safetensors", "w.pt", "ddp.pth"):
        model, _, _, _ = load_model("mlp", weights=str(tmp_path / f))
        assert torch.all(model.net[0].weight == 0.5)


def test_weights_missing_file(tmp_path):
    raises(WeightsError, load_model, "mlp", weights=str(tmp_path / "nope.pt"), match=("not found", "--weights"))


def test_weights_corrupt(tmp_path):
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    raises(WeightsError, load_model, "mlp", weights=str(tmp_path / "bad.safetensors"), match="corrupt")
    (tmp_path / "bad.pt").write_bytes(b"PK\x03\x04garbage")
    raises(WeightsError, load_model, "mlp", weights=str(tmp_path / "bad.pt"), match="corrupt")


def test_weights_unsupported_format(tmp_path):
    (tmp_path / "weights.npz").write_bytes(b"just some bytes")
    raises(WeightsError, load_model, "mlp", weights=str(tmp_path / "weights.npz"),
           match=("unsupported", ".safetensors"))


Cfg = collections.namedtuple("Cfg", "lr")  # a class weights_only=True refuses


def test_weights_pickle_only(tmp_path, mlp):
    torch.save(mlp, tmp_path / "whole_model.pt")  # a pickled nn.Module, not a state_dict
    raises(WeightsError, load_model, "mlp", weights=str(tmp_path / "whole_model.pt"),
           match=("unpickling", "state_dict"))
    torch.save({"state_dict": mlp.state_dict(), "cfg": Cfg(0.1)}, tmp_path / "ckpt.pt")
    raises(WeightsError, load_model, "mlp", weights=str(tmp_path / "ckpt.pt"), match="unpickling")


def test_weights_not_a_state_dict(tmp_path):
    torch.save([1, 2, 3], tmp_path / "list.pt")
    raises(WeightsError, load_model, "mlp", weights=str(tmp_path / "list.pt"), match=("not a state_dict", "list"))


def test_weights_mismatch_lists_keys(tmp_path, mlp):
    other, _, _, _ = load_model("cnn")
    torch.save(other.state_dict(), tmp_path / "cnn.pt")
    msg = raises(WeightsError, load_model, "mlp", weights=str(tmp_path / "cnn.pt"),
                 match=("do not fit model 'mlp'", "missing keys", "net.0.weight", "unexpected keys", "features.0"))
    assert "in all)" in msg  # a few keys and the count, not all of them
    state = mlp.state_dict()
    state["net.0.weight"] = torch.zeros(3, 3)
    torch.save(state, tmp_path / "shape.pt")
    raises(WeightsError, load_weights, mlp, tmp_path / "shape.pt", match=("shape mismatch", "net.0.weight", "3x3"))
