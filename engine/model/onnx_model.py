"""ONNX files as LayerGraphs: one layer per node that computes on the data (Constant nodes and nodes
fed by weights alone are their consumers' initializers), shapes from ONNX shape inference made
concrete by a run, and values from onnxruntime with every shown node's output exposed as a graph
output (an output of the graph cannot be fused away, so onnxruntime's optimizations stay on). ``inspect`` shows per node what Netron
does: op type, attributes, input and output names with shapes, initializer shapes."""
from __future__ import annotations

from math import prod
from pathlib import Path

import numpy as np
import torch
from torch import nn

from engine.model.errors import ModelImportError, first_line
from engine.model.example import SEQ_LEN
from engine.model.graph import Edge, Layer, LayerGraph
from engine.model.inputs import ExampleInputs
from engine.model.tensors import infer_family

__all__ = ["OnnxModel", "KINDS", "load_onnx"]

KINDS = {
    "conv": "Conv ConvTranspose", "linear": "Gemm", "matmul": "MatMul MatMulInteger Einsum",
    "norm": "BatchNormalization LayerNormalization InstanceNormalization GroupNormalization "
            "SimplifiedLayerNormalization RMSNormalization",
    "activation": "Relu LeakyRelu Sigmoid Tanh Gelu Elu Selu Softplus HardSigmoid HardSwish Mish Erf PRelu Clip",
    "softmax": "Softmax LogSoftmax", "pooling": "MaxPool AveragePool GlobalAveragePool GlobalMaxPool",
    "add": "Add Sum", "mul": "Mul Div", "concat": "Concat",
    "reshape": "Reshape Flatten Transpose Squeeze Unsqueeze Expand Slice Split Gather Shape Cast",
    "recurrent": "LSTM GRU RNN", "dropout": "Dropout", "attention": "Attention MultiHeadAttention",
}
_KIND = {op: kind for kind, ops in KINDS.items() for op in ops.split()}
_SYMBOLIC = {0: 1}            # a symbolic dimension: 1 in front (batch), SEQ_LEN elsewhere


def _onnx():
    try:
        import onnx
        return onnx
    except Exception as e:  # noqa: BLE001
        raise ModelImportError(f"ONNX files need the onnx package ({first_line(e)}); "
                               f"pip install 'neuroscape[onnx]'") from e


def _dims(type_proto) -> tuple[int, ...] | None:
    t = type_proto.tensor_type
    if not t.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") else _SYMBOLIC.get(i, SEQ_LEN)
                 for i, d in enumerate(t.shape.dim))


def _attr(a):
    from onnx import helper
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if hasattr(v, "dims"):                       # a tensor attribute: its shape
        return f"tensor {list(v.dims)}"
    if isinstance(v, (list, tuple)):
        return [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in v][:16]
    return v if isinstance(v, (int, float, str)) else str(v)[:60]


def _weight_bytes(model) -> int:
    from onnx import helper
    total = 0
    for t in model.graph.initializer:
        try:
            total += prod(t.dims) * np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
        except (KeyError, TypeError, ValueError):
            pass
    return total


def load_onnx(path: str | Path, weights: bool = True):
    """The ONNX ModelProto with shapes inferred; one clear line when the file is not a model.
    External data files (models over 2 GB) are read only with ``weights`` and when they fit in memory."""
    onnx = _onnx()
    path = Path(path)
    if not path.is_file():
        raise ModelImportError(f"no ONNX file at {path}; check the path")
    try:
        model = onnx.load(str(path), load_external_data=False)
        external = any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
        if weights and external:
            from engine.model.structure import fits_in_memory
            if fits_in_memory(_weight_bytes(model)):
                from onnx.external_data_helper import load_external_data_for_model
                load_external_data_for_model(model, str(path.parent))
    except Exception as e:  # noqa: BLE001 - truncated, not protobuf, missing external data
        raise ModelImportError(f"{path} is not a readable ONNX model ({first_line(e)}); re-export it "
                               f"(torch.onnx.export) or check its external data files") from e
    if not model.graph.node:
        raise ModelImportError(f"{path} has no nodes: not an ONNX model, or an empty one; re-export it")
    try:
        model = onnx.shape_inference.infer_shapes(model)
    except Exception:  # noqa: BLE001 - shapes then come from the run
        pass
    return model


