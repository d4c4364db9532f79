"""A recurrent network's state layers are unrolled in time: one plane per step, an arc from each
step's plane to the next, a ``t=k`` label under each."""
from __future__ import annotations

import numpy as np


def _lstm_scene():
    from engine.pipeline import record_spec, scene_from_graph
    from engine.scenefile import resolve_spec
    g = record_spec(resolve_spec("lstm"), capture=False)
    return g, scene_from_graph(g)


def test_recurrent_states_are_a_plane_per_step_with_arcs_along_time():
    """Each state layer (16 steps x 64 units) is 16 square 8x8 planes side by side in time order, and
    an arc runs over the top from each plane to the next."""
    from engine.scene.nodes.edges import TIME_ARC_SEGMENTS
    g, scene = _lstm_scene()
    flow = np.concatenate([e.positions for e in scene.edges if e.kind == "flow"]).reshape(-1, 3)
    states = [s for s in scene.slabs if s.name.startswith("rnn.layer")]
    assert len(states) == 4
    for s in states:
        m = s.mosaic
        assert (m.ntiles, m.th, m.tw, m.tiles_r, m.tiles_c) == (16, 8, 8, 1, 16)
        assert np.isclose(np.linalg.norm(s.u), np.linalg.norm(s.v))          # square planes, not stretched
        steps = np.arange(16)
        centres = s.origin + np.multiply.outer((steps + 0.5) * m.tw, s.u) + (m.th / 2) * s.v
        assert np.all(np.diff(centres @ (s.u / np.linalg.norm(s.u))) > 0)   # time runs left to right
        # unit j of step k sits in plane k
        col, row = m.texel(steps * 64 + 5)
        assert np.array_equal(col // m.tw, steps) and np.all(row < m.th)
        tops = centres - (m.th / 2) * s.v
        hits = [int(np.isclose(flow, p, atol=1e-5).all(axis=1).sum()) for p in tops]
        assert all(h >= 1 for h in hits)                     # every step's plane is an end of an arc
        above = flow[(np.abs(flow[:, 2] - s.origin[2]) < 1e-6) & (flow[:, 1] > s.origin[1] + 1e-6)]
        assert len(above) >= 15 * (TIME_ARC_SEGMENTS - 1)   # bulging above the planes
        steps_labelled = [l.text for l in scene.labels if l.layer_id == s.layer_id and l.text.startswith("t=")]
        assert steps_labelled == [f"t={k}" for k in range(16)]


def test_long_sequences_wrap_and_prime_widths_keep_rows():
    """500 steps wrap into rows of 32 planes (labelled at each row's start); a prime width (97 units has
    no square shape) keeps one row per step; memory order round-trips either way."""
    from engine.layout.mosaic import time_mosaic
    m = time_mosaic(500, 64)
    assert (m.ntiles, m.tiles_c, m.tiles_r) == (500, 32, 16)
    idx = np.arange(m.count)
    col, row = m.texel(idx)
    assert np.array_equal([m.index(c, r) for c, r in zip(col[::97], row[::97])], idx[::97])
    p = time_mosaic(20, 97)
    assert (p.ntiles, p.rows, p.cols) == (1, 20, 97)
    assert time_mosaic(3, 12).th * time_mosaic(3, 12).tw == 12
