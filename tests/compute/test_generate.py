"""--generate: token-by-token generation with the KV cache fills every token plane and attention map
row by row with the values a full forward pass over the whole text gives (checked against Hugging
Face's own eager attention and hidden states), chooses the tokens Hugging Face's generate() chooses,
is reproducible when sampling, outlines the rows each step wrote, and refuses models and prompts
it cannot run with one line."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from engine.compute.errors import InputError
from engine.compute.generate import GenerationSession, place, prompt_for, text_lines
from engine.model.generation import TokenChooser, causal_lm_problem, generate_tokens
from engine.model.inputs import ExampleInputs
from engine.model.recorder import record
from engine.scene.marks import MARK_OFF, MARK_ON, strip_marks

tf = pytest.importorskip("transformers")


def _lm(kind: str = "gpt2"):
    cfgs = {
        "gpt2": tf.GPT2Config(n_layer=2, n_embd=32, n_head=4, vocab_size=300, n_positions=64, use_cache=False),
        "llama": tf.LlamaConfig(num_hidden_layers=2, hidden_size=32, intermediate_size=64, num_attention_heads=4,
                                num_key_value_heads=2, vocab_size=300, max_position_embeddings=64, use_cache=False),
    }
    torch.manual_seed(0)
    return tf.AutoModelForCausalLM.from_config(copy.deepcopy(cfgs[kind])).eval()


def _session(model, prompt, n, **kw):
    from engine.layout.placement import layout_graph
    from engine.scene.build import build_scene
    from engine.scene.look import Look
    tokens = generate_tokens(model, prompt, n, TokenChooser())
    graph = record(model, ExampleInputs((), {"input_ids": torch.tensor([prompt + tokens])}, "language"),
                   name="lm")
    scene = build_scene(graph, Look(), layout_graph(graph))
    return GenerationSession(model, graph, scene, prompt, tokens, lambda ids: " ".join(map(str, ids)), **kw), tokens


def test_place_puts_step_rows_where_they_belong():
    assert place((10, 32), (1, 32), 6, 1) == (slice(6, 7), slice(None))          # a token plane row
    assert place((4, 10, 10), (4, 1, 7), 6, 1) == (slice(None), slice(6, 7), slice(0, 7))   # a query's keys
    assert place((4, 10, 10), (4, 5, 5), 0, 5) == (slice(None), slice(0, 5), slice(0, 5))   # the prompt
    assert place((10,), (1,), 9, 1) == (slice(9, 10),)
    assert place((10, 32), (1, 16), 6, 1) is None                                # another width: not ours
    assert place((10, 32), (32,), 6, 1) is None


def test_text_lines_mark_the_fed_token_and_keep_the_last_lines():
    lines = text_lines("a" * 100 + "\n", "xyz", cols=40, rows=2)
    assert len(lines) == 2 and strip_marks("".join(lines)).endswith("\u21b5xyz")
    assert MARK_ON + "xyz" + MARK_OFF in lines[-1]


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_generated_tokens_match_hugging_face_generate(kind):
    model = _lm(kind)
    prompt = [5, 17, 42, 99, 7]
    ours = generate_tokens(model, prompt, 6, TokenChooser())
    ref = model.generate(torch.tensor([prompt]), max_new_tokens=6, do_sample=False, pad_token_id=0)[0, 5:].tolist()
    assert ours == ref


def test_sampling_is_seeded():
    model = _lm()
    a = generate_tokens(model, [5, 6, 7], 12, TokenChooser(1.5, seed=3))
    b = generate_tokens(model, [5, 6, 7], 12, TokenChooser(1.5, seed=3))
    c = generate_tokens(model, [5, 6, 7], 12, TokenChooser(1.5, seed=4))
    assert a == b and a != c


@pytest.mark.parametrize("kind", ["gpt2", "llama"])
def test_each_step_writes_the_rows_of_a_full_forward(kind):
    """After step k the token planes and attention maps hold, in rows 0..P+k-1, what one forward over
    the whole text gives (Hugging Face eager attention and hidden states), and zeros after."""
    model = _lm(kind)
    prompt = [5, 17, 42, 99, 7]
    sess, tokens = _session(model, prompt, 5)
    ids = torch.tensor([prompt + tokens])
    eager = copy.deepcopy(model)
    eager.set_attn_implementation("eager")
    with torch.no_grad():
        ref = eager(input_ids=ids, output_attentions=True, output_hidden_states=True)
    names = {l.id: l.name for l in sess.capture.graph.layers}
    probs = sorted((lid for lid in sess.shapes if names[lid].endswith("attention_probs")), key=lambda i: names[i])
    assert len(probs) == 2
    logits_id = next(lid for lid in sess.shapes if names[lid] == "lm_head")
    P = len(prompt)
    for k in (0, 2, 5):
        frame = sess.frame_of_step(k)
        assert frame.error is None
        n = P + k                                      # tokens fed so far
        for layer, lid in enumerate(probs):
            got = sess.buffers[lid]
            want = ref.attentions[layer][0].numpy()
            np.testing.assert_allclose(got[:, :n, :n], want[:, :n, :n], atol=2e-5)
            assert not got[:, n:].any()
        got = sess.buffers[logits_id]
        np.testing.assert_allclose(got[:n], ref.logits[0, :n].numpy(), atol=1e-4)
        assert not got[n:].any()
        # the step wrote only its own rows: the prompt at step 0, one row after
        rows = frame.written[logits_id][0]
        assert (rows.start, rows.stop) == ((0, P) if k == 0 else (n - 1, n))
    sess.close()


def test_session_outlines_the_new_rows_and_fills_hud_text():
    model = _lm()
    sess, tokens = _session(model, [5, 17, 42], 4)
    frame = sess.frame_of_step(2)
    seg = sess.outline(frame)
    assert len(seg) and len(seg) % 8 == 0
    lo = np.min([s.bbox[0] for s in sess.scene.slabs], axis=0) - 1e-6
    hi = np.max([s.bbox[1] for s in sess.scene.slabs], axis=0) + 1e-6
    assert (seg >= lo).all() and (seg <= hi).all()
    hud = "\n".join(frame.hud)
    assert "token 2/4" in hud and MARK_ON + f" {tokens[1]}" + MARK_OFF in hud
    # the animation paces the steps and loops after a hold
    sess.frames_per_step, sess.hold_steps = 3, 2
    assert [sess.step_at(t) for t in (0, 2, 3, 12, 14, 20, 21)] == [0, 0, 1, 4, 4, 4, 0]
    sess.close()


def test_refuses_models_that_cannot_generate_and_prompts_too_long():
    bert = tf.BertModel(tf.BertConfig(num_hidden_layers=1, hidden_size=32, num_attention_heads=2,
                                      intermediate_size=64, vocab_size=300)).eval()
    assert "not a causal language model" in causal_lm_problem(bert, "bert")
    cnn = torch.nn.Conv2d(3, 4, 3)
    with pytest.raises(InputError, match="not a causal language model"):
        prompt_for(cnn, None, "cnn", "cnn", None, 4)
    model = _lm()                                         # 64-token context
    with pytest.raises(InputError, match="longer than 'lm'.s context of 64 tokens"):
        prompt_for(model, None, "lm", "lm", "text:" + "x" * 40, 30)
    with pytest.raises(InputError, match="from 1 to"):
        prompt_for(model, None, "lm", "lm", "text:hi", 0)
    p = prompt_for(model, None, "lm", "lm", "text:hi", 4)
    assert p.ids == [ord("h") + 3, ord("i") + 3]


def test_clock_paced_steps_for_the_viewer():
    """Paced by the clock (the viewer), a step lasts seconds_per_step whatever the frame rate, then
    the whole text holds and it starts over."""
    sess, _ = _session(_lm(), [5, 17, 42], 4)
    now = [100.0]
    sess.clock = lambda: now[0]
    sess.seconds_per_step, sess.hold_steps = 0.5, 2
    got = []
    for t in (0.0, 0.4, 0.6, 1.9, 2.1, 3.4, 3.6):
        now[0] = 100.0 + t
        got.append(sess.compute(0).step)                     # the frame number no longer matters
    assert got == [0, 0, 1, 3, 4, 4, 0]
    sess.close()
