"""The playground's compute side: dataset + classifier + trainer + decision field + the network's
activations for one point, with every parameter changeable while training runs.

Python API::

    from engine.compute.playground import train_playground
    pg = train_playground("8,8", "circles", steps=300, lr=0.03, seed=0)
    pg.trainer.last.test_acc, pg.field.prob.shape        # (512, 512) p(class 1)
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn

from engine.compute.classifier import MLP, ClassifierError, check_activation, check_widths, parse_layers
from engine.compute.datasets import Dataset, DatasetError, load_csv, make_dataset
from engine.compute.field import Field, FieldEvaluator
from engine.compute.trainer import Trainer, check_params
from engine.model.graph import LayerGraph

MAX_STEPS_PER_FRAME = 10_000


@dataclass
class PlaygroundConfig:
    """Everything `neuroscape playground` and the [playground] scene table set."""

    dataset: str = "circles"
    csv: str | None = None                 # the user's data instead of a built-in set
    model: str | nn.Module | None = None   # "package.module:callable" or a module: replaces the MLP
    layers: list[int] | str = field(default_factory=lambda: [8, 8])   # hidden widths, or "8,8"
    activation: str = "tanh"
    lr: float = 0.03
    l2: float = 0.0
    batch: int = 32
    noise: float = 0.1
    split: float = 0.5                     # share of points held out for testing
    seed: int = 0
    samples: int = 400
    optimizer: str = "adam"
    resolution: int | None = None          # grid cells per axis (default 512 in 2D, 128 in 3D)
    steps_per_frame: int = 5
    interest: int = 1                      # class whose probability the field shows
    entropy: bool = False                  # the classifier's entropy field beside the decision field (key U)
    device: str | None = None              # default: CUDA when available

    def check(self) -> "PlaygroundConfig":
        """Validate every parameter up front (one-line errors naming the fix)."""
        check_params(self.lr, self.l2, self.batch, self.split, self.optimizer)
        self.layers = parse_layers(self.layers) if not isinstance(self.layers, list) else self.layers
        check_widths(self.layers)
        self.activation = check_activation(self.activation)
        if not 0.0 <= self.noise <= 1.0:
            raise DatasetError(f"noise {self.noise} is outside [0, 1]: use e.g. 0.1")
        if not 1 <= self.steps_per_frame <= MAX_STEPS_PER_FRAME:
            raise ClassifierError(f"steps per frame {self.steps_per_frame} is outside 1..{MAX_STEPS_PER_FRAME}: "
                                  f"use e.g. 5")
        return self


def _load_user_model(spec, dims: int) -> tuple[nn.Module, str]:
    if isinstance(spec, nn.Module):
        return spec, type(spec).__name__
    from engine.model.registry import load_model
    model, _inputs, name, _family = load_model(str(spec), input_shape=f"1x{dims}")
    return model, name


def _check_model(model: nn.Module, dims: int, classes: int, name: str) -> None:
    try:
        with torch.no_grad():
            out = model(torch.zeros(2, dims, device=next(model.parameters()).device))
    except StopIteration:
        raise ClassifierError(f"classifier {name!r} has no parameters: give it trainable layers") from None
    except Exception as e:  # noqa: BLE001 - user code
        raise ClassifierError(f"classifier {name!r} failed on a (N, {dims}) batch ({type(e).__name__}: "
                              f"{str(e).splitlines()[0][:160] if str(e) else ''}): it must take {dims} inputs") from None
    ok = isinstance(out, torch.Tensor) and out.dim() == 2 and out.shape[1] in ((1, classes) if classes == 2 else (classes,))
    if not ok:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ClassifierError(f"classifier {name!r} returned {shape} for 2 points: return (N, {classes}) logits "
                              f"for the {classes} classes")


class PlaygroundSession:
    """Live state of one playground: change parameters with the ``set_*`` / ``add_*`` methods;
    ``structure_version`` grows when the network's shape changes (the view rebuilds its scene)."""

    def __init__(self, config: PlaygroundConfig | None = None, *, data: Dataset | None = None, **overrides) -> None:
        self.config = replace(config or PlaygroundConfig(), **overrides).check()
        c = self.config
        from engine.compute.probe import pick_device
        self.device = pick_device(c.device)
        self.data = data if data is not None else self._make_data(c.noise)
        self.own_data = data is not None
        self.custom = c.model is not None
        if self.custom:
            model, self.model_name = _load_user_model(c.model, self.data.dims)
            model = model.to(self.device)
            _check_model(model, self.data.dims, self.data.classes, self.model_name)
        else:
            model = MLP(self.data.dims, c.layers, self.data.classes, c.activation, seed=c.seed).to(self.device)
            self.model_name = "mlp " + "-".join(str(w) for w in [self.data.dims, *c.layers, self.data.classes])
        self.trainer = Trainer(model, self.data, lr=c.lr, l2=c.l2, batch=c.batch, split=c.split, seed=c.seed,
                               optimizer=c.optimizer)
        interest = min(max(c.interest, 0), self.data.classes - 1)
        self.evaluator = FieldEvaluator(self.data.dims, c.resolution, classes=self.data.classes,
                                        interest=interest, device=self.device)
        self.field: Field | None = None
        self.structure_version = 0
        self.data_version = 0
        self._probe = None
        self.graph = self._record()

    # ------------------------------------------------------------------ pieces
    def _make_data(self, noise: float) -> Dataset:
        c = self.config
        if c.csv:
            return load_csv(c.csv)
        return make_dataset(c.dataset, n=c.samples, noise=noise, seed=c.seed)

    @property
    def model(self) -> nn.Module:
        return self.trainer.model

    def _record(self) -> LayerGraph:
        from engine.model.recorder import record
        x = torch.as_tensor(self.data.x[:1], dtype=torch.float32, device=self.device)
        self._probe = None
        return record(self.model, x, capture=True, name=self.model_name)

    def _restructure(self, model: nn.Module) -> None:
        self.trainer.set_model(model)
        self.structure_version += 1
        self.graph = self._record()

    def _mlp(self) -> MLP:
        if self.custom or not isinstance(self.model, MLP):
            raise ClassifierError(f"the classifier {self.model_name!r} has a fixed architecture: layers, neurons and "
                                  f"activation change only for the built-in MLP (drop --model)")
        return self.model

    # ------------------------------------------------------------------ per frame
    def train(self, steps: int | None = None):
        """Train ``steps`` (default: steps_per_frame) minibatch steps; returns the Snapshot."""
        return self.trainer.step(self.config.steps_per_frame if steps is None else steps)

    def refresh(self) -> Field:
        """Evaluate the decision field over the whole grid (on the model's device)."""
        self.field = self.evaluator.evaluate(self.model)
        return self.field

    def activations(self, point) -> object:
        """A probe Frame (engine.compute.probe) of the network on one data point (dims,)."""
        from engine.compute.probe import LiveProbe
        from engine.model.inputs import ExampleInputs
        if self._probe is None:
            self._probe = LiveProbe(self.model, self.graph)
        x = torch.as_tensor(np.asarray(point, np.float32).reshape(1, -1), device=self.device)
        was = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                return self._probe.run(ExampleInputs((x,)))
        finally:
            self.model.train(was)

    # ------------------------------------------------------------------ parameters
    def set_lr(self, lr: float) -> None:
        self.trainer.set_lr(lr)
        self.config.lr = self.trainer.lr

    def set_l2(self, l2: float) -> None:
        self.trainer.set_l2(l2)
        self.config.l2 = self.trainer.l2

    def set_batch(self, batch: int) -> None:
        self.trainer.set_batch(batch)
        self.config.batch = self.trainer.batch

    def set_split(self, split: float) -> None:
        self.trainer.set_split(split)
        self.config.split = self.trainer.split
        self.data_version += 1

    def set_noise(self, noise: float) -> None:
        """Regenerate the built-in dataset with this noise (same seed, same split rule)."""
        if self.config.csv or self.own_data:
            raise DatasetError("noise applies to the built-in datasets, not to --csv data: edit the CSV instead")
        data = make_dataset(self.config.dataset, n=self.config.samples, noise=noise, seed=self.config.seed)
        self.config.noise = float(noise)
        self.data = data
        self.trainer.set_data(data)
        self.data_version += 1

    def set_activation(self, name: str) -> None:
        mlp = self._mlp()
        mlp.set_activation(name)
        self.config.activation = mlp.activation
        self._restructure(mlp)

    def set_layers(self, widths: list[int]) -> None:
        """New hidden widths, keeping trained weights where the shapes overlap."""
        mlp = self._mlp()
        check_widths(list(widths))
        self.config.layers = list(widths)
        self._restructure(mlp.resized(list(widths), seed=self.config.seed + self.structure_version + 1))

    def add_layer(self) -> None:
        w = self.config.layers
        self.set_layers(w + [w[-1] if w else 4])

    def remove_layer(self) -> None:
        if self.config.layers:
            self.set_layers(self.config.layers[:-1])

    def add_neurons(self, k: int = 1, layer: int = -1) -> None:
        w = list(self.config.layers)
        if not w:
            raise ClassifierError("no hidden layer to add neurons to: add a layer first")
        w[layer] += k
        self.set_layers(w)

    def remove_neurons(self, k: int = 1, layer: int = -1) -> None:
        w = list(self.config.layers)
        if w and w[layer] - k >= 1:
            w[layer] -= k
            self.set_layers(w)

    def set_interest(self, interest: int) -> None:
        self.evaluator.set_classes(self.data.classes, int(interest) % self.data.classes)
        self.config.interest = self.evaluator.interest

    def reset(self) -> None:
        """Fresh weights (new seed offset each time), history cleared."""
        if isinstance(self.model, MLP) and not self.custom:
            seed = self.config.seed + 1000 + len(self.trainer.history)
            model = MLP(self.data.dims, self.config.layers, self.data.classes, self.config.activation,
                        seed=seed).to(self.device)
            self._restructure(model)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.config.seed + 1000 + len(self.trainer.history))
                for m in self.model.modules():
                    if hasattr(m, "reset_parameters"):
                        m.reset_parameters()
            self.trainer.set_model(self.model)
        self.trainer.history.clear()
        self.trainer.steps = 0


