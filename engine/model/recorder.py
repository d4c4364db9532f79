"""Record a PyTorch model into a LayerGraph by running it once.

How: one forward pass under ``torch.no_grad()`` with

* a ``TorchFunctionMode`` that sees every torch function / Tensor method called in Python and links
  producer -> consumer by tensor identity (a weakref callback forgets a tensor's id when it dies, so
  a reused id never inherits a producer, without keeping every activation alive), and
* global module forward pre/post hooks that give the module scope and turn each call of a *leaf*
  module (no children, or an atomic module: RNNs, nn.MultiheadAttention, TorchScript) into one layer.
  Ops inside leaf modules are not recorded.

Ops outside leaf modules become layers named ``<scope>.<op>`` (``add``, ``softmax``, ``matmul`` ...),
except pure shape/view/dtype ops (view, reshape, flatten, permute, transpose, getitem, to, ...) which
pass their input's producer through, and ops on constants only (no recorded input), which are not
layers. Ops whose output is integer/bool (masks, indices) pass through as well. Functional layers whose
output reaches neither another layer nor the model's output (e.g. ``x.mean()`` of an ``if``) are
dropped. Per-op work during the pass is a dict lookup and a few list appends; names, kinds, depths and
edge kinds are worked out after the pass.
"""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import torch
from torch import Tensor, _C, nn
from torch.nn.modules import module as _module_mod
from torch.overrides import TorchFunctionMode

from engine.model.errors import ModelError, first_line
from engine.model.graph import Edge, Layer, LayerGraph
from engine.model.inputs import ExampleInputs, shape_text

__all__ = ["record", "ExampleInputs", "to_example_inputs", "infer_family", "ATOMIC_MODULES"]

# Modules recorded as one layer although they may have children (we do not split their internals).
ATOMIC_MODULES: tuple[type, ...] = (nn.RNNBase, nn.RNNCellBase, nn.MultiheadAttention, torch.jit.ScriptModule)

_IGNORE, _PASS, _LAYER, _WRITE = 0, 1, 2, 3
_FUNC, _LEAF, _INPUT = 0, 1, 2

# Pure shape / view / dtype / copy ops: their output keeps its input's producer.
_PASS_NAMES = frozenset("""
view view_as reshape reshape_as flatten unflatten ravel permute transpose transpose_ t t_ T mT H mH
contiguous expand expand_as broadcast_to __getitem__ squeeze squeeze_ unsqueeze unsqueeze_ to type type_as
float double half bfloat16 int long bool short byte char cpu cuda detach detach_ clone data
chunk split split_with_sizes tensor_split unbind narrow select movedim moveaxis swapaxes swapdims
hsplit vsplit dsplit as_strided requires_grad_ repeat repeat_interleave tile roll flip pad
atleast_1d atleast_2d atleast_3d resolve_conj resolve_neg view_as_real view_as_complex real imag
align_to rename refine_names pin_memory share_memory_ contiguous_format __deepcopy__
""".split())

# Calls that never make layers nor carry data (metadata, creation from shape only, python protocol).
_IGNORE_NAMES = frozenset("""
size dim ndim ndimension numel nelement shape dtype device is_cuda is_meta is_sparse is_quantized layout
requires_grad grad grad_fn is_leaf names stride storage_offset data_ptr element_size itemsize nbytes
is_floating_point is_complex is_contiguous is_nonzero __len__ __bool__ __index__ __int__ __float__
__hash__ __repr__ __format__ __str__ __iter__ __reversed__ __contains__ __array__
__setstate__ __getstate__ __reduce_ex__ __dlpack__ item tolist numpy storage untyped_storage
zeros_like ones_like empty_like full_like rand_like randn_like randint_like new_zeros new_ones
new_empty new_full new_tensor zero_ fill_ normal_ uniform_ random_ bernoulli_ record_stream
get_device dim_order _version retain_grad register_hook backward apply_
""".split())

