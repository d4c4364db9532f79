"""engine.compute.input_kind: kinds of --input register like model sources (by name, prefix or
guess) and make the accepted list of error messages."""
from __future__ import annotations

import pytest
import torch

from engine.compute.input_kind import InputKind, accepted, input_kinds, register_input, unregister_input
from engine.compute.input_source import InputSource
from engine.compute.inputs import ACCEPTED, InputError, open_input
from engine.model.registry import load_model


class OnesSource(InputSource):
    label = "ones"

    def _make(self, i):
        return type(self.example)(tuple(torch.ones_like(t) for t in self.example.args), {}, self.example.family)


def test_runtime_input_kind_by_name_and_guess():
    _, example, _, family = load_model("cnn")
    guessed: list[str] = []

    def guess(req):
        guessed.append(req.spec)
        return OnesSource(req.example, n=1, **req.common()) if req.low.startswith("#") else None

    kind = register_input(InputKind("ones", "ones", names=("ones",),
                                    open=lambda req: OnesSource(req.example, n=1, **req.common()), guess=guess))
    try:
        src = open_input(" ONES ", example=example, family=family)
        assert isinstance(src, OnesSource) and float(src.get(0).args[0].min()) == 1.0
        assert isinstance(open_input("#fff", example=example, family=family), OnesSource)
        assert type(open_input("noise", example=example, family=family)).__name__ == "NoiseSource"  # names first
        with pytest.raises(InputError, match="or ones$"):
            open_input("nothing", example=example, family=family)
        assert guessed == ["#fff", "nothing"]  # built-in guesses (files, text) come first and passed
        assert accepted() == ACCEPTED.replace(", or text:", ", text:") + ", or ones"
    finally:
        unregister_input(kind)
    assert accepted() == ACCEPTED and kind not in input_kinds()
    with pytest.raises(InputError, match="unknown --input 'ones'"):
        open_input("ones", example=example, family=family)


def test_builtin_input_kinds_make_the_accepted_list():
    assert [k.kind for k in input_kinds()] == ["files", "digits", "sample-photo", "noise", "text"]
    assert ACCEPTED == ("example, an image file (.png .jpg .jpeg .bmp .gif .webp .tif), a folder of images, a video "
                        "(.mp4 .avi .mov .mkv .webm), digits, sample-photo, noise, or text:... (language models)")
    with pytest.raises(ValueError, match="already registered"):
        register_input(input_kinds()[0])
