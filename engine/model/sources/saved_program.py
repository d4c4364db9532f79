"""Saved programs: torch.export archives (``model.pt2``) and TorchScript archives (``model.pt`` saved
by ``torch.jit.save``). A .pt2 runs as its graph module, so every aten op is a layer; TorchScript hides
its ops from Python, so it is exported to ONNX in memory on the example input and shown as that graph
(engine/model/onnx_model.py), or as one opaque block when that export fails."""
from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import Path

import torch
from torch import nn

from engine.model.errors import ModelImportError, first_line
from engine.model.inputs import ExampleInputs
from engine.model.source import Built, ModelSource, register_source

SUFFIXES = (".pt2", ".pt", ".pth", ".ts", ".torchscript")


def _is_torchscript(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return any("/code/" in n for n in z.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


class TorchScriptModel(nn.Module):
    """A TorchScript module that records as its ONNX export (``record_graph``), else as itself."""

    def __init__(self, script: torch.jit.ScriptModule, path: Path) -> None:
        super().__init__()
        self.script, self.path = script, path
        self.fallback: str | None = None

    def forward(self, *args, **kwargs):
        return self.script(*args, **kwargs)

    def record_graph(self, inputs: ExampleInputs, *, capture: bool = True, name: str | None = None,
                     values: bool = True):
        from engine.model.onnx_model import OnnxModel
        from engine.model.recorder import record
        buf = io.BytesIO()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(self.script, tuple(inputs.args), buf, dynamo=False, opset_version=17)
            tmp = self.path.with_name(f".{self.path.stem}.neuroscape.onnx")
            model = OnnxModel.from_bytes(buf.getvalue(), tmp)
        except Exception as e:  # noqa: BLE001 - ops the exporter lacks: the opaque block as before
            self.fallback = first_line(e)
            return record(self.script, inputs, capture=capture, name=name)
        feed = ExampleInputs((), {i.name: t for i, t in zip(model.inputs, inputs.args)}, inputs.family)
        return model.record_graph(feed, capture=capture, name=name, values=values)


class SavedProgramSource(ModelSource):
    kind = "saved-program"
    quiet = False

    def resolve(self, spec: str, canonical: str) -> str | None:
        p = Path(spec).expanduser()
        return str(p.resolve()) if p.suffix.lower() in SUFFIXES and ":" not in spec else None

    def display_name(self, name: str) -> str:
        return Path(name).stem

    def build(self, name: str) -> Built:
        path = Path(name)
        if not path.is_file():
            raise ModelImportError(f"no file at {path}; check the path")
        if path.suffix.lower() == ".pt2":
            try:
                ep = torch.export.load(str(path))
            except Exception as e:  # noqa: BLE001
                raise ModelImportError(f"{path} is not a readable torch.export archive ({first_line(e)})") from e
            ex = getattr(ep, "example_inputs", None)
            inputs = ExampleInputs(tuple(ex[0]), dict(ex[1])) if ex else None
            return ep.module(), inputs, None
        if not _is_torchscript(path):
            raise ModelImportError(f"{path} holds weights, not a model; name the architecture and pass "
                                   f"--weights {path.name}")
        try:
            script = torch.jit.load(str(path), map_location="cpu")
        except Exception as e:  # noqa: BLE001
            raise ModelImportError(f"{path} is not a readable TorchScript archive ({first_line(e)})") from e
        return TorchScriptModel(script.eval(), path), None, None


register_source(SavedProgramSource())
