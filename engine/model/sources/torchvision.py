"""Every torchvision.models name (resnet50, vgg16, vit_b_16, convnext_tiny, ...) with random weights
(weights=None, and no pretrained backbone: nothing is downloaded)."""
from __future__ import annotations

import inspect
from typing import Any

import torch

from engine.model.example import generator
from engine.model.inputs import ExampleInputs
from engine.model.source import Built, ModelSource, register_source, seeded


class TorchvisionSource(ModelSource):
    random = True                       # (nothing downloaded: weights=None, seeded)
    kind = "torchvision"

    def names(self) -> list[str]:
        try:
            import torchvision
        except Exception:  # noqa: BLE001 - optional dependency (missing or broken)
            return []
        try:
            return sorted(torchvision.models.list_models())
        except Exception:  # noqa: BLE001
            return []

    def describe(self) -> list[tuple[str, str]]:
        return [(n, "torchvision, random weights") for n in self.names()]

    def build(self, name: str) -> Built:
        import torchvision
        builder = torchvision.models.get_model_builder(name)
        kw: dict[str, Any] = {"weights": None}
        try:
            if "weights_backbone" in inspect.signature(builder).parameters:
                kw["weights_backbone"] = None  # detection/segmentation default to downloading a backbone
        except (TypeError, ValueError):
            kw["weights_backbone"] = None
        model = seeded(builder, **kw).eval()
        where = builder.__module__
        g = generator(0)
        if ".video." in where:
            frames, side = 16, 112
            try:  # the weights' metadata (static, nothing downloaded) knows the clip size the model expects
                meta_w = torchvision.models.get_model_weights(name).DEFAULT
                frames = max(frames, int(meta_w.meta.get("min_temporal_size") or 0))
                crop = getattr(meta_w.transforms(), "crop_size", None)
                side = int(crop[0]) if crop else side
            except Exception:  # noqa: BLE001
                pass
            clip = torch.randn(1, 3, frames, side, side, generator=g)
            return model, ExampleInputs((clip,), {}, "generic"), "generic"
        if ".optical_flow." in where:
            a, b = torch.randn(1, 3, 224, 224, generator=g), torch.randn(1, 3, 224, 224, generator=g)
            return model, ExampleInputs((a, b), {}, "image"), "image"
        if ".detection." in where:
            return model, ExampleInputs(([torch.rand(3, 224, 224, generator=g)],), {}, "image"), "image"
        return model, ExampleInputs((torch.randn(1, 3, 224, 224, generator=g),), {}, "image"), "image"


register_source(TorchvisionSource())
