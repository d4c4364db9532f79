"""ONNX files (``model.onnx``): the graph read with the onnx package, values from onnxruntime
(engine/model/onnx_model.py)."""
from __future__ import annotations

from pathlib import Path

from engine.model.source import Built, ModelSource, register_source


class OnnxSource(ModelSource):
    kind = "onnx"
    quiet = False

    def resolve(self, spec: str, canonical: str) -> str | None:
        return str(Path(spec).expanduser().resolve()) if spec.lower().endswith(".onnx") else None

    def display_name(self, name: str) -> str:
        return Path(name).stem

    def build(self, name: str) -> Built:
        from engine.model.onnx_model import OnnxModel
        model = OnnxModel(name)
        ex = model.example()
        return model, ex, ex.family

    def build_structure(self, name: str) -> Built:
        from engine.model.onnx_model import OnnxModel
        model = OnnxModel(name, weights=False)      # the graph alone: external weight files are not read
        ex = model.example()
        return model, ex, ex.family


register_source(OnnxSource())