def config_from_table(table: dict, base_dir=None) -> PlaygroundConfig:
    """A scene file's [playground] table as a PlaygroundConfig (csv paths relative to the file)."""
    from pathlib import Path
    t = dict(table)
    if "layers" in t:
        t["layers"] = parse_layers(t["layers"])
    if t.get("csv") and base_dir is not None and not Path(t["csv"]).is_absolute():
        t["csv"] = str((Path(base_dir) / t["csv"]).resolve())
    for k in ("lr", "l2", "noise", "split"):
        if k in t:
            t[k] = float(t[k])
    return PlaygroundConfig(**t).check()


def train_playground(model_or_layers: str | list[int] | nn.Module = "8,8", dataset: str | Dataset = "circles",
                     steps: int = 300, **params) -> PlaygroundSession:
    """Train a classifier on a playground dataset for ``steps`` steps (in chunks of steps_per_frame)
    and evaluate its decision field; returns the session (``.trainer``, ``.field``, ``.model``).

    ``model_or_layers``: hidden widths ("8,8" or [8, 8]) of the built-in MLP, an nn.Module or a
    "package.module:callable" spec. ``dataset``: a built-in name or a CSV path (*.csv).
    ``params``: any PlaygroundConfig field (lr, l2, batch, noise, split, seed, activation, ...)."""
    cfg = PlaygroundConfig(**params)
    if isinstance(model_or_layers, nn.Module) or (isinstance(model_or_layers, str) and ":" in model_or_layers):
        cfg.model = model_or_layers
    else:
        cfg.layers = parse_layers(model_or_layers)
    if isinstance(dataset, str) and dataset.lower().endswith(".csv"):
        cfg.csv = dataset
    elif isinstance(dataset, str):
        cfg.dataset = dataset
    session = PlaygroundSession(cfg, data=dataset if isinstance(dataset, Dataset) else None)
    done = 0
    while done < steps:
        n = min(cfg.steps_per_frame, steps - done)
        session.train(n)
        done += n
    session.refresh()
    return session


__all__ = ["PlaygroundConfig", "PlaygroundSession", "train_playground", "config_from_table"]
