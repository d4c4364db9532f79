"""The user's own models: ``package.module:callable`` or ``path/to/file.py:callable``. The callable
returns an nn.Module or ``(model, example_inputs)``; an nn.Module instance or class also works."""
from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from torch import nn

from engine.model.errors import ModelImportError, ModelSpecError, first_line
from engine.model.inputs import ExampleInputs
from engine.model.source import Built, ModelSource, register_source
from engine.model.tensors import to_example_inputs


def _import_file(mod_part: str) -> ModuleType:
    path = Path(mod_part)
    if not path.is_file():
        raise ModelImportError(f"model file {mod_part!r} not found; check the path in 'path/to/file.py:callable'")
    modname = "neuroscape_user_" + "".join(c if c.isalnum() else "_" for c in path.stem)
    spec = importlib.util.spec_from_file_location(modname, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    parent = str(path.resolve().parent)  # the file's siblings are importable, as when run as a script
    added = parent not in sys.path
    if added:
        sys.path.insert(0, parent)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    finally:
        if added:
            sys.path.remove(parent)
    return module


def _import_dotted(mod_part: str) -> ModuleType:
    cwd = os.getcwd()  # modules next to where neuroscape runs are importable, as with `python -m`
    added = cwd not in sys.path and "" not in sys.path
    if added:
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(mod_part)
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)


def _import_module(mod_part: str) -> ModuleType:
    is_file = mod_part.endswith(".py") or os.sep in mod_part or "/" in mod_part
    try:
        return _import_file(mod_part) if is_file else _import_dotted(mod_part)
    except ModelImportError:
        raise
    except SyntaxError as e:
        where = f"{e.filename}:{e.lineno}" if e.filename else mod_part
        raise ModelImportError(f"module {mod_part!r} has a syntax error at {where}: {e.msg}; fix the file") from e
    except ModuleNotFoundError as e:
        raise ModelImportError(f"cannot import module {mod_part!r} ({first_line(e)}); check the spelling and run "
                               f"from the directory that contains it (or add it to PYTHONPATH)") from e
    except SystemExit as e:     # sys.exit() at import time (a script's main guard missing)
        raise ModelImportError(f"importing module {mod_part!r} called sys.exit({e.code!r}); guard the module's "
                               f"script part with `if __name__ == \"__main__\":`") from e
    except Exception as e:  # noqa: BLE001 - user code raised while importing
        raise ModelImportError(f"importing module {mod_part!r} raised {first_line(e)}; fix the module") from e


def _from_callable(spec: str) -> tuple[nn.Module, ExampleInputs | None]:
    mod_part, _, attr = spec.rpartition(":")
    if not mod_part or not attr:
        raise ModelSpecError(f"bad model spec {spec!r}; use package.module:callable or path/to/file.py:callable")
    module = _import_module(mod_part)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            public = [n for n in dir(module) if not n.startswith("_")]
            near = difflib.get_close_matches(attr, public, n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise ModelSpecError(f"module {mod_part!r} has no attribute {attr!r}{hint}; name a function or class "
                                 f"that returns an nn.Module")
        obj = getattr(obj, part)
    if isinstance(obj, nn.Module):
        result = obj
    elif callable(obj):
        try:
            result = obj()
        except SystemExit as e:
            raise ModelSpecError(f"calling {spec}() called sys.exit({e.code!r}); it must return the model") from e
        except Exception as e:  # noqa: BLE001 - user code
            raise ModelSpecError(f"calling {spec}() raised {first_line(e)}; it must build the model without "
                                 f"arguments") from e
    else:
        raise ModelSpecError(f"{spec} is a {type(obj).__name__}, not callable; name a function or class that "
                             f"returns an nn.Module")
    inputs = None
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[0], nn.Module):
        result, raw = result
        inputs = to_example_inputs(raw)
    if not isinstance(result, nn.Module):
        raise ModelSpecError(f"{spec} returned {type(result).__name__}, not a torch.nn.Module; return a model or "
                             f"(model, example_inputs)")
    return result, inputs


class UserSource(ModelSource):
    kind = "user"
    quiet = False  # warnings of the user's code are the user's to see

    def resolve(self, spec: str, canonical: str) -> str | None:
        # "C:model" (one colon after a drive letter) is a Windows path, not module:callable
        if ":" in spec and not (len(spec) > 1 and spec[1] == ":" and spec.count(":") == 1):
            return spec
        return None

    def build(self, name: str) -> Built:
        model, inputs = _from_callable(name)
        return model, inputs, inputs.family if inputs is not None and inputs.family else None

    def display_name(self, name: str) -> str:
        return name.rpartition(":")[2].split(".")[-1]


register_source(UserSource())
