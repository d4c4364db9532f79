"""Small built-in models (no downloads): what `neuroscape view mlp|cnn|lstm|gru|transformer|branchy` shows.

The classes only; engine/model/sources/zoo.py names them, seeds them and gives their example inputs."""
from __future__ import annotations

import torch
from torch import nn


class MLP(nn.Module):
    """64-128-64-10 perceptron with ReLU, on 1x64 features."""

    def __init__(self, sizes=(64, 128, 64, 10)):
        super().__init__()
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(a, b))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class SmallCNN(nn.Module):
    """Two conv blocks and a classifier, on 1x3x32x32 images (CIFAR-sized)."""

    def __init__(self, in_ch: int = 3, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_ch, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(32 * 16, 64), nn.ReLU(), nn.Linear(64, classes))

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)))


class RNNClassifier(nn.Module):
    """LSTM/GRU over a 1x16x32 sequence; a linear head on the last step."""

    def __init__(self, cell: str = "lstm", input_size: int = 32, hidden: int = 64, classes: int = 10):
        super().__init__()
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rnn = rnn(input_size, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class TinyTransformer(nn.Module):
    """Token embedding + learned positions + 2-layer nn.TransformerEncoder + linear head, on 1x16 token ids."""

    def __init__(self, vocab: int = 1000, d_model: int = 64, heads: int = 4, layers: int = 2, max_len: int = 128):
        super().__init__()
        self.vocab_size = vocab
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(torch.zeros(1, max_len, d_model))
        layer = nn.TransformerEncoderLayer(d_model, heads, dim_feedforward=4 * d_model, dropout=0.1,
                                           batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, ids):
        x = self.embed(ids) + self.pos[:, : ids.shape[1]]
        return self.head(self.norm(self.encoder(x)))


class Branchy(nn.Module):
    """A value-dependent branch (``if x.mean() > 0``), which torch.fx / torch.export cannot trace."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(32, 64)
        self.pos_path = nn.Sequential(nn.Linear(64, 64), nn.ReLU())
        self.neg_path = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 64))
        self.out = nn.Linear(64, 10)

    def forward(self, x):
        h = torch.relu(self.inp(x))
        if h.mean() > 0.1:
            h = h + self.pos_path(h)
        else:
            h = self.neg_path(h)
        return self.out(h)