# Functional op name -> (display op, kind).
_OPS: dict[str, tuple[str, str]] = {}


def _ops(kind: str, names: str, op: str | None = None) -> None:
    for n in names.split():
        _OPS[n] = (op or n, kind)


_ops("add", "add __add__ __radd__ __iadd__", "add")
_ops("add", "sub __sub__ __rsub__ __isub__ rsub subtract", "sub")
_ops("mul", "mul __mul__ __rmul__ __imul__ multiply", "mul")
_ops("mul", "div __truediv__ __rtruediv__ __itruediv__ true_divide divide", "div")
_ops("concat", "cat concat concatenate", "cat")
_ops("concat", "stack hstack vstack dstack", "stack")
_ops("matmul", "matmul __matmul__ __rmatmul__", "matmul")
_ops("matmul", "bmm mm mv einsum baddbmm addmm addbmm addmv tensordot bilinear")
_ops("softmax", "softmax _softmax", "softmax")
_ops("softmax", "log_softmax softmin")
_ops("activation", "relu gelu silu sigmoid tanh leaky_relu elu selu celu hardswish hardsigmoid hardtanh relu6 "
     "mish softplus softsign glu prelu rrelu logsigmoid tanhshrink softshrink hardshrink threshold erf "
     "quick_gelu swish")
_ops("dropout", "dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout feature_dropout")
_ops("norm", "layer_norm batch_norm group_norm instance_norm rms_norm normalize local_response_norm")
_ops("embedding", "embedding embedding_bag")
_ops("conv", "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d")
_ops("linear", "linear")
_ops("pooling", "mean")  # global average pooling written as x.mean(...)
_ops("pooling", "max_pool1d max_pool2d max_pool3d avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d "
     "adaptive_avg_pool2d adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d adaptive_max_pool3d "
     "lp_pool1d lp_pool2d max_pool1d_with_indices max_pool2d_with_indices max_pool3d_with_indices "
     "adaptive_max_pool2d_with_indices")
_ops("attention", "scaled_dot_product_attention multi_head_attention_forward")
_ops("recurrent", "lstm gru rnn_tanh rnn_relu lstm_cell gru_cell rnn_tanh_cell rnn_relu_cell")


def _func_name(func) -> str:
    name = getattr(func, "__name__", None)
    if name == "__get__":  # property of Tensor, e.g. Tensor.shape.__get__
        name = getattr(getattr(func, "__self__", None), "__name__", name)
    return name if isinstance(name, str) else str(func)


def _policy(func) -> int:
    name = _func_name(func)
    if name in ("copy_", "__setitem__"):
        return _WRITE
    if name in _IGNORE_NAMES:
        return _IGNORE
    if name in _PASS_NAMES:
        return _PASS
    return _LAYER


def _op_kind(func) -> tuple[str, str]:
    name = _func_name(func)
    hit = _OPS.get(name)
    if hit is None and name.endswith("_") and not name.endswith("__"):
        hit = _OPS.get(name[:-1])  # in-place variant: relu_ -> relu
        if hit is None:
            name = name[:-1]
    if hit is None and name.startswith("__") and name.endswith("__"):
        name = name.strip("_")
    return hit or (name, "other")


def _flat(obj, out: list, _obj_depth: int = 0) -> list:
    """Tensors in obj (tensor, list/tuple/namedtuple, dict/ModelOutput, and the attributes of small
    plain objects such as torchvision's ImageList), depth-first, in order."""
    if isinstance(obj, Tensor):
        out.append(obj)
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            _flat(o, out, _obj_depth)
    elif isinstance(obj, dict):
        for o in obj.values():
            _flat(o, out, _obj_depth)
    elif _obj_depth < 1 and not isinstance(obj, (str, bytes, int, float, nn.Module, type)) and obj is not None:
        d = getattr(obj, "__dict__", None)
        if type(d) is dict and len(d) <= 16:
            for o in d.values():
                _flat(o, out, _obj_depth + 1)
    return out


