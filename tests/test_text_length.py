"""A text input is shown whole: a language model's scene is recorded at the text's own length (not the
example's 16 tokens), up to the model's context; a longer text is one clear error."""
from __future__ import annotations

import pytest

from engine.compute.errors import InputError
from engine.pipeline import LiveOptions, load
from engine.scenefile import resolve_spec

pytest.importorskip("transformers")


def test_text_sets_the_scene_length():
    text = "the cat sat on the mat because it was warm and the dog was not"
    loaded = load(resolve_spec("minilm"), LiveOptions(input="text:" + text))
    assert loaded.graph.input_shapes[0] == (1, 17)                  # [CLS] + 15 words + [SEP]
    assert loaded.scene.tokens[1:4] == ["the", "cat", "sat"] and loaded.scene.tokens[-1] == "[SEP]"
    short = load(resolve_spec("pydoc-gpt"), LiveOptions(input="text:A list"))
    assert short.graph.input_shapes[0] == (1, 6)                    # bytes, no padding
    assert "".join(short.scene.tokens) == "A\u2423list"


def test_text_longer_than_the_context_is_refused():
    with pytest.raises(InputError, match="300 tokens, longer than the model's context of 256"):
        load(resolve_spec("pydoc-gpt"), LiveOptions(input="text:" + "x" * 300))


def test_generate_refuses_live_and_pulse():
    for opts in (LiveOptions(generate=3, live=True), LiveOptions(generate=3, pulse=True)):
        with pytest.raises(InputError, match="drop --live / --pulse"):
            load(resolve_spec("pydoc-gpt"), opts)
