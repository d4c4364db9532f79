"""--input text:... (and, for language models, any string that names no file): text as the model's token ids,
by engine/compute/text.py's tokenizers, padded or truncated to the example's sequence length."""
from __future__ import annotations

import torch

from engine.compute import images as _img
from engine.compute import text as _text
from engine.compute.errors import InputError
from engine.compute.input_kind import InputKind, InputRequest, accepted, register_input
from engine.compute.input_source import InputSource, short, tensor_at, token_locs
from engine.model.inputs import ExampleInputs
from engine.model.registry import canonical_name


class TextSource(InputSource):
    def __init__(self, example: ExampleInputs, text: str, encoder, model_spec: str, **kw):
        ids_loc, mask_loc, types_loc = token_locs(example)
        seq = int(tensor_at(example, ids_loc).shape[-1])
        enc = encoder.encode(text, seq)
        super().__init__(example, n=1, vocab_size=encoder.vocab_size, special_ids=encoder.special_ids, **kw)
        self.text = text
        self.encoder = encoder
        self.encoded = enc
        self.label = f"text: {short(text)!r}"
        ids_t = tensor_at(example, ids_loc)
        new = {ids_loc: torch.tensor(enc.ids, dtype=ids_t.dtype).reshape(ids_t.shape)}
        if mask_loc is not None:
            m = tensor_at(example, mask_loc)
            new[mask_loc] = torch.tensor(enc.mask, dtype=m.dtype).reshape(m.shape)
        if types_loc is not None:
            ty = tensor_at(example, types_loc)
            new[types_loc] = torch.tensor(enc.type_ids, dtype=ty.dtype).reshape(ty.shape)
        self._inputs = _img.rebuild(example, new)
        how = (f"{encoder.name} tokens" if isinstance(encoder, _text.HFEncoder)
               else f"byte-level ids, no tokenizer for {model_spec or 'this model'!r}")
        extra = f", truncated to {seq}" if enc.truncated else ""
        self._desc = f"{self.label} ({min(enc.n_tokens, seq)} {how}{extra})"

    def _make(self, i):
        return self._inputs

    def _name(self, i):
        return self._desc

    def decode(self, ids=None) -> str:
        """The text the (possibly perturbed) ids stand for."""
        if ids is None:
            ids = tensor_at(self._inputs, self._ids_loc)
        ids = [int(v) for v in torch.as_tensor(ids).reshape(-1)]
        if self._mask_loc is not None:
            mask = [int(v) for v in tensor_at(self._inputs, self._mask_loc).reshape(-1)]
            ids = [v for v, m in zip(ids, mask) if m]
        return self.encoder.decode(ids)


def _shapes(example: ExampleInputs) -> str:
    parts = [f"{'x'.join(map(str, t.shape))} {str(t.dtype).removeprefix('torch.')}" for t in example.tensors()]
    return ", ".join(parts[:3]) or "no tensors"


def _text_source(req: InputRequest, text: str) -> TextSource:
    if not text:
        raise InputError("empty text input; write it after the prefix, e.g. --input 'text:the cat sat'")
    enc = _text.encoder_for(canonical_name(req.model_spec), req.vocab, req.tokenizer)
    return TextSource(req.example, text, enc, req.model_spec, seed=req.seed)


def _open(req: InputRequest) -> InputSource:
    """text:..."""
    if not req.token_model:
        raise InputError(f"text input needs a language model (this model takes {_shapes(req.example)}); use an "
                         f"image, digits, noise or example, or a language model (e.g. minilm, gpt2)")
    return _text_source(req, req.spec[5:].strip())


def _guess(req: InputRequest) -> InputSource | None:
    """Any other string: text for a language model (unless it looks like a path and the model's family is not
    "language"); for other models, words that name no file are most likely text meant for a language model."""
    if req.token_model and (req.family == "language" or not req.looks_like_path):
        return _text_source(req, req.spec)
    if " " in req.spec:
        raise InputError(f"text input needs a language model (this model takes {_shapes(req.example)}), and "
                         f"{short(req.spec, 40)!r} is no file; use {accepted()}")
    return None


register_input(InputKind("text", "text:... (language models)", prefix="text:", open=_open, guess=_guess))


def text_example(example: ExampleInputs, text: str, model_spec: str, model) -> ExampleInputs | None:
    """The example resized to ``text``'s own length (its ids, an all-ones mask, zero token types), so a
    language model sees the whole text rather than the example's made-up length; None when the example
    has other sequence-long inputs this cannot rebuild. Raises InputError when the text is longer than
    the model's context."""
    from engine.model.example import vocab_size
    from engine.model.generation import context_length
    ids_loc, mask_loc, types_loc = token_locs(example)
    if ids_loc is None or not text.strip():
        return None
    ids_t = tensor_at(example, ids_loc)
    seq = int(ids_t.shape[-1])
    known = {loc for loc in (ids_loc, mask_loc, types_loc) if loc is not None}
    if ids_t.dim() != 2 or any(loc not in known and t.dim() >= 1 and int(t.shape[-1]) == seq
                               for loc, t in _img.example_leaves(example)):
        return None
    encoder = _text.encoder_for(canonical_name(model_spec), vocab_size(model) or 1)
    ids = _text.text_ids(encoder, text)
    ctx = context_length(model)
    if ctx is not None and len(ids) > ctx:
        raise InputError(f"the text is {len(ids)} tokens, longer than the model's context of {ctx}; shorten it")
    n = len(ids)
    new = {ids_loc: torch.tensor([ids], dtype=ids_t.dtype)}
    if mask_loc is not None:
        new[mask_loc] = torch.ones((1, n), dtype=tensor_at(example, mask_loc).dtype)
    if types_loc is not None:
        new[types_loc] = torch.zeros((1, n), dtype=tensor_at(example, types_loc).dtype)
    return _img.rebuild(example, new)
