"""Torch functions seen while recording: which ones make layers, which pass data through, and the
display name and kind of each layer they make."""
from __future__ import annotations

# What the recorder does with a call (policy()).
IGNORE, PASS, LAYER, WRITE = 0, 1, 2, 3

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


def func_name(func) -> str:
    packet = getattr(func, "overloadpacket", None)    # torch.ops.aten.conv2d.default (torch.export) -> conv2d
    name = getattr(packet if packet is not None else func, "__name__", None)
    if name == "__get__":  # property of Tensor, e.g. Tensor.shape.__get__
        name = getattr(getattr(func, "__self__", None), "__name__", name)
    return name if isinstance(name, str) else str(func)


def policy(func) -> int:
    """IGNORE, PASS, LAYER or WRITE for a torch function or Tensor method."""
    name = func_name(func)
    if name in ("copy_", "__setitem__"):
        return WRITE
    if name in _IGNORE_NAMES:
        return IGNORE
    if name in _PASS_NAMES:
        return PASS
    return LAYER


def op_kind(func) -> tuple[str, str]:
    """(display op, kind) of a layer made by ``func``; unknown ops are (their name, "other")."""
    name = func_name(func)
    hit = _OPS.get(name)
    if hit is None and name.endswith("_") and not name.endswith("__"):
        hit = _OPS.get(name[:-1])  # in-place variant: relu_ -> relu
        if hit is None:
            name = name[:-1]
    if hit is None and name.startswith("__") and name.endswith("__"):
        name = name.strip("_")
    return hit or (name, "other")

