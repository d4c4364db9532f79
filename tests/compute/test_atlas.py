"""Activation Atlas (engine/compute/atlas.py): cells average the activations of the items that fall in
them, each icon points the layer's output the way of its own cell more than of the others, icons are
cached, bad requests are one line, and the CLI draws the wall."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.compute.errors import InputError
from engine.compute.featviz import FeatVizSettings
from engine.compute.inputs import open_input
from engine.pipeline import load
from engine.scenefile import SceneSpec

LAYER = "classifier.2"


@pytest.fixture(scope="module")
def cnn():
    loaded = load(SceneSpec(model="cnn"))
    src = open_input("digits", example=loaded.example, family="image", model_spec="cnn", model=loaded.model)
    return loaded, src


def test_cells_average_their_items_and_icons_point_their_own_way(cnn, tmp_path, monkeypatch):
    import engine.compute.atlas as atlas_mod
    from engine.compute.atlas import activation_atlas
    from engine.compute.embed import collect, reduce
    monkeypatch.setenv("NEUROSCAPE_CACHE", str(tmp_path))
    loaded, src = cnn
    st = FeatVizSettings(steps=48, size=32, seed=0)
    a = activation_atlas(loaded.model, loaded.graph, LAYER, src, (32, 32), "pca", 4, st, limit=300)
    # the cells, computed again here from the items
    c = collect(loaded.model, loaded.graph, LAYER, src, limit=300)
    xy = reduce(c.feats, "pca", dims=2)
    u = np.clip((xy + 1) / 2, 0, 1 - 1e-9)
    row, col = 3 - np.floor(u[:, 1] * 4).astype(int), np.floor(u[:, 0] * 4).astype(int)
    for (r, k), n, v in zip(a.cells, a.counts, a.directions):
        members = (row == r) & (col == k)
        assert members.sum() == n >= atlas_mod.MIN_ITEMS
        np.testing.assert_allclose(v, c.feats[members].mean(axis=0), rtol=1e-4, atol=1e-5)
    assert len(a.icons) == len(a.cells) >= 3 and a.icons[0].shape == (32, 32, 3) and a.icons[0].dtype == np.uint8
    np.testing.assert_allclose(a.center, c.feats.mean(axis=0), rtol=1e-4, atol=1e-5)
    # each icon's layer output (less the dataset's mean) points more its own cell's way than the others'
    got = {}
    module = dict(loaded.model.named_modules())[LAYER]
    hook = module.register_forward_hook(lambda _m, _i, o: got.__setitem__("o", o))
    try:
        from engine.compute.images import IMAGENET_MEAN, IMAGENET_STD
        x = torch.from_numpy(np.stack(a.icons)).permute(0, 3, 1, 2).float() / 255
        x = (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        with torch.no_grad():
            loaded.model(x)
    finally:
        hook.remove()
    out = got["o"].reshape(len(x), -1).numpy() - a.center
    d = a.directions - a.center
    d = d / np.linalg.norm(d, axis=1, keepdims=True)
    cos = (out / np.linalg.norm(out, axis=1, keepdims=True)) @ d.T
    assert np.mean(np.argmax(cos, axis=1) == np.arange(len(cos))) > 0.6
    # cached: asked again, nothing is optimized
    monkeypatch.setattr(atlas_mod, "optimize_images", lambda *a, **k: pytest.fail("not cached"))
    again = activation_atlas(loaded.model, loaded.graph, LAYER, src, (32, 32), "pca", 4, st, limit=300)
    assert all((p == q).all() for p, q in zip(a.icons, again.icons))


def test_bad_atlas_requests_are_one_line(cnn, tmp_path):
    from engine.analysis import atlas_loaded, embed_loaded
    from engine.cli import main
    from engine.compute.atlas import activation_atlas
    loaded, src = cnn
    for grid in (1, 17, True):
        with pytest.raises(InputError, match="2..16"):
            activation_atlas(loaded.model, loaded.graph, LAYER, src, (32, 32), grid=grid)
    with pytest.raises(InputError, match="no layer|not a layer|module"):
        activation_atlas(loaded.model, loaded.graph, "nope", src, (32, 32))
    mlp = load(SceneSpec(model="mlp"))
    with pytest.raises(InputError, match="RGB images"):
        atlas_loaded(mlp, mlp.graph.layers[-1].name, "noise")
    assert main(["embed", "cnn", "--input", "digits", "--layer", LAYER, "--atlas", "3", "--load",
                 str(tmp_path / "x.npz"), "-o", str(tmp_path / "x.png")]) == 2
    import engine.compute.atlas as atlas_mod
    import engine.compute.embed as embed_mod
    with pytest.MonkeyPatch.context() as mp:              # refused before any dataset pass
        for mod in (embed_mod, atlas_mod):
            mp.setattr(mod, "collect", lambda *a, **k: pytest.fail("a dataset pass ran"))
        assert main(["embed", "mlp", "--input", "noise", "--layer", mlp.graph.layers[-1].name, "--atlas", "3",
                     "-o", str(tmp_path / "y.png")]) == 2
        with pytest.raises(InputError, match="--method 'nope'"):
            embed_loaded(loaded, LAYER, "digits", "nope")


def test_cli_draws_the_atlas_wall(tmp_path, monkeypatch):
    from PIL import Image

    from engine.cli import main
    monkeypatch.setenv("NEUROSCAPE_CACHE", str(tmp_path / "cache"))
    plain, wall = tmp_path / "plain.png", tmp_path / "wall.png"
    common = ["embed", "cnn", "--input", "digits", "--layer", LAYER, "--limit", "200", "--size", "480x270"]
    assert main(common + ["-o", str(plain)]) == 0
    import engine.compute.atlas as atlas_mod
    import engine.compute.embed as embed_mod
    passes, collect = [], embed_mod.collect
    for mod in (embed_mod, atlas_mod):
        monkeypatch.setattr(mod, "collect", lambda *a, **k: passes.append(1) or collect(*a, **k))
    assert main(common + ["--atlas", "3", "--atlas-steps", "4", "-o", str(wall)]) == 0
    assert len(passes) == 1                               # the cloud and the atlas share one dataset pass
    a = np.asarray(Image.open(wall).convert("RGB")).astype(int)
    right = a[60:, a.shape[1] // 2:]                     # the wall stands right of the cloud
    assert (right.min(axis=2) > 80).mean() > 0.02         # icons (grey after a few steps) on a dark background
    b = np.asarray(Image.open(plain).convert("RGB")).astype(int)
    assert a.shape == b.shape and np.abs(a - b).sum(axis=2).astype(bool).mean() > 0.02
