"""What a Ray worker of a dataset pass or of feature visualization builds once (engine/compute/cluster.py):
the scene's model, loaded the way this process loaded it, and the input source read in its share of the
batches. The worker's weights are checked against this process's, so a worker that cannot have the same
model (a --weights file missing or different on its machine) fails with one line instead of giving
other numbers."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.compute.errors import InputError
from engine.compute.featviz import weights_key

__all__ = ["WorkerModel"]


@dataclass(frozen=True)
class WorkerModel:
    """Picklable and small (Ray passes it inline, so a restarted worker always has it): called on each
    worker, returns (model, input source or None)."""

    model: str                          # the model spec (registry name, file ...) and load_model's options
    weights: str | None
    input_shape: str | None
    input_dtype: str | None
    seed: int
    weights_key: str                    # engine.compute.featviz.weights_key of this process's model
    input: str | None = None            # the input spec of a dataset pass (None: no source)
    family: str = ""                    # this process's graph's family, which shapes the source's items

    def __call__(self) -> tuple[Any, Any]:
        from engine.model.registry import load_model
        model, example, name, family = load_model(self.model, weights=self.weights, input_shape=self.input_shape,
                                                  input_dtype=self.input_dtype)
        if weights_key(model) != self.weights_key:
            raise InputError(f"a Ray worker loaded {name} with other weights than this process: give --weights a "
                             f"file every worker can read (or leave out --workers)")
        if self.input is None:
            return model, None
        from engine.compute.inputs import open_input
        # the worker's own example: the one load_model gave this process too (shipping this process's
        # would put the setup in Ray's object store, where a restarted worker may no longer find it)
        return model, open_input(self.input, example=example, family=self.family or family, model_spec=self.model,
                                 seed=self.seed, model=model)