class _Recorder(TorchFunctionMode):
    def __init__(self, capture):
        super().__init__()
        # capture: False, True (float32 numpy copies) or "tensor" (live probes: batch item 0 as a
        # detached tensor on the model's device, no copy; engine/compute reduces it there)
        self.grab = _grab_tensor if capture == "tensor" else (_grab if capture else None)
        self.leaf = 0            # >0 while inside a leaf module's forward
        self.popped = False      # True while this mode is off the stack for a leaf's forward
        self.stack: list = [None]  # scope: non-leaf modules being run
        self.prod: dict[int, int] = {}   # id(tensor) -> node index
        self.refs: dict[int, Any] = {}   # id(tensor) -> weakref whose callback forgets the id
        self.keep: list = []             # strong references to inputs and parameter views
        self.pview: dict[int, Tensor] = {}  # id(view of a Parameter) -> the Parameter
        # node: [type, func_or_module, scope_module, srcs, shape, dtype, values, params, call]
        # call: where a replay (engine/model/replay.py) finds the node again: the index of the
        # function call among all calls made outside leaf modules, or the module's k-th leaf call
        self.nodes: list[list] = []
        self.fcalls = 0                  # torch function calls seen outside leaf modules
        self.mcalls: dict[int, int] = {}  # id(leaf module) -> completed calls
        self.policy: dict[Any, int] = {}

    # ---------------------------------------------------------------- ops
    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if self.leaf:
            return out
        call = self.fcalls
        self.fcalls = call + 1
        pol = self.policy.get(func)
        if pol is None:
            pol = self.policy[func] = _policy(func)
        if pol == _IGNORE:
            return out
        if pol == _WRITE:
            self._write(args)
            return out
        if isinstance(out, Tensor):
            first = out
        elif isinstance(out, (tuple, list)) and out and isinstance(out[0], Tensor):
            first = out[0]
        else:
            return out
        prod = self.prod
        srcs: list[int] = []
        params: list | None = None
        for a in (args if not kwargs else (*args, *kwargs.values())):
            if isinstance(a, Tensor):
                p = prod.get(id(a))
                if p is not None:
                    if p not in srcs:
                        srcs.append(p)
                elif isinstance(a, nn.Parameter) or id(a) in self.pview:
                    (params := params or []).append(self.pview.get(id(a), a))
            elif isinstance(a, (list, tuple)):
                for b in a:
                    if isinstance(b, Tensor):
                        p = prod.get(id(b))
                        if p is not None:
                            if p not in srcs:
                                srcs.append(p)
                        elif isinstance(b, nn.Parameter) or id(b) in self.pview:
                            (params := params or []).append(self.pview.get(id(b), b))
        if not srcs:
            if params:  # e.g. class_token.expand(...), logit_scale.clamp(): remember the parameter
                for t in (out,) if first is out else out:
                    if isinstance(t, Tensor):
                        self.pview[id(t)] = params[0]
                        self.keep.append(t)
            return out
        if pol == _PASS or not (first.is_floating_point() or first.is_complex()):
            idx = srcs[0]
        else:
            idx = len(self.nodes)
            self.nodes.append([_FUNC, func, self.stack[-1], srcs, first.shape, first.dtype,
                               self.grab(first) if self.grab else None, params, call])
        track = self.track
        if first is out:
            track(out, idx)
        else:
            for t in out:
                if isinstance(t, Tensor):
                    track(t, idx)
        return out

    def _write(self, args) -> None:
        """dst.copy_(src) / dst[i] = src: a destination without a producer (a buffer being filled,
        e.g. images padded into a batch) takes the source's producer, and so does its base tensor."""
        if len(args) < 2 or not isinstance(args[0], Tensor):
            return
        src = args[-1] if isinstance(args[-1], Tensor) else None
        p = self.prod.get(id(src)) if src is not None else None
        dst = args[0]
        if p is None or id(dst) in self.prod:
            return
        self.track(dst, p)
        base = dst._base
        if base is not None and id(base) not in self.prod:
            self.track(base, p)

    def track(self, t: Tensor, idx: int) -> None:
        """Map tensor t to node idx. The entry is dropped when t dies (weakref callback), so a later
        tensor that reuses the id never inherits it, and intermediates are freed as in a bare forward."""
        key = id(t)
        if key not in self.prod:
            prod, refs = self.prod, self.refs
            refs[key] = weakref.ref(t, lambda _w, k=key: (prod.pop(k, None), refs.pop(k, None)))
        self.prod[key] = idx

    # ---------------------------------------------------------------- modules
    def pre_hook(self, mod, args):
        if self.leaf:
            self.leaf += 1
        elif not mod._modules or isinstance(mod, ATOMIC_MODULES):
            self.leaf = 1
            # Run the leaf without this mode: its internals are not recorded, so they run at full speed.
            n = _C._len_torch_function_stack()
            if n and _C._get_function_stack_at(n - 1) is self:
                _C._pop_torch_function_stack()
                self.popped = True
        else:
            self.stack.append(mod)

    def post_hook(self, mod, args, kwargs, out):
        if self.leaf:
            if self.leaf == 1:  # still 1: tensor calls made here are not recorded
                k = self.mcalls.get(id(mod), 0)
                self.mcalls[id(mod)] = k + 1
                self._leaf_done(mod, args, kwargs, out, k)
                if self.popped:
                    _C._push_on_torch_function_stack(self)
                    self.popped = False
            self.leaf -= 1
        elif len(self.stack) > 1:
            self.stack.pop()

    def _leaf_done(self, mod, args, kwargs, out, call: int = 0) -> None:
        outs = _flat(out, [])
        if not outs:
            return
        prod = self.prod
        srcs: list[int] = []
        for t in _flat(kwargs, _flat(args, [])):
            p = prod.get(id(t))
            if p is not None and p not in srcs:
                srcs.append(p)
        if isinstance(mod, nn.Identity):
            if not srcs:
                return
            idx = srcs[0]
        else:
            idx = len(self.nodes)
            first = outs[0]
            self.nodes.append([_LEAF, mod, self.stack[-1], srcs, first.shape, first.dtype,
                               self.grab(first) if self.grab else None, None, call])
        for t in outs:
            self.track(t, idx)

    def add_input(self, t: Tensor) -> None:
        idx = len(self.nodes)
        self.nodes.append([_INPUT, None, None, [], t.shape, t.dtype, self.grab(t) if self.grab else None, None,
                           sum(1 for n in self.nodes if n[0] == _INPUT)])
        self.keep.append(t)
        self.track(t, idx)


