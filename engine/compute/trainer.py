"""Seeded training of a small classifier on a playground dataset, with the dynamics the viewer
draws: train/test loss curves, per-layer gradient norms, dead-ReLU share, weight magnitudes and an
overfitting warning. Parameters (lr, L2, batch, split, data, model) change between steps."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from engine.compute.datasets import Dataset
from engine.errors import NeuroscapeError


class TrainerError(NeuroscapeError):
    """A bad training parameter."""


OPTIMIZERS = ("adam", "sgd")
OVERFIT_WINDOW = 8


@dataclass
class Snapshot:
    """Training state after a call of :meth:`Trainer.step`."""

    step: int
    train_loss: float
    test_loss: float
    train_acc: float
    test_acc: float


@dataclass
class Dynamics:
    """Per weight layer (by module name): gradient norm of the last step, mean |weight|; per
    ReLU-like activation: share of units that are zero on every training point."""

    grad_norm: dict[str, float] = field(default_factory=dict)
    weight_mean: dict[str, float] = field(default_factory=dict)
    dead_share: dict[str, float] = field(default_factory=dict)


def check_params(lr: float | None = None, l2: float | None = None, batch: int | None = None,
                 split: float | None = None, optimizer: str | None = None) -> None:
    if lr is not None and not (0.0 < lr <= 10.0):
        raise TrainerError(f"learning rate {lr} is outside (0, 10]: use e.g. 0.03")
    if l2 is not None and not (0.0 <= l2 <= 1.0):
        raise TrainerError(f"L2 regularization {l2} is outside [0, 1]: use e.g. 0.001 (0 = off)")
    if batch is not None and not (1 <= batch <= 100_000):
        raise TrainerError(f"batch size {batch} is outside 1..100000: use e.g. 32")
    if split is not None and not (0.0 < split < 1.0):
        raise TrainerError(f"test split {split} is outside (0, 1): use e.g. 0.5 (half the points for testing)")
    if optimizer is not None and optimizer not in OPTIMIZERS:
        raise TrainerError(f"unknown optimizer {optimizer!r}: use {' or '.join(OPTIMIZERS)}")


def weight_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules with a 2D ``weight`` (Linear-like), in registration order."""
    return [(n, m) for n, m in model.named_modules()
            if isinstance(getattr(m, "weight", None), torch.Tensor) and m.weight.dim() == 2]


