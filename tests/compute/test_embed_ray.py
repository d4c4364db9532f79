"""Dataset passes on Ray (engine/compute/cluster.py), on a local cluster of 2 CPUs: `embed`'s pass on two
workers gives the rows of one process in the same order; feature visualization and atlas icons shared
out among workers are the one-process pictures; a worker killed mid-run is restarted and the rows come
out whole; a worker that keeps dying or cannot build the same model is one line and nothing is
written; the CLI checks --workers / --ray-address before loading, and without Ray it runs as before."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from engine.compute.cluster import ClusterError, Workers
from engine.compute.embed import collect
from engine.compute.featviz import FeatVizSettings, weights_key
from engine.compute.inputs import open_input
from engine.compute.worker_model import WorkerModel
from engine.pipeline import load
from engine.scenefile import SceneSpec

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

CONV, LOGITS = "features.4", "classifier.2"


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def cnn():
    loaded = load(SceneSpec(model="cnn"))
    src = open_input("digits", example=loaded.example, family="image", model_spec="cnn", model=loaded.model)
    return loaded, src


def _workers(loaded, input_spec: str | None = "digits", key: str | None = None, count: int = 2) -> Workers:
    s = loaded.spec
    return Workers(count, None, WorkerModel(s.model, s.weights, s.input_shape, s.input_dtype, s.seed,
                                            key or weights_key(loaded.model), input_spec, loaded.graph.family))


def _actor_pids() -> set[int]:
    """This test's Ray workers that are our actors (the local cluster's processes descend from us)."""
    import psutil
    out = set()
    for p in psutil.Process().children(recursive=True):
        try:
            if (p.cmdline() or [""])[0].startswith("ray::_Worker"):
                out.add(p.pid)
        except psutil.Error:
            pass
    return out


def test_two_workers_give_the_rows_of_one_process(local_ray, cnn):
    loaded, src = cnn
    one = collect(loaded.model, loaded.graph, CONV, src, limit=700)
    seen = []
    two = collect(loaded.model, loaded.graph, CONV, src, limit=700, progress=lambda d, n: seen.append((d, n)),
                  workers=_workers(loaded))
    assert two.feats.shape == one.feats.shape == (700, one.feats.shape[1])
    np.testing.assert_allclose(two.feats, one.feats, rtol=1e-5, atol=1e-6)       # same rows, same order
    assert np.array_equal(two.predictions, one.predictions) and np.array_equal(two.labels, one.labels)
    assert two.items == one.items
    assert len(seen) > 2 and seen[-1] == (700, 700) and all(a[0] < b[0] for a, b in zip(seen, seen[1:]))


def test_pictures_shared_out_among_workers_are_the_one_process_pictures(local_ray, cnn, tmp_path, monkeypatch):
    from engine.compute.atlas import activation_atlas
    from engine.compute.featviz import visualize
    loaded, src = cnn
    st = FeatVizSettings(steps=6, size=32)
    chans = [0, 3, 5, 7, 9]
    monkeypatch.setenv("NEUROSCAPE_CACHE", str(tmp_path / "one"))
    one = visualize(loaded.model, loaded.graph, CONV, chans, (32, 32), st)
    monkeypatch.setenv("NEUROSCAPE_CACHE", str(tmp_path / "two"))
    two = visualize(loaded.model, loaded.graph, CONV, chans, (32, 32), st, workers=_workers(loaded, None))
    assert len(two) == len(chans) and all(a.shape == b.shape == (32, 32, 3) for a, b in zip(one, two))
    assert max(int(np.abs(a.astype(int) - b.astype(int)).max()) for a, b in zip(one, two)) <= 1
    assert len(list((tmp_path / "two").rglob("*.npy"))) == len(chans)          # cached by this process
    monkeypatch.setenv("NEUROSCAPE_CACHE", str(tmp_path / "one"))
    a = activation_atlas(loaded.model, loaded.graph, LOGITS, src, (32, 32), "pca", 3, st, limit=300)
    monkeypatch.setenv("NEUROSCAPE_CACHE", str(tmp_path / "two"))
    b = activation_atlas(loaded.model, loaded.graph, LOGITS, src, (32, 32), "pca", 3, st, limit=300,
                         workers=_workers(loaded))
    assert np.array_equal(a.cells, b.cells) and np.array_equal(a.counts, b.counts) and len(a.icons) == len(b.icons) > 1
    np.testing.assert_allclose(a.directions, b.directions, rtol=1e-5, atol=1e-6)
    assert max(int(np.abs(p.astype(int) - q.astype(int)).max()) for p, q in zip(a.icons, b.icons)) <= 1


def test_a_worker_killed_mid_run_is_restarted_and_the_rows_are_whole(local_ray, cnn):
    import psutil
    loaded, src = cnn
    one = collect(loaded.model, loaded.graph, CONV, src)
    killed: list[int] = []
    before: set[int] = set()
    seen: set[int] = set()

    def progress(done, n):               # after the first job: one worker killed with its jobs in flight
        pids = _actor_pids()
        seen.update(pids)
        if not killed and pids:
            before.update(pids)
            killed.append(min(pids))
            psutil.Process(killed[0]).kill()
    two = collect(loaded.model, loaded.graph, CONV, src, progress=progress, workers=_workers(loaded))
    assert killed and seen - before, "no worker was killed and restarted"
    np.testing.assert_allclose(two.feats, one.feats, rtol=1e-5, atol=1e-6)
    assert np.array_equal(two.predictions, one.predictions)


def test_a_worker_that_keeps_dying_or_has_other_weights_is_one_line(local_ray, cnn):
    loaded, src = cnn

    def dies():
        os._exit(3)
    with pytest.raises(ClusterError, match=r"^a Ray worker failed while embedding features.4 \(.*died.*\); "
                                           r"nothing written$") as e:
        collect(loaded.model, loaded.graph, CONV, src, limit=200, workers=Workers(2, None, dies))
    assert "\n" not in str(e.value)
    with pytest.raises(ClusterError, match="other weights than this process: give --weights a file every worker"):
        collect(loaded.model, loaded.graph, CONV, src, limit=200, workers=_workers(loaded, key="0" * 16))


def test_cli_embed_and_render_on_workers(local_ray, tmp_path, monkeypatch):
    from engine.cli import main
    from engine.compute.embed import load_embedding
    monkeypatch.setenv("NEUROSCAPE_CACHE", str(tmp_path / "cache"))
    common = ["embed", "cnn", "--input", "digits", "--layer", CONV, "--limit", "400", "--size", "320x180"]
    assert main(common + ["--save", str(tmp_path / "one.npz"), "-o", str(tmp_path / "one.png")]) == 0
    assert main(common + ["--workers", "2", "--save", str(tmp_path / "two.npz"), "-o", str(tmp_path / "two.png")]) == 0
    a, b = load_embedding(tmp_path / "one.npz"), load_embedding(tmp_path / "two.npz")
    np.testing.assert_allclose(a.points, b.points, atol=1e-5)
    assert np.array_equal(a.labels, b.labels) and a.items == b.items and (tmp_path / "two.png").stat().st_size > 0
    png = tmp_path / "fv.png"
    assert main(["render", "cnn", "--featviz", f"{CONV}:1,2,6", "--featviz-steps", "3", "--workers", "2",
                 "--size", "320x180", "-o", str(png)]) == 0 and png.exists()
    bad = [common + ["--workers", "0"], common + ["--workers", "2", "--ray-address", "127.0.0.1:9"],
           common + ["--ray-address", "127.0.0.1:9"], common + ["--workers", "2", "--load", str(tmp_path / "one.npz")],
           ["render", "cnn", "--workers", "2"], ["render", "cnn", "--featviz", CONV, "--workers", "0"]]
    for args in bad:
        out = tmp_path / "never.png"
        assert main(args + ["-o", str(out)]) == 2, args
        assert not out.exists()
    monkeypatch.setattr("engine.compute.featviz.weights_key", lambda m: "0" * 16)   # workers' weights differ
    assert main(common + ["--workers", "2", "--save", str(tmp_path / "x.npz"), "-o", str(tmp_path / "x.png")]) == 2
    assert not (tmp_path / "x.npz").exists() and not (tmp_path / "x.png").exists()


def test_without_ray_installed_it_runs_in_one_process(tmp_path):
    """Ray hidden from the import system: embed runs as before; --workers says to install Ray."""
    code = ("import sys; sys.modules['ray'] = None; from engine.cli import main; sys.exit(main(sys.argv[1:]))")
    common = [sys.executable, "-c", code, "embed", "mlp", "--input", "digits", "--layer", "net.1", "--limit", "50",
              "--size", "160x90", "--save"]
    ok = subprocess.run(common + [str(tmp_path / "a.npz"), "-o", str(tmp_path / "a.png")], capture_output=True,
                        text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr[-2000:]
    no = subprocess.run(common + [str(tmp_path / "b.npz"), "-o", str(tmp_path / "b.png"), "--workers", "2"],
                        capture_output=True, text=True, timeout=300)
    assert no.returncode == 2 and "--workers needs Ray: pip install" in no.stderr
    assert len(no.stderr.strip().splitlines()) == 1 and not (tmp_path / "b.png").exists()


def test_an_address_where_no_ray_answers_is_one_line(monkeypatch):
    """Something listens at --ray-address but is no Ray head (ray.init gives up after ~20 s): one line."""
    from engine.compute.cluster import connect
    monkeypatch.setattr(ray, "is_initialized", lambda: False)

    def refuse(**_):
        raise ConnectionError("Failed to connect to Ray cluster at 10.0.0.5:6379")
    monkeypatch.setattr(ray, "init", refuse)
    with pytest.raises(ClusterError, match=r"^no Ray cluster at 10.0.0.5:6379 \(Failed to connect to Ray cluster at "
                                           r"10.0.0.5:6379\): is it the head node's port .* leave out --ray-address$"):
        connect(2, "10.0.0.5:6379")