def _grab_tensor(t: Tensor) -> Tensor:
    """Batch item 0 of t, detached, on its device: no copy (live probes)."""
    t = t.detach()
    return t[0] if t.dim() > 1 else t


def _grab(t: Tensor) -> np.ndarray:
    """Batch item 0 of t as a float32 numpy copy (whole tensor if it has no batch dim)."""
    t = t.detach()
    if t.dim() > 1:
        t = t[0]
    if t.is_complex():
        t = t.abs()
    return t.to("cpu", torch.float32, copy=True).numpy()


# ------------------------------------------------------------------------ inputs
def to_example_inputs(example_inputs) -> ExampleInputs:
    """Accept a tensor, a tuple (positional args), a dict (keyword args) or ExampleInputs."""
    if isinstance(example_inputs, ExampleInputs):
        return example_inputs
    if example_inputs is None:
        raise ModelError("no example input given; pass a tensor, a tuple of args, a dict of kwargs or "
                         "ExampleInputs (CLI: --input-shape)")
    if isinstance(example_inputs, tuple) and len(example_inputs) == 2 and isinstance(example_inputs[0], tuple) \
            and isinstance(example_inputs[1], dict):
        return ExampleInputs(example_inputs[0], example_inputs[1])
    if isinstance(example_inputs, tuple):
        return ExampleInputs(example_inputs, {})
    if isinstance(example_inputs, dict):
        return ExampleInputs((), dict(example_inputs))
    return ExampleInputs((example_inputs,), {})