class Trainer:
    """Minibatch training with cross-entropy + L2 on weights; ``step(n)`` trains n steps, then
    evaluates train and test loss/accuracy into ``history``."""

    def __init__(self, model: nn.Module, data: Dataset, *, lr: float = 0.03, l2: float = 0.0, batch: int = 32,
                 split: float = 0.5, seed: int = 0, optimizer: str = "adam") -> None:
        check_params(lr, l2, batch, split, optimizer)
        self.model, self.lr, self.l2, self.batch, self.split = model, float(lr), float(l2), int(batch), float(split)
        self.seed, self.optimizer_name = int(seed), optimizer
        self.device = next(model.parameters()).device
        self.history: list[Snapshot] = []
        self.dynamics = Dynamics()
        self.steps = 0
        self._gen = torch.Generator().manual_seed(self.seed)
        self.set_data(data)
        self._make_optimizer()

    # ------------------------------------------------------------------ parameters
    def _make_optimizer(self) -> None:
        params = list(self.model.parameters())
        if self.optimizer_name == "adam":
            self.optimizer = torch.optim.Adam(params, lr=self.lr)
        else:
            self.optimizer = torch.optim.SGD(params, lr=self.lr)

    def set_data(self, data: Dataset, split: float | None = None) -> None:
        """Use ``data`` (same number of inputs) with a fresh seeded train/test split."""
        if split is not None:
            check_params(split=split)
            self.split = float(split)
        self.data = data
        tr, te = data.split(self.split, self.seed)
        x = torch.as_tensor(data.x, dtype=torch.float32, device=self.device)
        y = torch.as_tensor(data.y, dtype=torch.int64, device=self.device)
        self.train_idx, self.test_idx = tr, te
        self.x_train, self.y_train = x[tr], y[tr]
        self.x_test, self.y_test = x[te], y[te]

    def set_split(self, split: float) -> None:
        self.set_data(self.data, split)

    def set_lr(self, lr: float) -> None:
        check_params(lr=lr)
        self.lr = float(lr)
        for g in self.optimizer.param_groups:
            g["lr"] = self.lr

    def set_l2(self, l2: float) -> None:
        check_params(l2=l2)
        self.l2 = float(l2)

    def set_batch(self, batch: int) -> None:
        check_params(batch=batch)
        self.batch = int(batch)

    def set_model(self, model: nn.Module) -> None:
        """Train ``model`` from here on (after a resize or reset); the optimizer starts afresh."""
        self.model = model
        self.device = next(model.parameters()).device
        self._make_optimizer()

    # ------------------------------------------------------------------ training
    def _loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = nn.functional.cross_entropy(logits, y)
        if self.l2 > 0:
            loss = loss + self.l2 * sum((m.weight ** 2).sum() for _n, m in weight_layers(self.model))
        return loss

    def step(self, n: int = 1) -> Snapshot:
        """Train ``n`` minibatch steps, then evaluate (one history entry per call)."""
        model = self.model
        model.train()
        ntrain = len(self.x_train)
        bs = min(self.batch, ntrain)
        layers = weight_layers(model)
        for _ in range(int(n)):
            idx = torch.randint(0, ntrain, (bs,), generator=self._gen).to(self.device)
            self.optimizer.zero_grad(set_to_none=True)
            loss = self._loss(model(self.x_train[idx]), self.y_train[idx])
            if not torch.isfinite(loss):
                break           # diverged: keep the weights, the HUD shows the NaN loss
            loss.backward()
            self.optimizer.step()
            self.steps += 1
        self.dynamics.grad_norm = {name: float(m.weight.grad.norm()) if m.weight.grad is not None else 0.0
                                   for name, m in layers}
        snap = self.evaluate()
        self.history.append(snap)
        return snap

    @torch.no_grad()
    def evaluate(self) -> Snapshot:
        """Loss and accuracy on the train and test points; dead-ReLU share and weight sizes."""
        model = self.model
        model.eval()
        dead: dict[str, torch.Tensor] = {}
        hooks = []
        for name, m in model.named_modules():
            if isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.ReLU6)):
                hooks.append(m.register_forward_hook(
                    lambda _m, _i, out, name=name: dead.__setitem__(name, (out.reshape(out.shape[0], -1) > 0).any(0))))
        try:
            lt = model(self.x_train)
        finally:
            for h in hooks:
                h.remove()
        le = model(self.x_test)
        self.dynamics.dead_share = {k: float(1.0 - v.float().mean()) for k, v in dead.items()}
        self.dynamics.weight_mean = {n: float(m.weight.abs().mean()) for n, m in weight_layers(model)}
        ce = nn.functional.cross_entropy
        return Snapshot(self.steps, float(ce(lt, self.y_train)), float(ce(le, self.y_test)) if len(le) else float("nan"),
                        float((lt.argmax(1) == self.y_train).float().mean()),
                        float((le.argmax(1) == self.y_test).float().mean()) if len(le) else float("nan"))

    @property
    def last(self) -> Snapshot | None:
        return self.history[-1] if self.history else None

    def overfitting(self, window: int = OVERFIT_WINDOW) -> bool:
        """True when test loss has risen clearly above its best while train loss kept falling."""
        h = self.history
        if len(h) < 2 * window:
            return False
        test = np.array([s.test_loss for s in h])
        train = np.array([s.train_loss for s in h])
        best = int(np.nanargmin(test))
        recent = float(np.nanmean(test[-window:]))
        return bool(best < len(h) - window and recent > test[best] * 1.1 + 0.01
                    and float(np.nanmean(train[-window:])) < train[best] and recent > float(np.nanmean(train[-window:])))


__all__ = ["Trainer", "TrainerError", "Snapshot", "Dynamics", "check_params", "weight_layers", "OPTIMIZERS"]
