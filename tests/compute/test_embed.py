"""Embeddings of a dataset: PCA agrees with scikit-learn's, every digit goes through the model once and
lands in the cloud coloured by its label, saved points reload unchanged, the cloud is drawn beside its
layer, and bad requests fail with one line."""
from __future__ import annotations

import numpy as np
import pytest

from engine.compute.embed import embed, load_embedding, reduce
from engine.compute.errors import InputError
from engine.compute.inputs import open_input
from engine.pipeline import load
from engine.scenefile import SceneSpec


def test_pca_matches_scikit_learn():
    from sklearn.decomposition import PCA
    x = np.random.default_rng(0).standard_normal((500, 40)).astype(np.float32) * np.linspace(5, 0.1, 40)
    ours = reduce(x, "pca")
    ref = PCA(3).fit_transform(x)
    for k in range(3):                     # same axes up to sign and the common scale
        c = np.corrcoef(ours[:, k], ref[:, k])[0, 1]
        assert abs(c) > 0.999, k


def test_digits_through_the_cnn_into_a_cloud(tmp_path):
    from engine.analysis import embed_loaded
    from engine.render.renderer import render_image
    from engine.scene.nodes.cloud import PointCloud
    loaded = load(SceneSpec(model="cnn"))
    src = open_input("digits", example=loaded.example, family="image", model_spec="cnn", model=loaded.model)
    e = embed(loaded.model, loaded.graph, "classifier.2", src, limit=300)
    assert e.points.shape == (300, 3) and np.isfinite(e.points).all()
    assert sorted(set(e.labels.tolist())) == list(range(10)) and e.items[0].startswith("digits #0")
    e.save(tmp_path / "e.npz")
    back = load_embedding(tmp_path / "e.npz")
    assert np.array_equal(back.points, e.points) and np.array_equal(back.labels, e.labels) and back.layer == "classifier.2"
    lines = embed_loaded(loaded, "classifier.2", load_from=str(tmp_path / "e.npz"))
    assert "300 items of classifier.2" in lines[0] and "coloured by label" in lines[0]
    cloud = loaded.scene.nodes_of(PointCloud)[0]
    slab = next(s for s in loaded.scene.slabs if s.name == "classifier.2")
    assert cloud.positions[:, 0].min() > slab.center[0]                  # beside its layer
    from engine.scene.camera import Camera
    c = cloud.positions.mean(0)
    img = render_image(loaded.scene, size=(320, 240), camera=Camera(position=c + np.array([0, 0, 6.0])).look_at(c))
    colours = {tuple(p // 32) for p in img[..., :3].reshape(-1, 3) if p.max() > 80}
    assert len(colours) >= 5                                             # several label colours on screen


def test_bad_embedding_requests(tmp_path):
    loaded = load(SceneSpec(model="cnn"))
    digits = open_input("digits", example=loaded.example, family="image", model_spec="cnn", model=loaded.model)
    photos = open_input("photo", example=loaded.example, family="image", model_spec="cnn", model=loaded.model)
    with pytest.raises(InputError, match="needs a dataset"):
        embed(loaded.model, loaded.graph, "classifier.2", photos)
    with pytest.raises(InputError, match="not a module layer"):
        embed(loaded.model, loaded.graph, "input", digits)
    with pytest.raises(InputError, match="no layer named"):
        embed(loaded.model, loaded.graph, "nope", digits)
    with pytest.raises(InputError, match="use one of pca, tsne, umap"):
        embed(loaded.model, loaded.graph, "classifier.2", digits, method="lda")
    (tmp_path / "x.npz").write_bytes(b"not an npz")
    with pytest.raises(InputError, match="not an embedding"):
        load_embedding(tmp_path / "x.npz")


def test_cli_embed_writes_the_picture_and_the_points(tmp_path):
    from engine.cli import main
    out, pts = tmp_path / "e.png", tmp_path / "e.npz"
    assert main(["embed", "cnn", "--input", "digits", "--layer", "classifier.2", "--limit", "64", "--save", str(pts),
                 "-o", str(out), "--size", "320x180"]) == 0
    assert out.stat().st_size > 0 and load_embedding(pts).points.shape == (64, 3)


def test_a_clicked_point_is_picked_and_becomes_the_live_input():
    """pick() finds the cloud point under a ray (the nearest of those within its size); a session
    given that item shows it in every frame."""
    from engine.compute.inputs import open_input
    from engine.pipeline import LiveOptions
    from engine.scene.nodes.cloud import CloudPick, PointCloud
    from engine.scene.pick import pick
    loaded = load(SceneSpec(model="cnn"), LiveOptions(input="digits"))
    pts = np.array([[100.0, 0, 0], [100.0, 0, -5], [100.0, 3, 0]], np.float32)
    cloud = PointCloud(pts, np.ones((3, 3), np.float32), name="digits", size=0.2, items=["a", "b", "c"])
    loaded.scene.add(cloud)
    hit = pick(loaded.scene, np.array([100.0, 0.05, 10.0]), np.array([0.0, 0.0, -1.0]))
    assert isinstance(hit, CloudPick) and hit.index == 0 and hit.describe() == "digits: a"
    assert pick(loaded.scene, np.array([100.0, 1.5, 10.0]), np.array([0.0, 0.0, -1.0])) is None
    sess = loaded.session
    first = np.array(sess.compute(0).layers[loaded.graph.layers[-1].id].values)
    sess.item = 7
    seventh = sess.compute(1).layers[loaded.graph.layers[-1].id].values
    src = open_input("digits", example=loaded.example, family="image", model_spec="cnn", model=loaded.model)
    want = loaded.model(src.get(7).args[0])[0].detach().numpy()
    np.testing.assert_allclose(seventh, want, atol=1e-5)
    assert np.abs(first - seventh).max() > 1e-4 and sess.label.startswith("digits #7")
    sess.close()


@pytest.mark.slow
@pytest.mark.parametrize("method,package", [("tsne", "openTSNE"), ("umap", "umap")])
def test_tsne_and_umap_are_seeded_and_separate_what_differs(method, package):
    pytest.importorskip(package)
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.standard_normal((100, 16)), rng.standard_normal((100, 16)) + 8]).astype(np.float32)
    a, b = reduce(x, method), reduce(x, method)
    assert a.shape == (200, 3) and np.array_equal(a, b)
    gap = np.linalg.norm(a[:100].mean(0) - a[100:].mean(0))
    spread = max(a[:100].std(0).max(), a[100:].std(0).max())
    assert gap > 2 * spread                      # two blobs stay two blobs