def infer_family(tensors: list) -> str:
    if not tensors:
        return "generic"
    t = tensors[0]
    if t.is_floating_point():
        return {4: "image", 3: "sequence"}.get(t.dim(), "generic")
    if t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        return "language"
    return "generic"


def _to_device(obj, device):
    if isinstance(obj, Tensor):
        return obj.to(device)
    if isinstance(obj, tuple) and not hasattr(obj, "_fields"):
        return tuple(_to_device(o, device) for o in obj)
    if isinstance(obj, list):
        return [_to_device(o, device) for o in obj]
    if isinstance(obj, dict) and type(obj) is dict:
        return {k: _to_device(v, device) for k, v in obj.items()}
    return obj


# ------------------------------------------------------------------------ modules -> kinds
_NORM_TYPES = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.LocalResponseNorm)
_POOL_MODULE = "torch.nn.modules.pooling"
_ACT_MODULE = "torch.nn.modules.activation"


def _module_kind(mod: nn.Module) -> str:
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


def _module_attrs(mod: nn.Module) -> dict:
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


def _top_spec(mod: nn.Module):
    """(weight, mode, groups) for modules that get top_in: Linear, HF Conv1D, non-transposed ConvNd."""
    params = mod._parameters
    w = params.get("weight") if type(params) is dict else None
    if not isinstance(w, Tensor) or w.dim() < 2 or w.is_meta:
        return None
    if isinstance(mod, nn.Linear):
        return w, "linear", 1
    if type(mod).__name__ == "Conv1D" and hasattr(mod, "nf"):  # Hugging Face: weight [in, out]
        return w, "linear_t", 1
    if isinstance(mod, nn.modules.conv._ConvNd) and not mod.transposed:
        return w, "conv", int(mod.groups)
    return None


