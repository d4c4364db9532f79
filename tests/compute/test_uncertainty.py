"""Uncertainty: Monte-Carlo dropout passes and weight ensembles give per-neuron standard deviations
(zero wherever nothing random reaches) and the predictive entropy of the averaged output."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.compute.errors import InputError
from engine.analysis import uncertainty_loaded
from engine.pipeline import load
from engine.scenefile import SceneSpec


def test_mc_dropout_spreads_after_the_dropout_and_nowhere_before():
    loaded = load(SceneSpec(model="transformer"))
    lines = uncertainty_loaded(loaded, passes=6)
    assert lines[0].startswith("uncertainty over 6 Monte-Carlo dropout passes")
    h = float(lines[1].split("entropy")[1].split()[0])
    assert 0 < h <= np.log(1000) + 1e-6                       # per token, over the 1000-word vocabulary
    by_name = {s.name: s for s in loaded.scene.slabs}
    assert not by_name["embed"].values.any()                  # before any dropout: the same every pass
    assert by_name["head"].values.max() > 0 and not by_name["head"].signed
    again = load(SceneSpec(model="transformer"))
    assert uncertainty_loaded(again, passes=6) == lines       # seeded: the same passes again
    assert all(not isinstance(m.__dict__.get("forward"), type(lambda: 0)) for m in loaded.model.modules())


def test_an_ensemble_of_weight_files(tmp_path):
    from safetensors.torch import save_file
    loaded = load(SceneSpec(model="mlp"))
    files = []
    for k in range(3):
        torch.manual_seed(k)
        state = {n: v + 0.05 * torch.randn_like(v) for n, v in loaded.model.state_dict().items()}
        save_file(state, str(tmp_path / f"w{k}.safetensors"))
        files.append(str(tmp_path / f"w{k}.safetensors"))
    lines = uncertainty_loaded(loaded, weights=files)
    assert "3 weight files" in lines[0] and "entropy" in lines[1]
    inp = next(s for s in loaded.scene.slabs if s.kind == "input")
    assert not inp.values.any() and loaded.scene.slabs[-1].values.max() > 0


def test_bad_uncertainty_requests():
    loaded = load(SceneSpec(model="cnn"))
    with pytest.raises(InputError, match="has none; compare weight files with --ensemble"):
        uncertainty_loaded(loaded, passes=4)
    with pytest.raises(InputError, match="use 2 to 1000 passes"):
        uncertainty_loaded(load(SceneSpec(model="transformer")), passes=1)
    with pytest.raises(InputError, match="one of --uncertainty N"):
        uncertainty_loaded(loaded)
