"""Leaf modules -> layer kind and attributes (kernel size, heads, weight shape ...)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["ATOMIC_MODULES", "module_kind", "module_attrs"]

# Modules recorded as one layer although they may have children (we do not split their internals).
ATOMIC_MODULES: tuple[type, ...] = (nn.RNNBase, nn.RNNCellBase, nn.MultiheadAttention, torch.jit.ScriptModule)

_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)
_POOL_MODULE = "torch.nn.modules.pooling"
_ACT_MODULE = "torch.nn.modules.activation"


def module_kind(mod: nn.Module) -> str:
    """One of engine.model.graph.KINDS, from the class (and, for other libraries, its name)."""
    if isinstance(mod, torch.jit.ScriptModule):
        return "opaque"
    if isinstance(mod, nn.modules.conv._ConvNd):
        return "conv"
    if isinstance(mod, (nn.Linear, nn.Bilinear)):
        return "linear"
    if isinstance(mod, nn.MultiheadAttention):
        return "attention"
    if isinstance(mod, (nn.RNNBase, nn.RNNCellBase)):
        return "recurrent"
    if isinstance(mod, (nn.Embedding, nn.EmbeddingBag)):
        return "embedding"
    if isinstance(mod, nn.modules.dropout._DropoutNd):
        return "dropout"
    if isinstance(mod, (nn.Softmax, nn.LogSoftmax, nn.Softmin, nn.Softmax2d)):
        return "softmax"
    if isinstance(mod, (nn.Flatten, nn.Unflatten, nn.PixelShuffle, nn.PixelUnshuffle, nn.ChannelShuffle)):
        return "reshape"
    if isinstance(mod, _NORM_TYPES) or (hasattr(nn, "RMSNorm") and isinstance(mod, nn.RMSNorm)):
        return "norm"
    cls = type(mod)
    m = cls.__module__
    if m == _POOL_MODULE:
        return "pooling"
    if m == _ACT_MODULE:
        return "activation"
    n = cls.__name__.lower()
    if n == "conv1d" and hasattr(mod, "nf"):  # Hugging Face GPT-2 Conv1D is a transposed linear
        return "linear"
    for key, kind in (("permute", "reshape"), ("reshape", "reshape"), ("flatten", "reshape"), ("transpose", "reshape"),
                      ("stochasticdepth", "dropout"), ("droppath", "dropout"),
                      ("norm", "norm"), ("attention", "attention"), ("pool", "pooling"), ("embed", "embedding"),
                      ("dropout", "dropout"), ("activation", "activation"), ("gelu", "activation"),
                      ("relu", "activation"), ("silu", "activation"), ("swish", "activation"),
                      ("sigmoid", "activation"), ("tanh", "activation"), ("linear", "linear"), ("conv", "conv"),
                      ("lstm", "recurrent"), ("gru", "recurrent")):
        if key in n:
            return kind
    return "other"


_SCALARS = (bool, int, float, str, type(None))


def _plain(v):
    if type(v) in _SCALARS:
        return v
    if isinstance(v, (tuple, list, torch.Size)):
        return tuple(x if type(x) in _SCALARS else _plain(x) for x in v)
    if isinstance(v, _SCALARS):  # subclasses (enums of int etc.)
        return v
    return str(v)


_ATTR_NAMES = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
               "in_features", "out_features", "num_features", "normalized_shape", "num_groups", "eps",
               "num_embeddings", "embedding_dim", "input_size", "hidden_size", "num_layers", "bidirectional",
               "embed_dim", "num_heads", "output_size", "p", "negative_slope", "approximate", "dim",
               "start_dim", "end_dim", "nf", "nx")
_ATTR_SET = frozenset(_ATTR_NAMES)


def module_attrs(mod: nn.Module) -> dict:
    """Plain-data hyperparameters of a module and its weight shape."""
    attrs = {}
    d = mod.__dict__
    for a in _ATTR_SET.intersection(d):
        v = d[a]
        if isinstance(v, (bool, int, float, str, tuple, list, torch.Size)):
            attrs[a] = _plain(v)
    if "num_heads" in attrs:
        attrs["heads"] = attrs["num_heads"]
    if isinstance(mod, torch.jit.ScriptModule):
        attrs["original_name"] = str(getattr(mod, "original_name", type(mod).__name__))
        return attrs
    w = mod._parameters.get("weight")
    if w is None and isinstance(mod, (nn.RNNBase,)):
        w = getattr(mod, "weight_ih_l0", None)
    if w is None and isinstance(mod, nn.MultiheadAttention):
        w = mod.in_proj_weight if mod.in_proj_weight is not None else None
    if isinstance(w, Tensor):
        attrs["weight_shape"] = tuple(int(s) for s in w.shape)
    return attrs
