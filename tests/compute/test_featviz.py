"""Feature visualization: the optimized picture excites its channel more than a photo and than noise,
the same seed gives the same picture (also from the disk cache), pictures land on their tiles, and bad
requests fail with one line."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.compute.errors import InputError
from engine.compute.featviz import FeatVizSettings, visualize
from engine.compute.images import IMAGENET_MEAN, IMAGENET_STD
from engine.pipeline import LiveOptions, load
from engine.scenefile import SceneSpec


def _channel_mean(model, module, img: np.ndarray, c: int) -> float:
    x = torch.from_numpy(img).float().permute(2, 0, 1)[None] / 255
    x = torch.nn.functional.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
    x = (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    got = {}
    h = module.register_forward_hook(lambda _m, _i, o: got.__setitem__("o", o))
    with torch.no_grad():
        model(x)
    h.remove()
    return float(got["o"][0, c].mean())


def test_the_picture_excites_its_channel_and_is_reproducible(tmp_path, monkeypatch):
    monkeypatch.setenv("NEUROSCAPE_CACHE", str(tmp_path / "a"))
    loaded = load(SceneSpec(model="cnn"), LiveOptions(input="photo"))
    model, graph = loaded.model, loaded.graph
    st = FeatVizSettings(steps=40, size=64)
    imgs = visualize(model, graph, "features.4", [3, 7], (32, 32), st)
    assert all(i.shape == (64, 64, 3) and i.dtype == np.uint8 for i in imgs)
    module = dict(model.named_modules())["features.4"]
    photo = (loaded.session.source.frame(0).args[0][0].permute(1, 2, 0).numpy()
             * np.array(IMAGENET_STD) + np.array(IMAGENET_MEAN)).clip(0, 1) * 255
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3)).astype(np.uint8)
    for c, img in zip((3, 7), imgs):
        mine = _channel_mean(model, module, img, c)
        assert mine > _channel_mean(model, module, photo.astype(np.uint8), c)
        assert mine > _channel_mean(model, module, noise, c)
    assert len(list((tmp_path / "a").rglob("*.npy"))) == 2
    monkeypatch.setenv("NEUROSCAPE_CACHE", str(tmp_path / "b"))          # no cache: computed again, same seed
    again = visualize(model, graph, "features.4", [3, 7], (32, 32), st)
    assert all(np.array_equal(a, b) for a, b in zip(imgs, again))
    loaded.session.close()


def test_pictures_on_their_tiles_and_bad_requests(tmp_path, monkeypatch):
    from engine.analysis import featviz_loaded
    monkeypatch.setenv("NEUROSCAPE_CACHE", str(tmp_path))
    loaded = load(SceneSpec(model="cnn"))
    lines = featviz_loaded(loaded, "features.0:0,5", steps=4)
    assert "channels 0, 5" in lines[0]
    pics = [l for l in loaded.scene.labels if l.image is not None]
    assert [l.text for l in pics] == ["features.0:0", "features.0:5"]
    slab = next(s for s in loaded.scene.slabs if s.name == "features.0")
    m = slab.mosaic
    corner = slab.origin + (5 % m.tiles_c + 0.1) * m.tw * slab.u + (5 // m.tiles_c + 0.9) * m.th * slab.v
    assert np.linalg.norm(pics[1].position - corner) < 0.1 * m.th * np.linalg.norm(slab.v) + 1e-6
    with pytest.raises(InputError, match="no layer named 'nope'"):
        featviz_loaded(loaded, "nope", steps=2)
    with pytest.raises(InputError, match="has 16 channels"):
        featviz_loaded(loaded, "features.0:16", steps=2)
    with pytest.raises(InputError, match="not a module layer"):
        featviz_loaded(loaded, "input", steps=2)
