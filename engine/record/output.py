"""Checks before anything is written: the output's type, no silent overwrite, a writable folder."""
from __future__ import annotations

import os
from pathlib import Path

from engine.errors import NeuroscapeError


def check_output(path: Path, force: bool, suffixes: tuple[str, ...]) -> None:
    """Raise a one-line error unless ``path`` may be written (suffix in ``suffixes``, not existing
    unless ``force``, its folder creatable and writable)."""
    if path.suffix.lower() not in suffixes:
        raise NeuroscapeError(f"output {path} has an unsupported extension: use {' or '.join(suffixes)}")
    if path.exists() and not force:
        raise NeuroscapeError(f"{path} exists: pass --force to overwrite it or choose another -o")
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise NeuroscapeError(f"cannot create the folder {parent} ({e.strerror}): choose a writable -o") from None
    if not os.access(parent, os.W_OK):
        raise NeuroscapeError(f"cannot write to {parent}: choose a writable -o")
