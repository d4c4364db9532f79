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

SDPA = "scaled_dot_product_attention"
_SDPA_ARGS = ("query", "key", "value", "attn_mask", "dropout_p", "is_causal", "scale", "enable_gqa")
_MHA_ARGS = ("query", "key", "value", "key_padding_mask", "need_weights", "attn_mask", "average_attn_weights",
             "is_causal")


def _bound(names: tuple[str, ...], args: tuple, kwargs: dict) -> dict:
    out = dict(zip(names, args))
    out.update(kwargs)
    return out


def _softmax(scores: Tensor, masked: Tensor | None) -> Tensor:
    """Softmax over keys in float32; rows whose keys are all masked give 0."""
    probs = torch.softmax(scores, dim=-1)
    if masked is not None:
        probs = probs.masked_fill(masked.all(dim=-1, keepdim=True), 0.0)
    return probs


def sdpa_probs(query: Tensor, key: Tensor, attn_mask: Tensor | None = None, is_causal: bool = False,
               scale: float | None = None, enable_gqa: bool = False) -> Tensor:
    """The probabilities F.scaled_dot_product_attention(query, key, value, ...) weights value with:
    (..., Hq, L, S) float32. Keys with fewer heads than queries (grouped-query attention) are shared
    by consecutive query heads, as enable_gqa does."""
    q, k = query.float(), key.float()
    if q.dim() >= 3 and k.dim() >= 3 and k.shape[-3] != q.shape[-3]:
        k = k.repeat_interleave(q.shape[-3] // k.shape[-3], dim=-3)
    s = 1.0 / math.sqrt(q.shape[-1]) if scale is None else float(scale)
    scores = torch.matmul(q, k.transpose(-2, -1)) * s
    L, S = scores.shape[-2], scores.shape[-1]
    masked = None
    if is_causal:
        masked = torch.ones(L, S, dtype=torch.bool, device=scores.device).tril().logical_not()
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            masked = ~attn_mask if masked is None else masked | ~attn_mask
        else:
            scores = scores + attn_mask.float()
    if masked is not None:
        masked = masked.expand(scores.shape) if masked.shape != scores.shape else masked
        scores = scores.masked_fill(masked, float("-inf"))
    elif attn_mask is not None:
        masked = torch.isneginf(scores)
    return _softmax(scores, masked)


def sdpa_probs_of_call(args: tuple, kwargs: dict) -> Tensor:
    """sdpa_probs for the arguments of one F.scaled_dot_product_attention call."""
    a = _bound(_SDPA_ARGS, args, kwargs)
    return sdpa_probs(a["query"], a["key"], a.get("attn_mask"), bool(a.get("is_causal", False)), a.get("scale"),
                      bool(a.get("enable_gqa", False)))


def _in_projection(mod: nn.MultiheadAttention, query: Tensor, key: Tensor) -> tuple[Tensor, Tensor]:
    E = mod.embed_dim
    if mod._qkv_same_embed_dim:
        wq, wk = mod.in_proj_weight[:E], mod.in_proj_weight[E:2 * E]
    else:
        wq, wk = mod.q_proj_weight, mod.k_proj_weight
    b = mod.in_proj_bias
    bq, bk = (None, None) if b is None else (b[:E], b[E:2 * E])
    return nn.functional.linear(query, wq, bq), nn.functional.linear(key, wk, bk)


def mha_probs(mod: nn.MultiheadAttention, args: tuple, kwargs: dict) -> Tensor:
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
    probs = sdpa_probs(q, k, bias)
    return probs if batched else probs[0]
