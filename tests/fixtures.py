"""Small models and graphs several test packages share (plain helpers, not tests)."""
import numpy as np
from torch import nn

from engine.model.graph import Edge, Layer, LayerGraph


def residual_graph(values: bool = True) -> LayerGraph:
    rng = np.random.default_rng(0)
    shapes = [(1, 3, 8, 8), (1, 4, 8, 8), (1, 4, 8, 8), (1, 4, 8, 8), (1, 10)]
    kinds = ["input", "conv", "activation", "add", "linear"]
    layers = []
    for i, (s, k) in enumerate(zip(shapes, kinds)):
        v = rng.standard_normal(s[1:]).astype(np.float32) if values else None
        layers.append(Layer(i, f"l{i}", k, k, s, values=v))
    layers[4].top_in = np.tile(np.arange(8, dtype=np.int32), (10, 1))
    layers[4].top_w = rng.standard_normal((10, 8)).astype(np.float32)
    edges = [Edge(0, 1), Edge(1, 2), Edge(2, 3), Edge(1, 3, "skip"), Edge(3, 4)]
    return LayerGraph("toy", layers, edges, [(1, 3, 8, 8)], "image")


class Block(nn.Module):
    """torchvision's Bottleneck pattern: bn -> ReLU(inplace) and ``out += identity``."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(4)
        self.relu = nn.ReLU(inplace=True)
        for bn in (self.bn1, self.bn2):       # non-trivial statistics: negative outputs exist
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.bias.data.uniform_(-0.5, 0.5)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += x
        return self.relu(out).mean(dim=(2, 3))
