"""Attention probabilities where a model never materialises them: F.scaled_dot_product_attention
(Hugging Face's default SDPA attention, hand-written models) and nn.MultiheadAttention (torchvision's
ViT calls it with need_weights=False). They are computed from the call's own arguments --
softmax(q k^T * scale + mask) with the op's mask, causal flag, scale and grouped-query head
sharing; dropout is off, as in eval -- only for the calls whose probabilities are recorded or shown.

Masked entries are 0 (a probability, not an error); a query row whose every key is masked (a
padding query in some masks) is all 0 instead of the NaN a softmax of -inf gives. Real NaN/Inf in
q or k still come out as NaN.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from engine.model.ops import func_name

SDPA = "scaled_dot_product_attention"
_SDPA_ARGS = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa")
_MHA_ARGS = ("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask", "average_attn_weights",
             "is_causal")


def _bound(names: tuple[str, ...], args: tuple, kwargs: dict) -> dict:
    out = dict(zip(names, args))
    out.update(kwargs)
    return out


_IS_SDPA: dict = {}


def is_sdpa(func) -> bool:
    """Whether a torch function seen by a TorchFunctionMode is F.scaled_dot_product_attention."""
    hit = _IS_SDPA.get(func)
    if hit is None:
        hit = _IS_SDPA[func] = func_name(func) == SDPA
    return hit


def sdpa_inputs(args: tuple, kwargs: dict) -> list:
    """What an SDPA call's probabilities are computed from: query, key and the mask (or None)."""
    a = _bound(_SDPA_ARGS, args, kwargs)
    return [a.get("query"), a.get("key"), a.get("attn_mask")]


def mha_inputs(args: tuple, kwargs: dict) -> list:
    """The same for an nn.MultiheadAttention call: query, key and its two masks."""
    a = _bound(_MHA_ARGS, args, kwargs)
    return [a.get("query"), a.get("key"), a.get("key_padding_mask"), a.get("attn_mask")]


class MapBuffers:
    """Memory for the maps of live frames, reused: fresh tensors this size (a GPT-2 map at 1024
    tokens is 50 MB) come from the kernel page by page on every frame, which costs more than the
    maps' arithmetic. Each site's maps rotate through ``depth`` buffers, one per frame, so a frame
    stays valid while the next ``depth - 1`` are computed (the renderer shows it meanwhile); the
    scores are computed in one scratch buffer per shape."""

    def __init__(self, depth: int = 2) -> None:
        self.depth = max(1, int(depth))
        self.frame = 0
        self._maps: dict[object, list[Tensor | None]] = {}
        self._scratch: dict[tuple, Tensor] = {}

    def next_frame(self) -> None:
        self.frame += 1

    def _get(self, table: dict, key, i: int, shape, device) -> Tensor:
        ring = table.setdefault(key, [None] * self.depth)
        b = ring[i]
        if b is None or b.shape != shape or b.device != device:
            b = ring[i] = torch.empty(shape, dtype=torch.float32, device=device)
        return b

    def out(self, key, shape, device) -> Tensor:
        """This frame's buffer for site ``key``."""
        return self._get(self._maps, key, self.frame % self.depth, shape, device)

    def scratch(self, shape, device) -> Tensor:
        return self._get(self._scratch, (tuple(shape), str(device)), 0, shape, device)


_SOFTMAX_OUT = getattr(getattr(torch.ops.aten, "_softmax", None), "out", None)


