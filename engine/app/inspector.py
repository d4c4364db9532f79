"""What the viewer shows about a pick beyond its name and value: the picked neuron's strongest
incoming contributions (HUD lines + highlighted segments from the source neurons), for a conv
layer its kernels as an image panel (under the layer's activation histogram, shown for every layer),
and for an attention map of a labelled text its head view (engine/scene/headview.py). Plain data (no
GL); torch work is in engine/compute."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.app.histogram import histogram_image, stack
from engine.compute.unmosaic import SceneValues
from engine.model.graph import LayerGraph
from engine.scene.headview import attention_cell, head_view_segments
from engine.scene.nodes import Scene, Slab
from engine.scene.pick import Pick
from engine.scene.tokens import head_view_points

TOP_K = 6
SHOWN_ATTRS = ("kernel_size", "stride", "padding", "dilation", "groups", "heads", "num_heads", "p")
ROW_WEIGHT = 0.5        # a token's query rows outlined in the maps: half-strength highlight


@dataclass
class Inspection:
    """What to show for one pick: HUD lines, highlight segments, kernel panel."""

    lines: list[str] = field(default_factory=list)
    positions: np.ndarray | None = None     # (2N, 3) highlight segments: source neuron -> picked neuron
    weights: np.ndarray | None = None       # (2N,) contribution / strongest |contribution|
    panel: np.ndarray | None = None         # RGBA kernel image of a picked conv layer


def neuron_position(slab: Slab, index: int) -> np.ndarray:
    """World centre of a slab's neuron ``index``: origin + (col + .5) u + (row + .5) v."""
    col, row = slab.mosaic.texel(int(index))
    return slab.origin + (float(col) + 0.5) * slab.u + (float(row) + 0.5) * slab.v


