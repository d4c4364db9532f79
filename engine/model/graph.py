"""LayerGraph: the recorded model as plain data (no torch objects), so layout, scene and tests
can use it without torch."""
from __future__ import annotations

from dataclasses import dataclass, field
from math import prod

import numpy as np

# Layer kinds the layout and look understand. Anything else is "other".
KINDS = (
    "input", "conv", "linear", "norm", "activation", "pooling", "attention", "embedding",
    "recurrent", "add", "mul", "concat", "matmul", "softmax", "dropout", "reshape", "output",
    "opaque", "other",
)


@dataclass
class Layer:
    """One displayable layer: a leaf module call, or a functional op outside leaf modules."""

    id: int
    name: str                      # module scope path, e.g. "layer1.0.conv1", "layer1.0.add"; unique
    kind: str                      # one of KINDS
    op: str                        # module class name ("Conv2d") or op name ("add")
    shape: tuple[int, ...]         # output shape of the primary output tensor, batch dim included
    params: int = 0                # parameters owned by this layer (0 for functional ops)
    dtype: str = "float32"
    attrs: dict = field(default_factory=dict)  # kernel_size, stride, padding, heads, weight_shape, ...
    # (attrs["neg_inf_is_mask"]: the layer feeds a softmax, so -inf entries are masked keys, not errors)
    # Strongest incoming weights per output unit (dense layers: [out, k] indices into the input
    # features and their weights; conv: [out_ch, k] input channels by kernel norm). None if n/a.
    top_in: np.ndarray | None = None
    top_w: np.ndarray | None = None
    # Output values of the recording pass (batch item 0), float32, only if record(capture=True).
    values: np.ndarray | None = None
    # Where a replay finds this layer's output in a later forward pass (engine/model/replay.py):
    # ("leaf", module name, k-th call), ("func", index of the call outside leaf modules) or
    # ("input", i); None if it cannot be found again (a module that is not a registered submodule).
    site: tuple | None = None

    @property
    def neurons(self) -> int:
        """Units in one sample's output (batch dim excluded)."""
        return int(prod(self.shape[1:])) if len(self.shape) > 1 else int(prod(self.shape))


@dataclass
class Edge:
    src: int
    dst: int
    kind: str = "data"             # "data", "skip" (residual / long-range), "attention"


@dataclass
class LayerGraph:
    model_name: str
    layers: list[Layer]
    edges: list[Edge]
    input_shapes: list[tuple[int, ...]] = field(default_factory=list)
    family: str = "generic"        # "image", "language", "sequence", "tabular", "generic"
    device: str = "cpu"
    structure_only: bool = False   # recorded without weights (meta device): shapes, no values
    weight_bytes: int = 0          # structure_only: what the weights would take
    random_weights: bool = False   # a built-in model with random weights (nothing downloaded): no --weights given

    def __post_init__(self) -> None:
        self._by_name = {l.name: l for l in self.layers}

    def layer(self, name: str) -> Layer:
        """Layer by name, with a clear error listing near names."""
        try:
            return self._by_name[name]
        except KeyError:
            import difflib
            near = difflib.get_close_matches(name, list(self._by_name), n=3)
            hint = f" (did you mean {', '.join(near)}?)" if near else ""
            raise KeyError(f"no layer named {name!r}{hint}") from None

    def predecessors(self, lid: int) -> list[int]:
        return [e.src for e in self.edges if e.dst == lid]

    def successors(self, lid: int) -> list[int]:
        return [e.dst for e in self.edges if e.src == lid]

    @property
    def total_neurons(self) -> int:
        return sum(l.neurons for l in self.layers)

    @property
    def total_params(self) -> int:
        return sum(l.params for l in self.layers)

    def table(self, details: bool = False) -> str:
        """Human-readable layer table (what `neuroscape inspect` prints); ``details``: each layer's
        attributes on indented lines under it."""
        rows = [("#", "name", "kind", "op", "output shape", "params", "neurons")]
        for l in self.layers:
            rows.append((str(l.id), l.name, l.kind, l.op, "x".join(map(str, l.shape)),
                         f"{l.params:,}", f"{l.neurons:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(c.ljust(w) if i < 4 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
                 for r in rows]
        if details:
            for k in range(len(self.layers), 0, -1):
                attrs = self.layers[k - 1].attrs
                extra = [f"    {a}={v}" for a, v in attrs.items() if not isinstance(v, dict)]
                extra += [f"    {a}: " + ", ".join(f"{n} {s}" for n, s in v.items()) for a, v in attrs.items()
                          if isinstance(v, dict) and v]
                lines[k + 1:k + 1] = extra
        lines.insert(1, "-" * len(lines[0]))
        n_skip = sum(e.kind == "skip" for e in self.edges)
        lines.append(f"{len(self.layers)} layers, {len(self.edges)} edges ({n_skip} skip), "
                     f"{self.total_params:,} parameters, {self.total_neurons:,} neurons")
        if self.structure_only:
            lines.append(f"structure only: {self.weight_bytes / 1e9:.1f} GB of weights not loaded -- shapes and "
                         f"parameter counts as a real run records them, no values")
        if self.random_weights:
            lines.append("random weights (nothing is downloaded): what it shows is not learned -- pass --weights "
                         "FILE for trained ones")
        return "\n".join(lines)
