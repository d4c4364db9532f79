"""A recurrent network's state layers have edges along time: an arc from each step's row to the next."""
from __future__ import annotations

import numpy as np


def test_recurrent_states_have_edges_along_time():
    """An LSTM's state layers get an arc from each step's row to the next along their left edge."""
    from engine.pipeline import record_spec, scene_from_graph
    from engine.scene.nodes.edges import TIME_ARC_SEGMENTS
    from engine.scenefile import resolve_spec
    g = record_spec(resolve_spec("lstm"), capture=False)
    scene = scene_from_graph(g)
    flow = np.concatenate([e.positions for e in scene.edges if e.kind == "flow"]).reshape(-1, 3)
    for s in (s for s in scene.slabs if s.name.startswith("rnn.layer")):
        starts = [s.origin + (k + 0.5) * s.v for k in range(s.rows)]
        hits = [int(np.isclose(flow, p, atol=1e-5).all(axis=1).sum()) for p in starts]
        assert all(h >= 1 for h in hits)                     # every row is an end of an arc
        left = flow[(np.abs(flow[:, 2] - s.origin[2]) < 1e-6) & (flow[:, 0] < s.origin[0] - 1e-6)]
        assert len(left) >= (s.rows - 1) * (TIME_ARC_SEGMENTS - 1)   # bulging out of the left edge
