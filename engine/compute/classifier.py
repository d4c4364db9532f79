"""The playground's classifier: a configurable MLP (widths, activation) that can grow or shrink
while it trains, keeping every trained weight whose position still exists."""
from __future__ import annotations

import torch
from torch import nn

from engine.errors import NeuroscapeError


class ClassifierError(NeuroscapeError):
    """A bad classifier parameter (widths, activation) or a change the model cannot take."""


ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid,
                                           "linear": nn.Identity, "gelu": nn.GELU, "leaky_relu": nn.LeakyReLU}
MAX_WIDTH, MAX_LAYERS = 256, 8


def parse_layers(text: str | list | tuple) -> list[int]:
    """``"8,8"`` (or ``[8, 8]``; ``""`` = no hidden layer) -> ``[8, 8]``, checked."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.replace("x", ",").split(",") if p.strip()]
        try:
            widths = [int(p) for p in parts]
        except ValueError:
            raise ClassifierError(f"bad --layers {text!r}: give hidden widths separated by commas, e.g. 8,8") from None
    else:
        widths = [int(w) for w in text]
    check_widths(widths)
    return widths


def check_widths(widths: list[int]) -> None:
    if len(widths) > MAX_LAYERS:
        raise ClassifierError(f"{len(widths)} hidden layers is more than {MAX_LAYERS}: use fewer layers")
    for w in widths:
        if not 1 <= w <= MAX_WIDTH:
            raise ClassifierError(f"hidden width {w} is outside 1..{MAX_WIDTH}: choose widths in that range")


def check_activation(name: str) -> str:
    key = str(name).strip().lower()
    if key not in ACTIVATIONS:
        raise ClassifierError(f"unknown activation {name!r}: use one of {', '.join(ACTIVATIONS)}")
    return key


class MLP(nn.Module):
    """in_dim -> hidden widths (each Linear + activation) -> n_classes logits, as one nn.Sequential
    so the recorder shows every Linear and activation as its own layer."""

    def __init__(self, in_dim: int, widths: list[int], n_classes: int, activation: str = "tanh",
                 seed: int | None = None) -> None:
        super().__init__()
        check_widths(list(widths))
        self.in_dim, self.widths, self.n_classes = int(in_dim), list(widths), int(n_classes)
        self.activation = check_activation(activation)
        if self.n_classes < 2:
            raise ClassifierError(f"{n_classes} classes: a classifier needs at least 2")
        gen_state = torch.random.get_rng_state()
        if seed is not None:
            torch.manual_seed(seed)
        try:
            layers: list[nn.Module] = []
            prev = self.in_dim
            for w in self.widths:
                layers += [nn.Linear(prev, w), ACTIVATIONS[self.activation]()]
                prev = w
            layers.append(nn.Linear(prev, self.n_classes))
            self.net = nn.Sequential(*layers)
        finally:
            if seed is not None:
                torch.random.set_rng_state(gen_state)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)

    _plain_forward = forward     # marks forward == self.net(x) (engine.compute.field.binary_head)

    @property
    def linears(self) -> list[nn.Linear]:
        return [m for m in self.net if isinstance(m, nn.Linear)]

    def set_activation(self, name: str) -> None:
        """Swap every hidden activation in place (weights untouched)."""
        self.activation = check_activation(name)
        for i, m in enumerate(self.net):
            if not isinstance(m, nn.Linear):
                self.net[i] = ACTIVATIONS[self.activation]()

    def resized(self, widths: list[int], seed: int | None = None) -> "MLP":
        """A new MLP with hidden ``widths``; each Linear keeps the overlapping block of the old
        weights (same position = same neuron), new neurons and layers start freshly initialised."""
        new = MLP(self.in_dim, widths, self.n_classes, self.activation, seed=seed)
        old_l, new_l = self.linears, new.linears
        # pair layers from the input side; the output layer always pairs with the output layer
        pairs = list(zip(old_l[:-1], new_l[:-1])) + [(old_l[-1], new_l[-1])]
        with torch.no_grad():
            for o, n in pairs:
                r, c = min(o.out_features, n.out_features), min(o.in_features, n.in_features)
                n.weight[:r, :c] = o.weight[:r, :c]
                n.bias[:r] = o.bias[:r]
        return new.to(next(self.parameters()).device)


__all__ = ["MLP", "ACTIVATIONS", "ClassifierError", "parse_layers", "check_activation", "check_widths"]