def sdpa_probs(query: Tensor, key: Tensor, attn_mask: Tensor | None = None, is_causal: bool = False,
               scale: float | None = None, enable_gqa: bool = False, *,
               buffers: MapBuffers | None = None, site=None) -> Tensor:
    """The probabilities F.scaled_dot_product_attention(query, key, value, ...) weights value with:
    (..., Hq, L, S) float32. Keys with fewer heads than queries (grouped-query attention) are shared
    by consecutive query heads, as enable_gqa does. One matmul, masks applied in place from their
    own (small, broadcast) shape, one softmax; with ``buffers`` both write into reused memory and the
    map returned is the buffer of ``site`` for this frame."""
    q, k = query.float(), key.float()
    if q.dim() >= 3 and k.dim() >= 3 and k.shape[-3] != q.shape[-3]:
        k = k.repeat_interleave(q.shape[-3] // k.shape[-3], dim=-3)
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    lead = q.shape[:-2] if q.shape[:-2] == k.shape[:-2] else torch.broadcast_shapes(q.shape[:-2], k.shape[:-2])
    shape = tuple(lead) + (q.shape[-2], k.shape[-2])
    pooled = buffers is not None and _SOFTMAX_OUT is not None
    scores = torch.matmul(q * s, k.transpose(-2, -1),       # the scale on the smaller operand
                          **({"out": buffers.scratch(shape, q.device)} if pooled else {}))
    L, S = scores.shape[-2], scores.shape[-1]
    allowed = torch.ones(L, S, dtype=torch.bool, device=scores.device).tril() if is_causal else None
    dead = None                                              # query rows with every key masked
    if attn_mask is not None and attn_mask.dtype == torch.bool:
        allowed = attn_mask if allowed is None else allowed & attn_mask
    elif attn_mask is not None:
        scores.add_(attn_mask.float())
        dead = torch.isneginf(attn_mask).all(dim=-1, keepdim=True)
    if allowed is not None:
        scores.masked_fill_(~allowed, float("-inf"))
        no_key = ~allowed.any(dim=-1, keepdim=True)
        dead = no_key if dead is None else dead | no_key
    probs = _SOFTMAX_OUT(scores, -1, False, out=buffers.out(site, shape, q.device)) if pooled \
        else torch.softmax(scores, dim=-1)
    if dead is not None and bool(dead.any()):
        probs.masked_fill_(dead, 0.0)
    return probs


def sdpa_shape(args: tuple, kwargs: dict) -> torch.Size:
    """The shape sdpa_probs_of_call gives, without computing anything (a recording that keeps no values)."""
    a = _bound(_SDPA_ARGS, args, kwargs)
    q, k = a["query"], a["key"]
    kb = k.shape[:-2]
    if q.dim() >= 3 and k.dim() >= 3 and k.shape[-3] != q.shape[-3]:
        kb = kb[:-1] + (q.shape[-3],)
    return torch.Size(torch.broadcast_shapes(q.shape[:-2], kb) + (q.shape[-2], k.shape[-2]))


def mha_shape(mod: nn.MultiheadAttention, args: tuple, kwargs: dict) -> torch.Size:
    """The shape mha_probs gives, without computing anything."""
    a = _bound(_MHA_ARGS, args, kwargs)
    query, key = a["query"], a["key"]
    S = key.shape[-2] if query.dim() == 2 or mod.batch_first else key.shape[0]
    S += int(mod.bias_k is not None) + int(bool(mod.add_zero_attn))
    if query.dim() == 2:
        return torch.Size((mod.num_heads, query.shape[0], S))
    N, L = (query.shape[0], query.shape[1]) if mod.batch_first else (query.shape[1], query.shape[0])
    return torch.Size((N, mod.num_heads, L, S))


def sdpa_probs_of_call(args: tuple, kwargs: dict, buffers: MapBuffers | None = None, site=None) -> Tensor:
    """sdpa_probs for the arguments of one F.scaled_dot_product_attention call."""
    a = _bound(_SDPA_ARGS, args, kwargs)
    return sdpa_probs(a["query"], a["key"], a.get("attn_mask"), bool(a.get("is_causal", False)), a.get("scale"),
                      bool(a.get("enable_gqa", False)), buffers=buffers, site=site)


def _in_projection(mod: nn.MultiheadAttention, query: Tensor, key: Tensor) -> tuple[Tensor, Tensor]:
    E = mod.embed_dim
    if mod._qkv_same_embed_dim:
        wq, wk = mod.in_proj_weight[:E], mod.in_proj_weight[E:2 * E]
    else:
        wq, wk = mod.q_proj_weight, mod.k_proj_weight
    b = mod.in_proj_bias
    bq, bk = (None, None) if b is None else (b[:E], b[E:2 * E])
    return nn.functional.linear(query, wq, bq), nn.functional.linear(key, wk, bk)


def mha_probs(mod: nn.MultiheadAttention, args: tuple, kwargs: dict, buffers: MapBuffers | None = None,
              site=None) -> Tensor:
    """Per-head probabilities of one nn.MultiheadAttention call: (N, H, L, S) float32 ((H, L, S)
    unbatched), whatever need_weights the model asked for. Uncommon set-ups (bias_k, add_zero_attn)
    ask the module itself for its weights."""
    a = _bound(_MHA_ARGS, args, kwargs)
    query, key = a["query"], a["key"]
    if mod.bias_k is not None or mod.add_zero_attn:
        _, w = mod(query, key, a["value"], key_padding_mask=a.get("key_padding_mask"), need_weights=True,
                   attn_mask=a.get("attn_mask"), average_attn_weights=False, is_causal=bool(a.get("is_causal", False)))
        return w.float()
    batched = query.dim() == 3
    if batched and not mod.batch_first:                 # (L, N, E) -> (N, L, E)
        query, key = query.transpose(0, 1), key.transpose(0, 1)
    if not batched:
        query, key = query.unsqueeze(0), key.unsqueeze(0)
    q, k = _in_projection(mod, query, key)
    N, L, _ = q.shape
    S, H = k.shape[1], mod.num_heads
    q = q.reshape(N, L, H, -1).transpose(1, 2)
    k = k.reshape(N, S, H, -1).transpose(1, 2)
    bias = None                                         # additive float mask, -inf where not allowed
    for m, shape in ((a.get("attn_mask"), (N, H, L, S)), (a.get("key_padding_mask"), (N, 1, 1, S))):
        if m is None:
            continue
        if m.dim() == 3 or m is a.get("key_padding_mask"):   # (N * H, L, S) / (N, S)
            m = m.reshape(shape)
        m = torch.zeros(m.shape, device=q.device).masked_fill(m, float("-inf")) if m.dtype == torch.bool \
            else m.float()                              # MultiheadAttention's bool masks: True = not allowed
        bias = m if bias is None else bias + m
    probs = sdpa_probs(q, k, bias, buffers=buffers, site=site)
    return probs if batched else probs[0]