def _top_compute(w: Tensor, mode: str, groups: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Strongest inputs per output unit: Linear by |w|; Conv by kernel L2 norm, signed by the kernel sum."""
    with torch.no_grad():
        w = w.detach()
        if w.dtype not in (torch.float32, torch.float64):
            w = w.float()
        if mode in ("linear", "linear_t"):
            if mode == "linear_t":
                w = w.t()
            idx = torch.topk(w.abs(), min(k, w.shape[1]), dim=1, sorted=True).indices
            return idx.to(torch.int32).cpu().numpy(), torch.gather(w, 1, idx).to(torch.float32).cpu().numpy()
        w3 = w.flatten(2)  # conv: [out, in/groups, kernel]
        norms = torch.linalg.vector_norm(w3, dim=2)
        val, idx = torch.topk(norms, min(k, norms.shape[1]), dim=1, sorted=True)
        signed = torch.where(torch.gather(w3.sum(dim=2), 1, idx) < 0, -val, val)
        if groups > 1:
            per_out = w.shape[0] // groups
            offset = (torch.arange(w.shape[0], device=idx.device) // per_out) * norms.shape[1]
            idx = idx + offset[:, None]
        return idx.to(torch.int32).cpu().numpy(), signed.to(torch.float32).cpu().numpy()


class _LazyTop:
    """top_in/top_w computed on first use from a numpy view of the weights (no copy, no torch object)."""

    __slots__ = ("args", "value")

    def __init__(self, w_np: np.ndarray, mode: str, groups: int, k: int):
        self.args = (w_np, mode, groups, k)
        self.value = None

    def get(self):
        if self.value is None:
            w_np, mode, groups, k = self.args
            self.value = _top_compute(torch.from_numpy(w_np), mode, groups, k)
            self.args = None
        return self.value


class RecordedLayer(Layer):
    """A Layer whose ``top_in``/``top_w`` of big Linear/Conv layers are computed on first access, so
    recording costs about one forward pass. Behaves exactly like Layer (same fields, pickles plainly)."""

    def _resolve(self) -> None:
        d = self.__dict__
        lazy = d.get("_lazy_top")
        if lazy is not None:
            d["_top_in"], d["_top_w"] = lazy.get()
            d["_lazy_top"] = None

    @property
    def top_in(self):
        self._resolve()
        return self.__dict__.get("_top_in")

    @top_in.setter
    def top_in(self, v):
        self._resolve()
        self.__dict__["_top_in"] = v

    @property
    def top_w(self):
        self._resolve()
        return self.__dict__.get("_top_w")

    @top_w.setter
    def top_w(self, v):
        self._resolve()
        self.__dict__["_top_w"] = v

    @property
    def top_pending(self) -> bool:
        """True while top_in/top_w have not been computed yet."""
        return self.__dict__.get("_lazy_top") is not None

    def __getstate__(self):
        self._resolve()
        return dict(self.__dict__)

    def __repr__(self) -> str:  # arrays shown by shape, not by value
        def arr(a):
            return None if a is None else f"<{a.dtype} {'x'.join(map(str, a.shape))}>"
        top = "<pending>" if self.top_pending else arr(self.__dict__.get("_top_in"))
        return (f"Layer(id={self.id}, name={self.name!r}, kind={self.kind!r}, op={self.op!r}, shape={self.shape}, "
                f"params={self.params}, dtype={self.dtype!r}, attrs={self.attrs}, top_in={top}, "
                f"values={arr(self.values)})")


# Weights with at most this many elements get top_in computed during record(); bigger ones lazily.
EAGER_TOP_ELEMENTS = 4096


def _make_top(mod: nn.Module, k: int):
    """A (top_in, top_w) pair, or a _LazyTop, or None."""
    spec = _top_spec(mod)
    if spec is None:
        return None
    w, mode, groups = spec
    if w.device.type == "cpu" and w.dtype in (torch.float32, torch.float64) and w.numel() > EAGER_TOP_ELEMENTS:
        try:
            return _LazyTop(w.detach().numpy(), mode, groups, k)
        except (RuntimeError, TypeError):
            pass
    return _top_compute(w, mode, groups, k)


# ------------------------------------------------------------------------ record
def record(model: nn.Module, example_inputs=None, *, capture: bool | str = False, top_k: int = 8,
           name: str | None = None, family: str | None = None) -> LayerGraph:
    """Run ``model`` once on ``example_inputs`` and return its LayerGraph.

    example_inputs: a tensor, a tuple of positional args, a dict of keyword args, ``(args, kwargs)``
    or ExampleInputs. capture: store each layer's output (batch item 0, float32) in Layer.values;
    "tensor" stores it as a detached tensor on the model's device instead (engine/compute's probes).
    top_k: strongest incoming weights per unit of Linear/Conv layers (0 = skip); for big CPU weights
    they are computed on first access of Layer.top_in/top_w (from a numpy view of the weights, so
    they reflect the weights at that time). name: LayerGraph.model_name. family: overrides the family
    inferred from the inputs ("image" for 4D float, "language" for integer ids, "sequence" for 3D
    float, else "generic"). The model runs once in eval mode under no_grad; its train/eval flags are
    restored afterwards. Raises ModelError if the model fails on the input.
    """
    if not isinstance(model, nn.Module):
        raise ModelError(f"record() needs a torch.nn.Module, got {type(model).__name__}; pass the model object")
    if type(model).__name__ == "OptimizedModule" and isinstance(getattr(model, "_orig_mod", None), nn.Module):
        model = model._orig_mod  # torch.compile wrapper: record the eager module
    ex = to_example_inputs(example_inputs)
    model_name = name or str(getattr(model, "original_name", None) or type(model).__name__)

    # device: move inputs to the model's device
    device = None
    for p in model.parameters():
        device = p.device
        break
    args, kwargs = ex.args, ex.kwargs
    if device is not None:
        args, kwargs = _to_device(args, device), _to_device(kwargs, device)
    in_tensors = _flat(kwargs, _flat(args, []))
    if device is None:
        device = in_tensors[0].device if in_tensors else torch.device("cpu")

    names: dict[int, str] = {id(m): n for n, m in model.named_modules()}
    root_name = str(getattr(model, "original_name", None) or type(model).__name__)

    rec = _Recorder(capture)
    for t in in_tensors:
        rec.add_input(t)
    training = [m for m in model.modules() if m.training]
    h_pre = h_post = None
    try:
        if training:
            model.eval()
        h_pre = _module_mod.register_module_forward_pre_hook(rec.pre_hook)
        h_post = _module_mod.register_module_forward_hook(rec.post_hook, with_kwargs=True)
        with torch.no_grad():
            rec.__enter__()
            try:
                out = model(*args, **kwargs)
            finally:
                if not rec.popped:  # a leaf that raised leaves the mode already off the stack
                    rec.__exit__(None, None, None)
    except Exception as e:  # noqa: BLE001 - anything the user's model raises
        shapes = ", ".join(shape_text(t.shape) for t in in_tensors)
        what = f"shape {shapes}" if len(in_tensors) == 1 else f"shapes {shapes}" if in_tensors else "no tensors"
        raise ModelError(f"model {model_name!r} failed on its example input ({what}): {first_line(e)}; "
                         f"pass --input-shape (and --input-dtype) matching the model") from e
    finally:
        if h_pre is not None:
            h_pre.remove()
        if h_post is not None:
            h_post.remove()
        for m in training:
            m.training = True
    fam = family or ex.family or infer_family(in_tensors)
    return _build(rec, out, names, root_name, model_name, top_k, fam, in_tensors, device)


def _build(rec: _Recorder, out, names, root_name, model_name, top_k, fam, in_tensors, device) -> LayerGraph:
    nodes = rec.nodes
    n = len(nodes)
    # ---- prune functional dead ends (not consumed, not an output)
    consumers: list[list[int]] = [[] for _ in range(n)]
    for i, nd in enumerate(nodes):
        for s in nd[3]:
            consumers[s].append(i)
    outputs = set()
    for t in _flat(out, []):
        p = rec.prod.get(id(t))
        if p is not None:
            outputs.add(p)
    alive = [True] * n
    for i in range(n - 1, -1, -1):
        if nodes[i][0] == _FUNC and i not in outputs:
            alive[i] = any(alive[c] for c in consumers[i])
    new_id: dict[int, int] = {}
    for i in range(n):
        if alive[i]:
            new_id[i] = len(new_id)

    # ---- layers
    counts: dict[str, int] = {}
    op_cache: dict[Any, tuple[str, str]] = {}
    seen_params: set[int] = set()
    first_call: dict[int, str] = {}
    top_cache: dict[int, Any] = {}
    layers: list[Layer] = []
    srcs_of: list[list[int]] = []

    def unique(base: str) -> str:
        c = counts.get(base, 0)
        counts[base] = c + 1
        return base if c == 0 else f"{base}:{c}"

    def scope_name(mod) -> str:
        if mod is None:
            return ""
        nm = names.get(id(mod))
        return nm if nm is not None else type(mod).__name__

    def count_params(ps) -> int:
        total = 0
        for p in ps:
            if p is not None and id(p) not in seen_params:
                seen_params.add(id(p))
                total += p.numel()
        return total

    for i, nd in enumerate(nodes):
        if not alive[i]:
            continue
        typ, obj, scope, srcs, shape, dtype, values, params, call = nd
        lid = new_id[i]
        site = None
        attrs: dict = {}
        top = None
        if typ == _INPUT:
            lname, kind, op, nparams = unique("input"), "input", "input", 0
            site = ("input", call)
        elif typ == _LEAF:
            mod = obj
            base = names.get(id(mod))
            if base is not None:
                site = ("leaf", base, call)
            if base is None:
                sn = scope_name(scope)
                base = f"{sn}.{type(mod).__name__}" if sn else type(mod).__name__
            elif base == "":
                base = root_name
            lname = unique(base)
            kind = _module_kind(mod)
            op = type(mod).__name__
            if isinstance(mod, torch.jit.ScriptModule):
                op = str(getattr(mod, "original_name", op))
            attrs = _module_attrs(mod)
            attrs["module"] = f"{type(mod).__module__}.{type(mod).__qualname__}"  # marks a leaf-module layer
            plain = type(mod._modules) is dict and not mod._modules and type(mod._parameters) is dict
            nparams = count_params(mod._parameters.values() if plain else mod.parameters())
            if id(mod) in first_call:
                if "weight_shape" in attrs or nparams or next(iter(mod.parameters()), None) is not None:
                    attrs["shares_params_with"] = first_call[id(mod)]
            else:
                first_call[id(mod)] = lname
            if top_k and kind in ("linear", "conv"):
                if id(mod) not in top_cache:
                    top_cache[id(mod)] = _make_top(mod, int(top_k))
                top = top_cache[id(mod)]
        else:
            func = obj
            hit = op_cache.get(func)
            if hit is None:
                hit = op_cache[func] = _op_kind(func)
            op, kind = hit
            sn = scope_name(scope)
            lname = unique(f"{sn}.{op}" if sn else op)
            site = ("func", call)
            nparams = count_params(params) if params else 0
            if kind == "softmax" and op == "softmax" and len(shape) >= 3:
                scope_text = (sn + " " + (type(scope).__name__ if scope is not None else "")).lower()
                if len(shape) == 4 or "attn" in scope_text or "attention" in scope_text:
                    kind = "attention"
                    if len(shape) == 4:
                        attrs["heads"] = int(shape[1])
        layer = RecordedLayer(id=lid, name=lname, kind=kind, op=op, shape=tuple(int(s) for s in shape),
                              params=int(nparams), dtype=str(dtype).removeprefix("torch."), attrs=attrs,
                              values=values, site=site)
        if isinstance(top, _LazyTop):
            layer.__dict__["_lazy_top"] = top
        elif top is not None:
            layer.top_in, layer.top_w = top
        layers.append(layer)
        srcs_of.append([new_id[s] for s in srcs])

    # ---- edges: dedup, depth, kinds
    depth = [0] * len(layers)
    for lid, ss in enumerate(srcs_of):
        if ss:
            depth[lid] = max(depth[s] for s in ss) + 1
    # main data path: layers reachable from the first input (position embeddings, masks built from an
    # attention_mask input etc. are side inputs: their edges stay "data")
    main = [False] * len(layers)
    if layers and layers[0].kind == "input":
        main[0] = True
        for lid, ss in enumerate(srcs_of):
            if any(main[s] for s in ss):
                main[lid] = True
    edges: list[Edge] = []
    att = [l.kind == "attention" and l.op == "softmax" for l in layers]
    for lid, ss in enumerate(srcs_of):
        residual = len(ss) >= 2 and layers[lid].kind in ("add", "concat")
        deepest = max(depth[s] for s in ss) if ss else 0
        for s in ss:
            if att[lid] or att[s]:
                kind = "attention"
            elif residual and depth[s] < deepest and main[s]:
                kind = "skip"
            else:
                kind = "data"
            edges.append(Edge(s, lid, kind))

    return LayerGraph(model_name=model_name, layers=layers, edges=edges,
                      input_shapes=[tuple(int(s) for s in t.shape) for t in in_tensors],
                      family=fam, device=str(device))
