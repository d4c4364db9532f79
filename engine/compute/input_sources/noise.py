"""--input noise: seeded Gaussian noise of the example's shapes (token inputs: random ids in the vocabulary);
live, a fresh noise field that drifts smoothly."""
from __future__ import annotations

import torch

from engine.compute import images as _img
from engine.compute.input_kind import InputKind, InputRequest, register_input
from engine.compute.input_source import InputSource, drift, keyed_generator, salt
from engine.model.inputs import ExampleInputs


class NoiseSource(InputSource):
    """Seeded N(0, 1) floats of the example's shapes/dtypes; token ids uniform in [0, vocab)."""

    def __init__(self, example: ExampleInputs, **kw):
        super().__init__(example, n=1, **kw)
        self.label = "noise"

    def _make(self, i):
        new = {}
        for loc, x in _img.example_leaves(self.example):
            if x.is_floating_point():
                new[loc] = torch.randn(x.shape, generator=keyed_generator(self.seed, 3, salt(loc))).to(x.dtype)
            elif loc == self._ids_loc:
                new[loc] = torch.randint(0, self.vocab_size, tuple(x.shape), generator=keyed_generator(self.seed, 5),
                                         dtype=torch.int64).to(x.dtype)
        return _img.rebuild(self.example, new)

    def _name(self, i):
        return f"noise (seed {self.seed})"

    def _perturb(self, base, t):
        new = {}
        for loc, x in _img.example_leaves(base):
            if x.is_floating_point():
                new[loc] = drift(tuple(x.shape), t, self.hold, (self.seed, 3, salt(loc)), self._noise).to(x.dtype)
        out = _img.rebuild(base, new)
        return self._perturb_tokens(out, t) if self._ids_loc is not None else out



def _open(req: InputRequest) -> InputSource:
    return NoiseSource(req.example, **req.common())


register_input(InputKind("noise", "noise", names=("noise",), open=_open))