class OnnxModel(nn.Module):
    """An ONNX file that records like a torch model (``record_graph``) and runs on onnxruntime."""

    def __init__(self, path: str | Path, weights: bool = True, proto=None) -> None:
        super().__init__()
        self.path = Path(path)
        self.proto = proto if proto is not None else load_onnx(self.path, weights)
        # weights left in external files (too big for memory, or not asked for): the graph alone
        self.graph_only = any(t.data_location == 1 for t in self.proto.graph.initializer)
        g = self.proto.graph
        self.init_shapes = {t.name: tuple(int(d) for d in t.dims) for t in g.initializer}
        consts = {o for n in g.node if n.op_type == "Constant" for o in n.output}
        self.weightlike = set(self.init_shapes) | consts
        for n in g.node:                        # nodes computing from weights alone are weights too
            if n.op_type != "Constant" and n.input and all(i in self.weightlike or not i for i in n.input):
                self.weightlike.update(n.output)
        self.shown = [n for n in g.node if any(o not in self.weightlike for o in n.output if o)]
        # parameters: float weights, also when they reach a node through Identity / Constant nodes
        floats = {1, 10, 11, 16}                  # FLOAT, FLOAT16, DOUBLE, BFLOAT16
        typed = {v.name: v.type for v in g.value_info}
        self.weight_sizes = {t.name: prod(t.dims) for t in g.initializer if t.data_type in floats}
        for n in g.node:
            for o in n.output:
                if o in self.weightlike and o not in self.weight_sizes and o in typed \
                        and typed[o].tensor_type.elem_type in floats:
                    dims = _dims(typed[o])
                    if dims is not None:
                        self.weight_sizes[o] = prod(dims)
        self.inputs = [i for i in g.input if i.name not in self.init_shapes]
        self._session = None
        self._ring: list[dict[str, np.ndarray]] = []    # live frames: output buffers onnxruntime writes into
        self._ring_inputs: list[tuple] = []             # ... for inputs of these shapes
        self._frames = 0

    @classmethod
    def from_bytes(cls, data: bytes, path: Path) -> "OnnxModel":
        """A model serialized in memory (``path`` names it)."""
        onnx = _onnx()
        proto = onnx.load_from_string(data)
        try:
            proto = onnx.shape_inference.infer_shapes(proto)
        except Exception:  # noqa: BLE001
            pass
        return cls(path, proto=proto)

    # ------------------------------------------------------------------ running
    def example(self) -> ExampleInputs:
        """Inputs of the shapes and types the graph declares (symbolic sizes: 1 for the batch, else
        SEQ_LEN); token ids in range 0..99."""
        from onnx import helper
        gen = torch.Generator().manual_seed(0)
        kw = {}
        for i in self.inputs:
            shape = _dims(i.type) or (1,)
            dtype = helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type)
            if np.issubdtype(dtype, np.integer):
                kw[i.name] = torch.randint(0, 100, shape, generator=gen).to(torch.from_numpy(np.zeros(0, dtype)).dtype)
            elif dtype == np.bool_:
                kw[i.name] = torch.ones(shape, dtype=torch.bool)
            else:
                kw[i.name] = torch.randn(shape, generator=gen).to(torch.from_numpy(np.zeros(0, dtype)).dtype)
        family = infer_family(list(kw.values()))
        return ExampleInputs((), kw, family)

    def session(self):
        """An onnxruntime session with every shown node's outputs as graph outputs (so none is fused away)."""
        if self._session is not None:
            return self._session
        try:
            import onnxruntime as ort
        except Exception as e:  # noqa: BLE001
            raise ModelImportError(f"values of ONNX models need onnxruntime ({first_line(e)}); pip install "
                                   f"'neuroscape[onnx]', or pass --structure for the graph alone") from e
        from onnx import helper
        m = type(self.proto)()
        m.CopyFrom(self.proto)
        have = {o.name for o in m.graph.output}
        known = {v.name: v for v in list(m.graph.value_info) + list(m.graph.output)}
        for n in self.shown:
            for o in n.output:
                if o and o not in have and o in known:
                    m.graph.output.append(known[o])
                    have.add(o)
                elif o and o not in have:
                    m.graph.output.append(helper.make_empty_tensor_value_info(o))
                    have.add(o)
        opts = ort.SessionOptions()
        # optimizations on: every shown node's output is a graph output, which no fusion may remove
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")   # idle threads leave the CPU
                                                                               # to the render thread
        try:
            self._session = ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - ops onnxruntime lacks, invalid graphs
            raise ModelImportError(f"onnxruntime cannot run {self.path.name} ({first_line(e)[:200]}); pass "
                                   f"--structure to see its graph without values") from e
        return self._session

    def run_all(self, inputs: ExampleInputs) -> dict[str, np.ndarray]:
        """Every exposed tensor of one run, by name."""
        sess = self.session()
        feed = {k: v.detach().cpu().numpy() for k, v in inputs.kwargs.items()}
        names = [o.name for o in sess.get_outputs()]
        try:
            outs = sess.run(names, feed)
        except Exception as e:  # noqa: BLE001
            raise ModelImportError(f"{self.path.name} failed on its input ({first_line(e)[:200]})") from e
        return dict(zip(names, outs))

    def run_bound(self, inputs: ExampleInputs, ring: int = 3) -> dict[str, np.ndarray]:
        """run_all for live frames: the outputs land in ``ring`` sets of buffers allocated once (a
        frame's arrays stay valid for ring - 1 more runs), so no run faults in fresh memory."""
        sess = self.session()
        feed = {k: np.ascontiguousarray(v.detach().cpu().numpy()) for k, v in inputs.kwargs.items()}
        shapes = [a.shape for a in feed.values()]
        if not self._ring or shapes != self._ring_inputs:
            first = self.run_all(inputs)        # shapes and types, then the buffers
            self._ring = [{k: np.empty_like(np.asarray(v)) for k, v in first.items()} for _ in range(ring)]
            self._ring_inputs = shapes
            return first
        bufs = self._ring[self._frames % len(self._ring)]
        self._frames += 1
        io = sess.io_binding()
        for k, v in feed.items():
            io.bind_cpu_input(k, v)
        for name, arr in bufs.items():
            io.bind_output(name, "cpu", 0, arr.dtype, list(arr.shape), arr.ctypes.data)
        try:
            sess.run_with_iobinding(io)
        except Exception as e:  # noqa: BLE001
            raise ModelImportError(f"{self.path.name} failed on its input ({first_line(e)[:200]})") from e
        return bufs

    def capture_layers(self, inputs: ExampleInputs, layers: dict) -> dict[int, torch.Tensor]:
        """A live frame: each of ``layers`` (id -> Layer of this model's graph) as batch item 0 of one run."""
        ran = self.run_bound(inputs)
        feeds = list(inputs.kwargs.values())
        out: dict[int, torch.Tensor] = {}
        for lid, layer in layers.items():
            site = layer.site or ()
            if site[:1] == ("onnx",) and site[1] in ran:
                a = np.asarray(ran[site[1]])
            elif site[:1] == ("input",) and site[1] < len(feeds):
                a = feeds[site[1]].detach().cpu().numpy()
            else:
                continue
            if not np.issubdtype(a.dtype, np.number):
                continue
            out[lid] = torch.from_numpy(np.ascontiguousarray(a[0] if a.ndim > 1 else a))
        return out

    def forward(self, **inputs):
        outs = self.run_all(ExampleInputs((), inputs, None))
        res = [torch.from_numpy(np.asarray(outs[o.name])) for o in self.proto.graph.output]
        return res[0] if len(res) == 1 else tuple(res)

    # ------------------------------------------------------------------ recording
    def record_graph(self, inputs: ExampleInputs, *, capture: bool = True, name: str | None = None,
                     values: bool = True) -> LayerGraph:
        """The LayerGraph: an input layer per graph input, a layer per shown node, data edges;
        ``values``: run onnxruntime for concrete shapes (and, with ``capture``, values)."""
        g = self.proto.graph
        values = values and not self.graph_only
        capture = capture and values
        ran = self.run_all(inputs) if values else {}
        shapes = {v.name: _dims(v.type) for v in list(g.value_info) + list(g.output) + list(g.input)}
        layers: list[Layer] = []
        producer: dict[str, int] = {}
        for i in self.inputs:
            t = inputs.kwargs.get(i.name)
            shape = tuple(t.shape) if t is not None else (shapes.get(i.name) or (1,))
            lid = len(layers)
            val = (t[0] if t.dim() > 1 else t).float().reshape(-1).numpy() if capture and t is not None else None
            layers.append(Layer(lid, i.name, "input", "input", shape, site=("input", lid), values=val))
            producer[i.name] = lid
        edges: list[Edge] = []
        linked: set[tuple[int, int]] = set()
        used: set[str] = set()
        for k, n in enumerate(self.shown):
            out = next((o for o in n.output if o), "")
            arr = ran.get(out)
            shape = tuple(arr.shape) if arr is not None else (shapes.get(out) or (1,))
            if not shape:
                shape = (1,)
            inits = [i for i in n.input if i in self.init_shapes]
            attrs = {"onnx_op": n.op_type, "domain": n.domain or "ai.onnx",
                     "inputs": [f"{i} {list(shapes.get(i) or self.init_shapes.get(i) or [])}" for i in n.input if i],
                     "outputs": [f"{o} {list(shapes.get(o) or (ran[o].shape if o in ran else []))}"
                                 for o in n.output if o],
                     "initializers": {i: list(self.init_shapes[i]) for i in inits},
                     **{a.name: _attr(a) for a in n.attribute}}
            lid = len(layers)
            val = None
            if capture and arr is not None and np.issubdtype(np.asarray(arr).dtype, np.number):
                a = np.asarray(arr)
                val = (a[0] if a.ndim > 1 else a).astype(np.float32).reshape(-1)
            lname = n.name or f"{n.op_type}_{k}"
            while lname in used:
                lname += "'"
            used.add(lname)
            layers.append(Layer(lid, lname, _KIND.get(n.op_type, "other"), n.op_type, shape,
                                params=int(sum(self.weight_sizes.get(i, 0) for i in n.input)),
                                dtype=str(np.asarray(arr).dtype) if arr is not None else "float32",
                                attrs=attrs, values=val, site=("onnx", out)))
            for i in n.input:
                src = producer.get(i)
                if src is not None and (src, lid) not in linked:
                    linked.add((src, lid))
                    edges.append(Edge(src, lid, "data"))
            for o in n.output:
                if o:
                    producer[o] = lid
        family = inputs.family or infer_family(list(inputs.kwargs.values()))
        graph = LayerGraph(name or self.path.stem, layers, edges,
                           [tuple(t.shape) for t in inputs.kwargs.values()], family, "cpu")
        if not values:
            graph.structure_only, graph.weight_bytes = True, 4 * sum(self.weight_sizes.values())
        return graph