class Inspector:
    """Answers picks for one scene; ``model`` None (or no graph) means names and values only."""

    def __init__(self, scene: Scene, graph: LayerGraph | None = None, model=None, session=None,
                 k: int = TOP_K) -> None:
        probe = getattr(session, "probe", None)      # a live session knows its model and graph
        model = model if model is not None else getattr(probe, "model", None)
        graph = graph if graph is not None else getattr(probe, "graph", None)
        self.scene, self.graph, self.model, self.session, self.k = scene, graph, model, session, k
        self._layers = {l.id: l for l in graph.layers} if graph is not None else {}
        self._slabs = {s.layer_id: s for s in scene.slabs}
        self._panels: dict[int, tuple[np.ndarray | None, str]] = {}
        self._values: tuple[object, SceneValues] | None = None

    def values(self) -> SceneValues:
        """The values shown now, decoded once per live frame (a pick's status, histogram and
        contributions all read the picked layer on every frame)."""
        frame = getattr(self.session, "last", None) if self.session is not None else None
        if frame is None:                        # the slabs' own values: they may be rewritten in place
            return SceneValues(self.scene, self.session)
        if self._values is None or self._values[0] is not frame:
            self._values = (frame, SceneValues(self.scene, self.session))
        return self._values[1]

    @property
    def available(self) -> bool:
        """True when a torch model with weights and its graph are known (else picks show names and values
        only: structure-only models have no weights, ONNX files no torch modules)."""
        return (self.model is not None and self.graph is not None and not self.graph.structure_only
                and not hasattr(self.model, "record_graph"))

    def _kernels(self, layer) -> tuple[np.ndarray | None, str]:
        if layer.id not in self._panels:
            from engine.compute.kernels import kernel_images, kernel_summary
            try:
                self._panels[layer.id] = (kernel_images(self.model, layer), kernel_summary(self.model, layer))
            except ValueError:
                self._panels[layer.id] = (None, "")
        return self._panels[layer.id]

    def head_view(self, picked: Pick | None) -> Inspection | None:
        """The head view of a picked attention probability (None when the pick is not one)."""
        tokens = self.scene.tokens
        if picked is None or picked.index is None or picked.slab.kind != "attention" or not tokens:
            return None
        slab, n = picked.slab, len(tokens)
        cell = attention_cell(slab, picked.index, n)
        if cell is None or slab.mosaic.th != n or slab.mosaic.tw != n:
            return None
        try:
            values = self.values()[slab.layer_id]
        except KeyError:
            return None
        head, q, k = cell
        probs = np.asarray(values, np.float64).reshape(-1, n, n)[head]
        queries, keys, _ = head_view_points(slab, tokens, self.scene.token_images)
        pos, wts = head_view_segments(probs, queries, keys, q)
        top = np.argsort(-np.nan_to_num(probs[q]))[:3]
        attends = ", ".join(f"{tokens[i]!r} {probs[q, i]:.2f}" for i in top)
        out = Inspection([f"head {head}: query {q} {tokens[q]!r} attends {attends}"])
        rows, rw = self.query_rows(q)
        pos, wts = np.concatenate([pos, rows]), np.concatenate([wts, rw])
        if len(pos):
            out.positions, out.weights = pos.astype(np.float32), wts.astype(np.float32)
        return out

    def rollout(self, picked: Pick | None) -> Inspection:
        """Attention rollout from the picked token's output row (else the last token's) back to the
        input tokens: lines from the last token plane to the first, weighted; the strongest in the HUD."""
        from engine.compute.rollout import scene_rollout
        tokens = self.scene.tokens
        ro = scene_rollout(self.scene, self.values()) if tokens else None
        if ro is None:
            return Inspection(["attention rollout: no attention maps over labelled tokens in this scene"])
        q = ro.filled - 1                     # the last token with attention (so far, when generating)
        if picked is not None and getattr(picked, "slab", None) is not None and picked.row is not None \
                and picked.slab.mosaic.ntiles == 1 \
                and picked.slab.rows == len(tokens):
            q = int(picked.row)
        w = ro.matrix[q]
        top = np.argsort(-w)[:4]
        out = Inspection([f"attention rollout over {len(ro.maps)} layers: token {q} {tokens[q]!r} draws on "
                          + ", ".join(f"{tokens[k]!r} {w[k]:.2f}" for k in top)])
        out.positions, out.weights = ro.segments(q)
        return out

    def _gates(self, layer, index: int) -> list[str]:
        """HUD lines: the gates of a picked recurrent state's unit at its step, from the layer below's
        output at that step and this layer's previous step (engine/model/recurrent.py)."""
        import torch

        from engine.model.recurrent import rnn_gates, rnn_state_of
        site = layer.site
        mod = dict(self.model.named_modules()).get(site[1]) if site and site[0] == "rnn" else None
        if mod is None:
            return []
        if not getattr(mod, "batch_first", False):
            return ["gates: shown for batch_first recurrent modules (this one is time-major)"]
        k, d, _ = rnn_state_of(mod, int(site[3]))
        steps, n = layer.shape[1], layer.shape[2]
        t, unit = divmod(int(index), n)
        values = self.values()
        base = layer.name.rsplit(".", 1)[0]
        by_name = {l.name: l for l in self.graph.layers}
        feed = [e.src for e in self.graph.edges if e.dst == layer.id]
        try:
            x = np.concatenate([np.asarray(values[s]).reshape(steps, -1)[t] for s in feed])
            h_seq = np.asarray(values[by_name[base + ".h"].id]).reshape(steps, n)
            c_layer = by_name.get(base + ".c")
            c_seq = np.asarray(values[c_layer.id]).reshape(steps, n) if c_layer is not None else None
        except KeyError:
            return ["gates: the layer below or this layer's states are not shown"]
        prev = t + 1 if d else t - 1
        first = prev < 0 or prev >= steps
        h_prev = np.zeros(n) if first else h_seq[prev]
        c_prev = None if c_seq is None else (np.zeros(n) if first else c_seq[prev])
        g = rnn_gates(mod, k, d, torch.as_tensor(x), torch.as_tensor(h_prev),
                      None if c_prev is None else torch.as_tensor(c_prev), unit)
        text = "   ".join(f"{name} {v:+.3f}" for name, v in g.items())
        return [f"{type(mod).__name__} layer {k}{' reverse' if d else ''}, step {t}, unit {unit}"
                + (" (initial state taken as 0)" if first else "") + ":", f"  {text}"]

    def query_rows(self, q: int) -> tuple[np.ndarray, np.ndarray]:
        """Outlines of token ``q``'s query row in every head of every attention map: where it
        attends, in every layer and head at once."""
        n = len(self.scene.tokens or [])
        parts = []
        for s in self.scene.slabs:
            m = s.mosaic
            if s.kind == "attention" and n and m.th == n and m.tw == n and s.count % (n * n) == 0:
                heads = s.count // (n * n)
                idx = (np.arange(heads)[:, None] * n * n + q * n + np.arange(n)[None, :]).reshape(-1)
                parts.append(s.outline(idx))
        seg = np.concatenate(parts) if parts else np.zeros((0, 3))
        return seg, np.full(len(seg), ROW_WEIGHT)

    def _token_row(self, picked: Pick, out: Inspection) -> None:
        """A pick on a token's row of a labelled token plane: that token's query rows in every map."""
        tokens = self.scene.tokens
        s = picked.slab
        if not tokens or picked.row is None or s.kind not in ("embedding", "add") or s.mosaic.ntiles != 1 \
                or s.rows != len(tokens):
            return
        seg, w = self.query_rows(int(picked.row))
        if not len(seg):
            return
        out.lines.insert(0, f"token {picked.row} {tokens[picked.row]!r}: its query row outlined in every attention map")
        out.positions = seg if out.positions is None else np.concatenate([out.positions, seg])
        out.weights = w if out.weights is None else np.concatenate([out.weights, w])
        out.positions, out.weights = out.positions.astype(np.float32), out.weights.astype(np.float32)

    def value_of(self, picked) -> float | None:
        """The picked neuron's value now (a live frame's, else the recording's)."""
        if picked is None or getattr(picked, "slab", None) is None or picked.index is None:
            return None
        try:
            return float(self.values()[picked.slab.layer_id][picked.index])
        except (KeyError, IndexError, ValueError):
            return None

    def inspect(self, picked: Pick | None) -> Inspection:
        """Contributions of the picked neuron and the kernels of a picked conv layer; the head view
        of a picked attention probability."""
        if picked is not None and getattr(picked, "slab", None) is None:
            return Inspection()                  # a cloud's point: nothing to inspect in the network
        hv = self.head_view(picked)
        if hv is not None:
            return hv
        out = self._inspect(picked)
        if picked is not None:
            self._token_row(picked, out)
            out.lines[:0] = self.top_classes(picked)
            op = self.layer_line(picked)
            if op:
                out.lines.insert(0, op)
            out.panel = stack(self.histogram(picked), out.panel)
        return out

    def layer_line(self, picked: Pick) -> str:
        """The picked layer's op, parameters and the attributes that shape it (kernel, stride, ...)."""
        layer = self._layers.get(picked.slab.layer_id)
        if layer is None:
            return ""
        attrs = [f"{k} {'x'.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in layer.attrs.items()
                 if k in SHOWN_ATTRS and v not in (None, 1, (1, 1), 0, (0, 0))]
        return "   ".join([layer.op, f"{layer.params:,} parameters", *attrs])

    def histogram(self, picked: Pick) -> np.ndarray | None:
        """The picked layer's activation histogram (the values shown now), the neuron's value marked."""
        try:
            values = self.values()[picked.slab.layer_id]
        except (KeyError, IndexError, ValueError):
            return None
        return histogram_image(values, self.value_of(picked), f"{picked.slab.name}: {values.size:,} values")

    def top_classes(self, picked: Pick, k: int = 5) -> list[str]:
        """A classifier's output layer picked: its top-``k`` classes (the session's), named where the
        model has names."""
        sess = self.session
        if sess is None or getattr(sess, "output_id", None) != picked.slab.layer_id:
            return []
        top = sess.top_classes(k)
        return ["top classes:"] + [f"  {p:6.1%}  {c:>4}  {name if name != str(c) else ''}".rstrip()
                                   for c, name, p in top] if top else []

    def _inspect(self, picked: Pick | None) -> Inspection:
        out = Inspection()
        if picked is None or not self.available:
            return out
        layer = self._layers.get(picked.slab.layer_id)
        if layer is None:
            return out
        if layer.op == "rnn_state" and picked.index is not None:
            out.lines.extend(self._gates(layer, picked.index))
            return out
        if layer.kind == "conv":
            out.panel, summary = self._kernels(layer)
            if summary:
                out.lines.append(summary)
        if picked.index is None:
            return out
        from engine.compute.contrib import bias_of, contributions
        values = self.values()
        try:
            cs = contributions(self.model, self.graph, layer, picked.index, values, k=self.k)
        except Exception as e:  # noqa: BLE001 - a model this module does not understand: say so, keep flying
            out.lines.append(f"contributions unavailable: {type(e).__name__}: {e}")
            return out
        if not cs:
            return out
        if layer.id in values:
            bias = bias_of(self.model, layer, picked.index)
            out.lines.append(("" if not bias else f"bias {bias:+.3g}   ") + "strongest inputs:")
        names = {lid: (self._layers[lid].name if lid in self._layers else str(lid)) for lid in {c.src_layer_id for c in cs}}
        for c in cs:
            out.lines.append(f"  from {names[c.src_layer_id]} #{c.src_index}: {c.value:+.3g} (w {c.weight:.3g})")
        dst = neuron_position(picked.slab, picked.index)
        seg, wts = [], []
        peak = max(abs(c.value) for c in cs) or 1.0
        for c in cs:
            src = self._slabs.get(c.src_layer_id)
            if src is None or c.src_index >= src.count:
                continue
            seg += [neuron_position(src, c.src_index), dst]
            wts += [c.value / peak] * 2
        if seg:
            out.positions = np.asarray(seg, np.float32)
            out.weights = np.asarray(wts, np.float32)
        return out
