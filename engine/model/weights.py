"""--weights files -> a model's parameters: .safetensors, or a torch.save state_dict read with
weights_only=True (never a full unpickle: a weights file may come from anywhere)."""
from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from engine.model.errors import WeightsError, first_line
from engine.model.inputs import shape_text

__all__ = ["load_weights"]


def _sniff(path: Path) -> str:
    try:
        with open(path, "rb") as f:
            head = f.read(9)
    except OSError:
        return "?"
    if head[:4] == b"PK\x03\x04":
        return "torch"
    if head[:1] == b"\x80":
        return "torch"  # legacy pickle-based torch.save
    if len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < (1 << 30):
        return "safetensors"
    return "?"


def _read_weights(path: Path) -> Any:
    ext = path.suffix.lower()
    kind = "safetensors" if ext == ".safetensors" else "torch" if ext in (".pt", ".pth", ".bin", ".ckpt") \
        else _sniff(path)
    if kind == "safetensors":
        try:
            from safetensors.torch import load_file
            return load_file(str(path), device="cpu")
        except Exception as e:  # noqa: BLE001
            raise WeightsError(f"cannot read weights {str(path)!r} as safetensors ({first_line(e)}); the file is "
                               f"corrupt or not safetensors: re-export it") from e
    if kind == "torch":
        try:
            with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": the error below says it all
                warnings.simplefilter("ignore")
                return torch.load(str(path), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            raise WeightsError(f"weights {str(path)!r} hold Python objects that need full unpickling, which "
                               f"neuroscape never does; re-save only tensors: torch.save(model.state_dict(), path) "
                               f"or safetensors") from e
        except Exception as e:  # noqa: BLE001 - zip/EOF/runtime errors: corrupt file
            raise WeightsError(f"cannot read weights {str(path)!r} ({first_line(e)}); the file is corrupt or not "
                               f"a torch.save file: re-save it with torch.save(model.state_dict(), path)") from e
    raise WeightsError(f"unsupported weights file {str(path)!r}; use .safetensors or a .pt/.pth state_dict")


def _unwrap_state(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model", "module"):
            inner = obj.get(key)
            if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                obj = inner
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        what = type(obj).__name__ if not isinstance(obj, dict) else "a dict without tensors"
        raise WeightsError(f"weights {str(path)!r} hold {what}, not a state_dict of tensors; save "
                           f"model.state_dict() (or {{'state_dict': ...}})")
    return obj


def _few(keys: list[str], n: int = 4) -> str:
    return ", ".join(keys[:n]) + (f", ... ({len(keys)} in all)" if len(keys) > n else "")


def load_weights(model: nn.Module, weights: str | os.PathLike, name: str = "model") -> None:
    """Load a .safetensors or .pt/.pth state_dict into model (strict: every key must fit)."""
    path = Path(weights)
    if path.is_dir():
        cands = sorted(path.glob("*.safetensors")) or sorted(path.glob("*.pt")) + sorted(path.glob("*.pth"))
        if len(cands) != 1:
            raise WeightsError(f"weights {str(path)!r} is a directory; pass the .safetensors/.pt file itself")
        path = cands[0]
    if not path.is_file():
        raise WeightsError(f"weights file {str(path)!r} not found; check the --weights path")
    state = _unwrap_state(_read_weights(path), path)
    own = model.state_dict()
    if all(k.startswith("module.") for k in state) and not any(k.startswith("module.") for k in own):
        state = {k[len("module."):]: v for k, v in state.items()}  # saved from DataParallel/DDP
    non_persistent = {f"{mn}.{b}" if mn else b for mn, m in model.named_modules()
                      for b in getattr(m, "_non_persistent_buffers_set", ())}
    present_ptrs = {own[k].data_ptr() for k in state if k in own}
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")
               and own[k].data_ptr() not in present_ptrs]  # tied weights loaded through their twin are fine
    unexpected = [k for k in state if k not in own and k not in non_persistent]
    mismatch = [f"{k}: file {shape_text(v.shape)} vs model {shape_text(own[k].shape)}"
                for k, v in state.items() if k in own and tuple(v.shape) != tuple(own[k].shape)]
    if missing or unexpected or mismatch:
        parts = []
        if missing:
            parts.append(f"missing keys {_few(missing)}")
        if unexpected:
            parts.append(f"unexpected keys {_few(unexpected)}")
        if mismatch:
            parts.append(f"shape mismatch {_few(mismatch, 2)}")
        raise WeightsError(f"weights {str(path)!r} do not fit model {name!r}: {'; '.join(parts)}; use weights "
                           f"saved from this architecture")
    state = {k: v for k, v in state.items() if k in own}
    try:
        model.load_state_dict(state, strict=False)
    except Exception as e:  # noqa: BLE001
        raise WeightsError(f"weights {str(path)!r} do not load into {name!r} ({first_line(e)}); use weights "
                           f"saved from this architecture") from e
