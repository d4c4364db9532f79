"""--generate N: a causal language model writes text token by token inside its scene.

The scene is laid out for the whole text (prompt + N tokens, found first by a bare KV-cache loop), and
starts empty. Step 0 runs the prompt; step k feeds the k-th generated token with the KV cache
(engine/model/generation.py). Each step's outputs are written into the rows of the token planes and
attention maps they belong to, and those rows are outlined (the new row lights up); the HUD shows the
text so far with the fed token marked and the model's next token with its probability. The same
session object drives `view` (steps paced in time, looping), `record` (paced by video frames) and
`render` (the last step).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from engine.compute.errors import InputError
from engine.compute.probe import Frame, LayerFrame
from engine.model.generation import StepCapture, TokenChooser, cache_of, causal_lm_problem, context_length
from engine.model.graph import LayerGraph
from engine.scene.marks import MARK_OFF, MARK_ON
from engine.scene.nodes import Scene

__all__ = ["GenerationSession", "GenerationFrame", "Prompt", "prompt_for", "place", "text_lines",
           "MAX_GENERATE"]

TEXT_COLS = 72                   # characters per HUD line of the text so far
TEXT_ROWS = 3
MAX_GENERATE = 4096              # --generate above this is a typo, not a scene
OUTLINE_WEIGHT = 0.6             # the new rows' outlines: highlight colour, 60% opacity and a thinner line


@dataclass
class Prompt:
    ids: list[int]
    encoder: object              # engine/compute/text.py: ByteEncoder or HFEncoder

    def decode(self, ids) -> str:
        return self.encoder.decode(ids)


def prompt_for(model, example, model_spec: str, name: str, text: str | None, n: int) -> Prompt:
    """The prompt's token ids for ``--generate n``: ``text`` by the model's tokenizer (else the
    byte-level encoding), or the model's example ids; checks the model can generate and that
    prompt + n tokens fit its context. Raises InputError with the fix."""
    from engine.compute.text import encoder_for, text_ids
    from engine.model.example import vocab_size
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_GENERATE:
        raise InputError(f"--generate {n!r} must be a number of tokens from 1 to {MAX_GENERATE}, e.g. --generate 40")
    problem = causal_lm_problem(model, name)
    if problem:
        raise InputError(problem)
    vocab = vocab_size(model) or 1
    encoder = encoder_for(model_spec, vocab)
    if text is not None:
        if text.startswith("text:"):
            text = text[5:]
        if not text.strip():
            raise InputError("--generate needs a prompt: --input 'text:The while statement' (or no --input "
                             "for the model's example)")
        ids = text_ids(encoder, text)
    else:
        t = (example.kwargs.get("input_ids") if example is not None else None)
        if t is None:
            raise InputError(f"{name!r} has no example token ids to start from; give a prompt: --input 'text:...'")
        ids = [int(i) for i in t.reshape(-1)]
    ctx = context_length(model)
    if ctx is not None and len(ids) + n > ctx:
        raise InputError(f"prompt ({len(ids)} tokens) + --generate {n} is longer than {name!r}'s context of {ctx} "
                         f"tokens; shorten the prompt or use --generate {max(1, ctx - len(ids))}"
                         if len(ids) < ctx else
                         f"the prompt ({len(ids)} tokens) fills {name!r}'s whole context of {ctx} tokens; shorten it")
    return Prompt(ids, encoder)


def place(full: tuple[int, ...], step: tuple[int, ...], past: int, new: int) -> tuple[slice, ...] | None:
    """Where a step's output (shape ``step``, batch item 0) goes in the whole text's tensor
    (``full``): a dimension of size ``new`` is the step's tokens at ``past``; one of size
    ``past + new`` runs over every token so far (attention keys); others are taken whole. None when
    the shapes do not fit that way."""
    if len(full) != len(step):
        return None
    out = []
    for f, s in zip(full, step):
        if s == f:
            out.append(slice(None))
        elif s == new and past + new <= f:
            out.append(slice(past, past + new))
        elif s == past + new and s <= f:
            out.append(slice(0, s))
        else:
            return None
    return tuple(out)


def text_lines(before: str, marked: str, cols: int = TEXT_COLS, rows: int = TEXT_ROWS) -> list[str]:
    """The last ``rows`` lines of ``before + marked`` wrapped at ``cols``, ``marked`` between HUD marks."""
    clean = lambda s: s.replace("\n", "\u21b5").replace("\t", " ")     # noqa: E731
    before, marked = clean(before), clean(marked) or " "
    text = before + marked
    lines, start = [], 0
    while start < len(text):
        lines.append((start, min(len(text), start + cols)))
        start += cols
    out = []
    m0, m1 = len(before), len(text)
    for a, b in lines[-rows:]:
        s = text[a:b]
        lo, hi = max(a, m0), min(b, m1)
        if lo < hi:
            s = text[a:lo] + MARK_ON + text[lo:hi] + MARK_OFF + text[hi:b]
        out.append(s)
    return out


@dataclass
class GenerationFrame(Frame):
    step: int = 0
    written: dict[int, tuple[slice, ...]] = field(default_factory=dict)   # layer id -> rows this step wrote
    hud: list[str] = field(default_factory=list)
    segments: np.ndarray | None = None      # the outline of the written rows, once worked out


class GenerationSession:
    """Steps a causal LM through its text and fills the scene's slabs row by row."""

    live = True            # the record / view loops ask for a frame every video frame
    pulse = False

    def __init__(self, model, graph: LayerGraph, scene: Scene, prompt: list[int], tokens: list[int], decode, *,
                 chooser: TokenChooser | None = None, norm: str = "layer", log: bool = False,
                 frames_per_step: int = 12, hold_steps: int = 6) -> None:
        if norm not in ("layer", "global"):
            raise ValueError(f"norm must be 'layer' or 'global', got {norm!r}")
        self.scene, self.prompt, self.tokens, self.decode = scene, list(prompt), list(tokens), decode
        self.chooser = chooser or TokenChooser()
        self.norm, self.log = norm, log
        self.frames_per_step, self.hold_steps = max(1, int(frames_per_step)), max(0, int(hold_steps))
        self.steps = len(self.tokens)              # display steps 0..steps (step k feeds token k)
        by_id = {l.id: l for l in graph.layers}
        self.shapes = {s.layer_id: tuple(by_id[s.layer_id].shape[1:]) for s in scene.slabs}
        self.masks = {s.layer_id for s in scene.slabs if s.masks}
        self.capture = StepCapture(model, graph, set(self.shapes))
        self.last: Frame | None = None
        self.label = ""
        self.outlines = True            # the viewer turns them off while it shows a pick's highlight
        self._applied: tuple | None = None   # (frame, renderer, outlines) last written to a renderer
        self.seconds_per_step: float | None = None   # set: paced by the clock (viewer), else by frames (record)
        self.clock = time.monotonic
        self._started: float | None = None
        self._frame: GenerationFrame | None = None
        self._sets = None
        self._reset()

    # ------------------------------------------------------------------ stepping
    # Work per step follows the rows it writes, not the text's length: frames hand out views of
    # RING buffer sets (one is being written while the renderer may still read the two before),
    # each brought up to date with the rows of the steps it missed; colour scales are running
    # min/max updated from the new rows.
    RING = 3

    def _reset(self) -> None:
        if getattr(self, "_sets", None) is None:
            self._sets = [{lid: np.zeros(shape, np.float32) for lid, shape in self.shapes.items()}
                          for _ in range(self.RING)]
        else:
            for buffers in self._sets:
                for b in buffers.values():
                    b.fill(0.0)
        self._behind = [[] for _ in range(self.RING)]     # per set: (layer id, rows, values) it lacks
        self._stats = {lid: (np.inf, -np.inf, 0) for lid in self.shapes}     # lo, hi, NaN/Inf count
        self.done = -1                  # the last display step computed
        self.cache = None
        self.chooser.reset()
        self.next_token: int | None = None
        self.next_p = 0.0

    @property
    def buffers(self) -> dict[int, np.ndarray]:
        """The layers' values after the last computed step (full-text shapes)."""
        return self._sets[max(self.done, 0) % self.RING]

    def _advance(self) -> dict[int, tuple[slice, ...]]:
        """Compute display step ``done + 1``; returns the rows it wrote per layer."""
        k = self.done + 1
        ids = self.prompt if k == 0 else [self.tokens[k - 1]]
        past = 0 if k == 0 else len(self.prompt) + k - 1
        values, out = self.capture.step(ids, self.cache)
        self.cache = cache_of(out)
        logits = out.logits[0, -1].detach().float()
        self.next_token = self.chooser(logits)
        self.next_p = float(torch.softmax(logits, -1)[self.next_token])
        written, rows = {}, []
        for lid, t in values.items():
            shape = self.shapes.get(lid)
            where = None if shape is None else place(shape, tuple(t.shape), past, len(ids))
            if where is None:
                continue
            a = t.numpy() if t.dtype == torch.float32 and t.device.type == "cpu" and not t.requires_grad \
                else t.detach().float().cpu().numpy()
            written[lid] = where
            rows.append((lid, where, a))
            self._update_stats(lid, a, whole=all(w == slice(None) for w in where))
        target = k % self.RING
        for lid, where, a in self._behind[target] + rows:       # the steps this set missed, then this one
            self._sets[target][lid][where] = a
        self._behind[target] = []
        for i in range(self.RING):
            if i != target:
                self._behind[i].extend(rows)
        self.done = k
        return written

    def _update_stats(self, lid: int, a: np.ndarray, whole: bool) -> None:
        lo, hi, nbad = (float(a.min()), float(a.max()), 0) if a.size else (np.inf, -np.inf, 0)
        if not (np.isfinite(lo) and np.isfinite(hi)):          # rare: NaN/Inf (or masked -inf) in the rows
            finite = np.isfinite(a)
            bad = ~finite if lid not in self.masks else ~(finite | np.isneginf(a))
            vals = a[finite]
            lo, hi = (float(vals.min()), float(vals.max())) if vals.size else (np.inf, -np.inf)
            nbad = int(bad.sum())
        if whole:
            self._stats[lid] = (lo, hi, nbad)
        else:
            plo, phi, pbad = self._stats[lid]
            self._stats[lid] = (min(plo, lo), max(phi, hi), pbad + nbad)

    def step_at(self, t: int) -> int:
        """Display step of animation frame ``t``: steps_per ``frames_per_step`` frames, a hold, again."""
        period = self.steps + 1 + self.hold_steps
        return min((t // self.frames_per_step) % period, self.steps)

    def frame_of_step(self, k: int) -> GenerationFrame:
        """The frame after display step ``k`` (0: the prompt), computing the steps up to it. Its
        values are views that stay unchanged for the next RING - 1 steps."""
        k = int(np.clip(k, 0, self.steps))
        if self._frame is not None and self._frame.step == k:
            return self._frame
        t0 = time.perf_counter()
        frame = GenerationFrame(step=k)
        try:
            if k <= self.done:
                self._reset()
            while self.done < k:
                frame.written = self._advance()
        except Exception as e:  # noqa: BLE001 - the viewer keeps running and shows the error
            frame.error = str(e).splitlines()[0][:300]
            self._reset()
            return frame
        t1 = time.perf_counter()
        self._fill(frame)
        frame.hud = self.hud_lines(k)
        frame.seconds = {"forward": t1 - t0, "stats": time.perf_counter() - t1}
        self._frame = frame
        return frame

    def _fill(self, frame: GenerationFrame) -> None:
        stats = []
        for lid, (lo, hi, bad) in self._stats.items():
            if lo > hi:
                lo = hi = 0.0
            m = max(abs(lo), abs(hi))
            stats.append((lid, lo, np.log1p(m) if self.log else m, bad))
        top = max((s[2] for s in stats), default=1.0)
        buffers = self.buffers
        for lid, lo, m, bad in stats:
            denom = top if self.norm == "global" else m
            frame.layers[lid] = LayerFrame(lid, buffers[lid].reshape(-1), 1.0 / denom if denom > 0 else 1.0,
                                           lo < 0, bad, 1.0, self.log)
            frame.nonfinite += bad

    # ------------------------------------------------------------------ text
    def text(self, k: int) -> tuple[str, str]:
        """(text before the token fed at step ``k``, that token's text); step 0 feeds the prompt."""
        fed = self.prompt + self.tokens[:k]
        n = len(self.prompt) if k == 0 else len(fed) - 1
        before = self.decode(fed[:n]) if n else ""
        return before, self.decode(fed)[len(before):]

    def hud_lines(self, k: int) -> list[str]:
        before, token = self.text(k)
        what = "prompt" if k == 0 else f"token {k}/{self.steps}"
        nxt = "" if self.next_token is None else self.decode(self.prompt + self.tokens[:k] + [self.next_token])
        nxt = nxt[len(self.decode(self.prompt + self.tokens[:k])):]
        return [f"generating: {what}   next: {nxt!r} (p={self.next_p:.2f})", *text_lines(before, token)]

    # ------------------------------------------------------------------ the session protocol
    def step_now(self) -> int:
        """Display step by the clock: ``seconds_per_step`` each from the first call, a hold, again."""
        now = self.clock()
        if self._started is None:
            self._started = now
        sps = max(1e-3, float(self.seconds_per_step))
        period = (self.steps + 1 + self.hold_steps) * sps
        return min(int(((now - self._started) % period) / sps), self.steps)

    def compute(self, t: int) -> GenerationFrame:
        """The frame for animation frame ``t`` (or for now, when paced by the clock)."""
        frame = self.frame_of_step(self.step_now() if self.seconds_per_step else self.step_at(t))
        self.label = f"step {frame.step}/{self.steps}"
        return frame

    def apply(self, frame: Frame, t: int = 0, renderer=None) -> None:
        """Write a frame's values into the scene's slabs or the renderer's textures, and outline the
        rows its step wrote."""
        if frame.error is None:
            self.last = frame
        frame = self.last or frame
        last = self._applied
        if renderer is not None and last is not None and last[0] is frame and last[1] is renderer \
                and last[2] == self.outlines:
            return          # the same step as the last video frame: nothing to upload or rebuild
        self._applied = (frame, renderer, self.outlines) if renderer is not None else None
        for s in self.scene.slabs:
            lf = frame.layers.get(s.layer_id)
            if lf is None or lf.values.size != s.count:
                continue
            if renderer is not None:
                renderer.set_signed(s.layer_id, lf.signed, lf.log)
                renderer.attach_values(s.layer_id, lf.values, lf.scale)
            else:
                s.values, s.scale, s.signed = lf.values, lf.scale, lf.signed
        if renderer is not None and self.outlines:
            seg, weights = self.highlight(frame)
            if len(seg):
                renderer.set_highlight(seg, weights)
            else:
                renderer.clear_highlight()

    def highlight(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """(segments, weights) outlining the rows ``frame``'s step wrote, as Renderer.set_highlight takes them."""
        seg = self.outline(frame)
        return seg, np.full(len(seg), OUTLINE_WEIGHT, np.float32)

    def outline(self, frame: Frame) -> np.ndarray:
        """Segments around the rows ``frame``'s step wrote, in every slab (worked out once a frame)."""
        cached = getattr(frame, "segments", None)
        if cached is not None:
            return cached
        parts = []
        for s in self.scene.slabs:
            where = getattr(frame, "written", {}).get(s.layer_id)
            shape = self.shapes.get(s.layer_id)
            if where is None or shape is None or all(w == slice(None) for w in where):
                continue
            ranges = [np.arange(*w.indices(n)) for w, n in zip(where, shape)]      # only the written cells
            parts.append(s.outline(np.ravel_multi_index(np.ix_(*ranges), shape).reshape(-1)))
        seg = np.concatenate(parts) if parts else np.zeros((0, 3))
        if isinstance(frame, GenerationFrame):
            frame.segments = seg
        return seg

    def hud(self) -> list[str]:
        """The HUD lines of the frame shown last."""
        f = self.last
        return list(getattr(f, "hud", [])) if f is not None else []

    def first_frame(self, step: int = 0) -> Frame:
        """Compute display step ``step`` and write it into the scene (before any renderer exists)."""
        f = self.frame_of_step(step)
        self.apply(f)
        for s in self.scene.slabs:      # the scene owns plain copies, not the ring's buffers
            if s.values is not None:
                s.values = np.array(s.values, dtype=np.float32)
        return f

    def close(self) -> None:
        self.capture.close()
