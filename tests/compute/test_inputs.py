"""engine.compute.inputs: input sources (images, folders, videos, digits, noise, text) shaped like the model's
example input. Fast, offline: small images/videos are made in tmp_path."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engine.compute import inputs as inp
from engine.compute.images import IMAGENET_MEAN, IMAGENET_STD, _weights_norm
from engine.compute.inputs import InputError, InputSource, open_input
from engine.errors import NeuroscapeError
from engine.model.inputs import ExampleInputs
from engine.model.registry import load_model


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def cnn():
    _, ex, _, fam = load_model("cnn")
    return ex, fam


@pytest.fixture(scope="module")
def mlp():
    _, ex, _, fam = load_model("mlp")
    return ex, fam


@pytest.fixture(scope="module")
def resnet18():
    _, ex, _, fam = load_model("resnet18")
    return ex, fam


@pytest.fixture(scope="module")
def minilm():
    _, ex, _, fam = load_model("minilm")
    return ex, fam


@pytest.fixture(scope="module")
def gpt2():
    from engine.model.registry import build_hf
    model, ex = build_hf("gpt2", n_layer=1, n_embd=32, n_head=2, n_positions=64)
    return model, ex


def _sig(ex: ExampleInputs):
    return [(tuple(t.shape), t.dtype) for t in ex.tensors()], list(ex.kwargs), len(ex.args)


def _same_layout(a: ExampleInputs, b: ExampleInputs):
    assert _sig(a) == _sig(b)
    assert a.family == b.family


def _png(path, color, size=(40, 30), mode="RGB"):
    Image.new(mode, size, color).save(path)
    return path


def _one_line(e: pytest.ExceptionInfo, *words):
    msg = str(e.value)
    assert "\n" not in msg and msg
    for w in words:
        assert w.lower() in msg.lower(), msg
    assert isinstance(e.value, NeuroscapeError)


# ------------------------------------------------------------------ shapes and dtypes
@pytest.mark.parametrize("spec", [None, "example", "sample-photo", "photo", "digits", "noise"])
@pytest.mark.parametrize("model", ["cnn", "mlp", "resnet18"])
def test_image_models_shapes(request, model, spec):
    ex, fam = request.getfixturevalue(model)
    src = open_input(spec, example=ex, family=fam, model_spec=model)
    assert isinstance(src, InputSource) and isinstance(src.label, str) and src.label
    for x in (src.get(0), src.get(len(src) - 1), src.frame(0, False), src.frame(45, True)):
        _same_layout(x, ex)
        assert all(torch.isfinite(t).all() for t in x.tensors())
        assert all(t.device.type == "cpu" for t in x.tensors())


def test_example_source_is_the_example(cnn):
    ex, fam = cnn
    src = open_input(None, example=ex, family=fam, model_spec="cnn")
    assert len(src) == 1 and src.describe(0) == "example input"
    assert torch.equal(src.get(0).args[0], ex.args[0])
    src.get(0).args[0].add_(1)  # callers get fresh tensors
    assert torch.equal(src.get(0).args[0], ex.args[0])


def test_image_file_normalized_with_imagenet_stats(tmp_path, cnn, resnet18):
    p = _png(tmp_path / "red.png", (255, 0, 128))
    want = torch.tensor([(1 - IMAGENET_MEAN[0]) / IMAGENET_STD[0], (0 - IMAGENET_MEAN[1]) / IMAGENET_STD[1],
                         (128 / 255 - IMAGENET_MEAN[2]) / IMAGENET_STD[2]])
    for (ex, fam), name in ((cnn, "cnn"), (resnet18, "resnet18")):
        src = open_input(str(p), example=ex, family=fam, model_spec=name)
        assert len(src) == 1 and src.label == "red.png" and src.describe(0) == "red.png"
        x = src.get(0).args[0]
        assert x.shape == ex.args[0].shape and x.dtype == torch.float32
        assert torch.allclose(x[0].mean((1, 2)), want, atol=1e-4)
        assert torch.allclose(x[0].amax((1, 2)), x[0].amin((1, 2)), atol=1e-4)  # solid stays solid


def test_torchvision_weights_normalization_metadata():
    assert _weights_norm("resnet18") == (IMAGENET_MEAN, IMAGENET_STD)
    mean, std = _weights_norm("r3d_18")  # video weights: Kinetics statistics
    assert abs(mean[0] - 0.43216) < 1e-4 and abs(std[0] - 0.22803) < 1e-4
    assert _weights_norm("cnn") == "default" and _weights_norm("mypkg.mod:build") == "default"


def test_resize_shorter_side_then_centre_crop(tmp_path, cnn):
    ex, fam = cnn
    img = Image.new("RGB", (96, 32), (0, 0, 0))  # wide: left third red, middle green, right third blue
    img.paste((255, 0, 0), (0, 0, 32, 32))
    img.paste((0, 255, 0), (32, 0, 64, 32))
    img.paste((0, 0, 255), (64, 0, 96, 32))
    img.save(tmp_path / "wide.png")
    x = open_input(str(tmp_path / "wide.png"), example=ex, family=fam).get(0).args[0][0]
    raw = x * torch.tensor(IMAGENET_STD).view(3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    assert torch.allclose(raw[:, :, 4:28].mean((1, 2)), torch.tensor([0.0, 1.0, 0.0]), atol=1e-3)  # the centre


def test_gray_image_and_one_channel_model(tmp_path, cnn):
    ex, fam = cnn
    p = _png(tmp_path / "gray.png", 200, mode="L")
    x = open_input(str(p), example=ex, family=fam).get(0).args[0][0]
    raw = x * torch.tensor(IMAGENET_STD).view(3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    assert torch.allclose(raw, torch.full_like(raw, 200 / 255), atol=1e-4)  # gray -> 3 equal channels
    one = ExampleInputs((torch.zeros(1, 1, 28, 28),), {}, "image")
    y = open_input(str(_png(tmp_path / "rgb.png", (255, 0, 0))), example=one, family="image").get(0).args[0]
    assert y.shape == (1, 1, 28, 28)
    assert torch.allclose(y, torch.full_like(y, 0.299), atol=1e-3)  # luma, [0, 1], not normalized


def test_flat_models_get_flattened_images(tmp_path, mlp):
    ex, fam = mlp
    p = _png(tmp_path / "g.png", (255, 255, 255))
    x = open_input(str(p), example=ex, family=fam, model_spec="mlp").get(0).args[0]
    assert x.shape == (1, 64) and torch.allclose(x, torch.ones(1, 64), atol=1e-4)  # 8x8 gray in [0, 1]
    rgb = ExampleInputs((torch.zeros(1, 3 * 16 * 16),), {}, "tabular")
    y = open_input(str(_png(tmp_path / "r.png", (255, 0, 0))), example=rgb, family="tabular").get(0).args[0]
    assert y.shape == (1, 768)
    assert torch.allclose(y[0, :256], torch.ones(256)) and torch.allclose(y[0, 256:], torch.zeros(512))


def test_other_image_layouts(tmp_path):
    p = str(_png(tmp_path / "a.png", (10, 200, 30)))
    det = ExampleInputs(([torch.rand(3, 48, 64)],), {}, "image")  # torchvision detection: list of CHW in [0, 1]
    x = open_input(p, example=det, family="image").get(0)
    assert isinstance(x.args[0], list) and x.args[0][0].shape == (3, 48, 64)
    assert 0 <= float(x.args[0][0].min()) and float(x.args[0][0].max()) <= 1
    clip = ExampleInputs((torch.zeros(1, 3, 4, 32, 32),), {}, "generic")
    c = open_input(p, example=clip, family="generic").get(0).args[0]
    assert c.shape == (1, 3, 4, 32, 32) and torch.equal(c[:, :, 0], c[:, :, 3])
    seq = ExampleInputs((torch.zeros(1, 16, 32),), {}, "sequence")
    assert open_input(p, example=seq, family="sequence").get(0).args[0].shape == (1, 16, 32)
    half = ExampleInputs((torch.zeros(1, 3, 32, 32, dtype=torch.float16),), {}, "image")
    assert open_input(p, example=half, family="image").get(0).args[0].dtype == torch.float16


# ------------------------------------------------------------------ folders, videos, digits
def test_folder_sorted_by_name(tmp_path, cnn):
    ex, fam = cnn
    d = tmp_path / "imgs"
    d.mkdir()
    _png(d / "b.png", (0, 255, 0))
    _png(d / "a.png", (255, 0, 0))
    Image.new("RGB", (20, 20), (0, 0, 255)).save(d / "c.jpg", quality=95)
    (d / "notes.txt").write_text("not an image")
    src = open_input(str(d), example=ex, family=fam)
    assert len(src) == 3 and src.label == "imgs"
    assert [src.describe(i) for i in range(3)] == ["a.png (1/3)", "b.png (2/3)", "c.jpg (3/3)"]
    dominant = [int(src.get(i).args[0][0].mean((1, 2)).argmax()) for i in range(3)]
    assert dominant == [0, 1, 2]
    assert src.describe(3) == src.describe(0)  # indices wrap


def test_video_frames(tmp_path, cnn):
    import imageio_ffmpeg
    ex, fam = cnn
    path = tmp_path / "clip.mp4"
    w = imageio_ffmpeg.write_frames(str(path), (64, 48), fps=10, macro_block_size=16, ffmpeg_log_level="error")
    w.send(None)
    for k in range(7):
        frame = np.zeros((48, 64, 3), np.uint8)
        frame[:, :, 0] = 30 * k
        w.send(frame)
    w.close()
    src = open_input(str(path), example=ex, family=fam)
    assert len(src) == 7 and src.label == "clip.mp4" and src.describe(2) == "clip.mp4 frame 3/7"
    reds = [float(src.get(i).args[0][0, 0].mean()) for i in range(7)]
    assert all(b > a for a, b in zip(reds, reds[1:]))  # frames in order, each preprocessed like an image
    _same_layout(src.get(6), ex)
    assert src.hold == 1 and torch.equal(src.frame(3, True).args[0], src.get(3).args[0])  # plays at frame rate
    short = open_input(str(path), example=ex, family=fam, max_frames=3)
    assert len(short) == 3


def test_digits_labels_and_values(mlp, cnn):
    from sklearn.datasets import load_digits
    d = load_digits()
    ex, fam = mlp
    src = open_input("digits", example=ex, family=fam, model_spec="mlp")
    assert len(src) == 1797
    assert f"label {d.target[12]}" in src.describe(12) and "#12" in src.describe(12)
    assert torch.allclose(src.get(12).args[0][0], torch.tensor(d.images[12].reshape(-1) / 16.0, dtype=torch.float32))
    ex2, fam2 = cnn
    img = open_input("digits", example=ex2, family=fam2).get(12).args[0]
    raw = img[0] * torch.tensor(IMAGENET_STD).view(3, 1, 1) + torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    assert img.shape == (1, 3, 32, 32)
    assert torch.allclose(raw[0], raw[1], atol=1e-5) and torch.allclose(raw[1], raw[2], atol=1e-5)  # gray -> RGB
    assert float(raw.min()) > -1e-4 and float(raw.max()) > 0.5  # [0, 1] before normalization


# ------------------------------------------------------------------ frames: live and still
def test_still_frames_constant_and_live_cycles(cnn):
    ex, fam = cnn
    src = open_input("sample-photo", example=ex, family=fam)
    assert [src.describe(i) for i in range(2)] == ["china.jpg (1/2)", "flower.jpg (2/2)"]
    first = src.get(0).args[0]
    for t in (0, 1, 31, 1000):
        assert torch.equal(src.frame(t, False).args[0], first)
    assert src.hold == 30
    assert torch.equal(src.frame(29, True).args[0], first)
    assert torch.equal(src.frame(30, True).args[0], src.get(1).args[0])
    assert torch.equal(src.frame(60, True).args[0], first)
    assert src.index(30, True) == 1 and src.describe_frame(30, True) == "flower.jpg (2/2)"
    fast = open_input("sample-photo", example=ex, family=fam, hold=2)
    assert torch.equal(fast.frame(2, True).args[0], fast.get(1).args[0])


def test_single_image_live_perturbation_smooth_and_deterministic(tmp_path, resnet18):
    ex, fam = resnet18
    p = _png(tmp_path / "x.png", (120, 60, 200))
    a = open_input(str(p), example=ex, family=fam)
    b = open_input(str(p), example=ex, family=fam)
    base = a.get(0).args[0]
    f = [a.frame(t, True).args[0] for t in range(0, 40)]
    assert torch.equal(f[5], b.frame(5, True).args[0])           # deterministic in t
    assert not torch.equal(f[5], f[6])                              # moves every frame
    d = (f[5] - base)
    assert 0.05 < float(d.std()) < 0.4                              # ~0.15 * noise
    assert float((f[6] - f[5]).abs().mean()) < float((f[35] - f[5]).abs().mean())  # smooth drift
    spatial = (d[0, 0, :, 1:] - d[0, 0, :, :-1]).abs().mean()
    assert float(spatial) < 0.3 * float(d.abs().mean())            # spatially smooth
    assert torch.equal(a.frame(7, False).args[0], base)


def test_noise_deterministic_per_seed_and_t(cnn, minilm):
    ex, fam = cnn
    n0 = open_input("noise", example=ex, family=fam, seed=0)
    n0b = open_input("noise", example=ex, family=fam, seed=0)
    n1 = open_input("noise", example=ex, family=fam, seed=1)
    assert len(n0) == 1 and "noise" in n0.label
    assert torch.equal(n0.get(0).args[0], n0b.get(0).args[0])
    assert not torch.equal(n0.get(0).args[0], n1.get(0).args[0])
    assert not torch.equal(n0.get(0).args[0], ex.args[0])
    x = n0.get(0).args[0]
    assert abs(float(x.mean())) < 0.1 and abs(float(x.std()) - 1) < 0.1
    for t in (0, 3, 50):
        assert torch.equal(n0.frame(t, False).args[0], x)
        assert torch.equal(n0.frame(t, True).args[0], n0b.frame(t, True).args[0])
        assert not torch.equal(n0.frame(t, True).args[0], n1.frame(t, True).args[0])
    live = [n0.frame(t, True).args[0] for t in range(0, 62)]
    assert all(not torch.equal(u, v) for u, v in zip(live[1:], live[2:]))
    assert all(abs(float(v.std()) - 1) < 0.15 for v in live)       # stays unit-variance while drifting
    assert float((live[11] - live[10]).abs().mean()) < float((live[40] - live[10]).abs().mean())
    # token models: random ids within the vocabulary, mask kept
    tex, tfam = minilm
    tn = open_input("noise", example=tex, family=tfam, model_spec="minilm", seed=3)
    ids = tn.get(0).kwargs["input_ids"]
    assert ids.dtype == torch.int64 and ids.shape == (1, 16) and int(ids.max()) < 30522 and int(ids.min()) >= 0
    assert torch.equal(tn.get(0).kwargs["attention_mask"], tex.kwargs["attention_mask"])
    assert torch.equal(ids, open_input("noise", example=tex, family=tfam, model_spec="minilm", seed=3)
                       .get(0).kwargs["input_ids"])
    assert not torch.equal(tn.frame(0, True).kwargs["input_ids"], tn.frame(25, True).kwargs["input_ids"])


# ------------------------------------------------------------------ text
def test_minilm_real_tokenizer_roundtrip(minilm):
    ex, fam = minilm
    src = open_input("text:The cat sat on the mat", example=ex, family=fam, model_spec="minilm")
    x = src.get(0)
    _same_layout(x, ex)
    assert list(x.kwargs) == list(ex.kwargs)
    ids, mask = x.kwargs["input_ids"][0], x.kwargs["attention_mask"][0]
    tok = inp._text.minilm_tokenizer()
    assert tok.decode(ids[mask.bool()].tolist(), skip_special_tokens=True) == "the cat sat on the mat"
    assert src.decode() == "the cat sat on the mat"
    assert int(mask.sum()) == 8 and int(ids[0]) == tok.cls_token_id  # [CLS] 6 words [SEP], then padding
    assert src.label == "text: 'The cat sat on the mat'" and "WordPiece" in src.describe(0)
    # any string means text for a language model
    plain = open_input("hello world", example=ex, family=fam, model_spec="minilm")
    assert plain.decode() == "hello world"
    # long texts are truncated to the example's length
    long = open_input("text:" + "word " * 40, example=ex, family=fam, model_spec="minilm")
    assert long.get(0).kwargs["input_ids"].shape == (1, 16) and "truncated" in long.describe(0)


def test_token_live_perturbation_replaces_one_real_token(minilm):
    ex, fam = minilm
    src = open_input("text:the quick brown fox", example=ex, family=fam, model_spec="minilm", seed=2)
    base = src.get(0).kwargs["input_ids"][0]
    mask = src.get(0).kwargs["attention_mask"][0]
    seen = set()
    for t in range(0, 100, 5):
        ids = src.frame(t, True).kwargs["input_ids"][0]
        diff = (ids != base).nonzero().flatten().tolist()
        assert len(diff) <= 1
        for p in diff:
            assert mask[p] == 1 and int(base[p]) not in (101, 102)  # never [CLS]/[SEP]/padding
            seen.add(p)
        assert torch.equal(src.frame(t, True).kwargs["input_ids"], ids.unsqueeze(0))  # deterministic
        assert torch.equal(src.frame(t, True).kwargs["attention_mask"][0], mask)
    assert len(seen) >= 2
    assert torch.equal(src.frame(40, False).kwargs["input_ids"][0], base)


def test_gpt2_byte_level_fallback(gpt2):
    model, ex = gpt2
    src = open_input("text:héllo", example=ex, family="language", model_spec="gpt2", model=model)
    x = src.get(0)
    _same_layout(x, ExampleInputs(ex.args, ex.kwargs, "language"))
    ids, mask = x.kwargs["input_ids"][0], x.kwargs["attention_mask"][0]
    raw = list("héllo".encode("utf-8"))
    assert ids[: len(raw)].tolist() == [b + 3 for b in raw] and int(mask.sum()) == len(raw)
    assert ids[len(raw):].eq(0).all() and mask[len(raw):].eq(0).all()
    assert "byte-level" in src.describe(0) and "gpt2" in src.describe(0)
    assert src.decode() == "héllo" and src.vocab_size == 50257
    with torch.no_grad():
        out = model(**x.kwargs)
    assert out.logits.shape[:2] == (1, 16)
    tiny = open_input("text:~~", example=ex, family="language", vocab_size=100)
    assert int(tiny.get(0).kwargs["input_ids"].max()) == 99  # clipped to the vocabulary


def test_zoo_transformer_positional_ids():
    _, ex, _, fam = load_model("transformer")
    src = open_input("text:abc", example=ex, family=fam, model_spec="transformer")
    x = src.get(0)
    assert not x.kwargs and x.args[0].shape == (1, 16) and x.args[0][0, :3].tolist() == [100, 101, 102]
    assert int(open_input("noise", example=ex, family=fam, model_spec="transformer").get(0).args[0].max()) < 1000


# ------------------------------------------------------------------ errors
def test_errors_one_line(tmp_path, cnn, mlp, minilm):
    ex, fam = cnn
    lex, lfam = minilm

    def err(spec, e=ex, f=fam, **kw):
        with pytest.raises(InputError) as info:
            open_input(spec, example=e, family=f, **kw)
        return info

    _one_line(err(str(tmp_path / "missing.png")), "not found")
    _one_line(err(str(tmp_path / "missing.mp4")), "not found")
    _one_line(err(str(tmp_path / "nope" / "dir")), "not found")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"\x89PNG this is not really a png")
    _one_line(err(str(bad)), "cannot read image", "corrupt")
    badv = tmp_path / "bad.mp4"
    badv.write_bytes(b"\x00\x01garbage" * 50)
    _one_line(err(str(badv)), "cannot read video")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    _one_line(err(str(empty)), "no images")
    broken = tmp_path / "broken"
    broken.mkdir()
    _png(broken / "ok.png", (1, 2, 3))
    (broken / "zz.jpg").write_bytes(b"not a jpeg")
    _one_line(err(str(broken)), "zz.jpg", "corrupt")
    txt = tmp_path / "data.csv"
    txt.write_text("1,2,3")
    _one_line(err(str(txt)), "unsupported")
    _one_line(err("text:hello"), "text input needs a language model")
    _one_line(err("a cat on a mat"), "text input needs a language model")
    _one_line(err("bogus"), "unknown", "digits", "noise", "text:")
    _one_line(err(str(_png(tmp_path / "p.png", (9, 9, 9))), lex, lfam, model_spec="minilm"),
              "needs an image model")
    _one_line(err("digits", lex, lfam), "needs an image model")
    _one_line(err("text:", lex, lfam), "empty text")
    two = ExampleInputs((torch.zeros(1, 2, 16, 16),), {}, "image")
    _one_line(err("digits", two, "image"), "2-channel")
    odd = ExampleInputs((torch.zeros(1, 32),), {}, "tabular")
    _one_line(err("sample-photo", odd, "tabular"), "1x32", "cannot hold an image")
