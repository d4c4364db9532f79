"""Load libraries that bundle their own LLVM before Mesa's llvmpipe loads LLVM.

Measured here: importing triton (pulled in by transformers and torch on CUDA builds) after an
llvmpipe context exists segfaults in triton's native module; imported first, both work. So every
GL context (offscreen or window) calls preload() before it starts EGL.
"""
from __future__ import annotations

import importlib.util

_done = False


def preload() -> None:
    global _done
    if _done:
        return
    _done = True
    if importlib.util.find_spec("triton") is not None:
        try:
            import triton  # noqa: F401
        except Exception:  # noqa: BLE001 - a broken triton must not stop rendering
            pass
