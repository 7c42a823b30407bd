"""Builds an ONNX graph of a sentence-transformers BERT encoder straight from its weights.

Why not `torch.onnx.export`: the export has to run where answers are served, and the lean
install has no torch. A BERT encoder is a short, fixed list of ONNX operators, so the graph is
written here from the model's `config.json` and `model.safetensors` with the `onnx` package
alone. It reproduces transformers' `BertModel` (absolute positions, post-LayerNorm, erf GELU,
additive attention mask of float32's minimum); pooling and normalisation stay outside the
graph, in `askdesk.retrieval.onnx_embed`, as the model's `modules.json` says. Anything else (another
architecture, pickled `.bin` weights, a Dense head) raises `NotExportable` with the reason,
and the caller falls back to sentence-transformers.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

OPSET = 17  # LayerNormalization is in the default domain from opset 17 on
# what the graph's inputs are called; the runner feeds exactly these
INPUTS = ("input_ids", "token_type_ids", "position_ids", "mask_bias")
OUTPUT = "last_hidden_state"
GRAPH_FILE, WEIGHTS_FILE = "model.onnx", "model.onnx.data"
_ACTIVATIONS = {"gelu", "gelu_new", "gelu_pytorch_tanh", "relu"}
# the sentence-transformers modules whose effect the runner reproduces
KNOWN_MODULES = {
    "sentence_transformers.models.Transformer",
    "sentence_transformers.models.Pooling",
    "sentence_transformers.models.Normalize",
    # sentence-transformers 5+ spells them by their new home as well
    "sentence_transformers.base.modules.Transformer",
    "sentence_transformers.base.modules.Pooling",
    "sentence_transformers.base.modules.Normalize",
}


class NotExportable(Exception):
    """This model can't be written as an ONNX graph here; the message says why (one line)."""


@dataclass(frozen=True)
class BertShape:
    """The few `config.json` fields the graph depends on."""

    hidden: int
    heads: int
    layers: int
    eps: float
    activation: str

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> BertShape:
        if config.get("model_type") != "bert":
            raise NotExportable(f"model_type {config.get('model_type')!r} is not bert")
        if config.get("position_embedding_type", "absolute") != "absolute":
            raise NotExportable("only absolute position embeddings are supported")
        act = str(config.get("hidden_act", "gelu"))
        if act not in _ACTIVATIONS:
            raise NotExportable(f"activation {act!r} is not supported")
        hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])
        if hidden % heads:
            raise NotExportable("hidden_size is not a multiple of num_attention_heads")
        return cls(hidden, heads, int(config["num_hidden_layers"]),
                   float(config.get("layer_norm_eps", 1e-12)), act)


def load_weights(folder: Path) -> dict[str, np.ndarray]:
    """The encoder's tensors by BertModel name (a `bert.` prefix, as BertFor* saves, dropped)."""
    path = folder / "model.safetensors"
    if not path.is_file():
        raise NotExportable("no model.safetensors (pickled weights need torch to read)")
    # lean: onnx, safetensors load only to export a model, never to answer
    from safetensors.numpy import load_file

    try:
        raw = load_file(str(path))
    except Exception as exc:  # a truncated or foreign file: the library raises several types
        raise NotExportable(f"model.safetensors unreadable: {str(exc)[:120]}") from exc
    out = {}
    for name, arr in raw.items():
        name = name.removeprefix("bert.")
        if arr.dtype != np.float32 and arr.dtype.kind == "f":
            arr = arr.astype(np.float32)
        out[name] = arr
    return out


def build_model(folder: Path) -> Any:
    """The ONNX ModelProto for the encoder in `folder` (a sentence-transformers folder whose
    first module is the Transformer at its root)."""
    try:
        config = json.loads((folder / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise NotExportable(f"config.json unreadable: {exc}") from exc
    shape = BertShape.from_config(config)
    weights = load_weights(folder)
    try:
        return _Graph(shape, weights).build()
    except KeyError as exc:
        raise NotExportable(f"weight {exc.args[0]} missing: not a BertModel layout") from exc


class _Graph:
    """Accumulates nodes and initializers; one method per BERT block."""

    def __init__(self, shape: BertShape, weights: dict[str, np.ndarray]) -> None:
        self.s = shape
        self.w = weights
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self._n = 0

    def _name(self, hint: str) -> str:
        self._n += 1
        return f"{hint}_{self._n}"

    def const(self, name: str, value: np.ndarray) -> str:
        # `onnx` (protobuf model building) is imported only while exporting, never to answer
        # lean: onnx, safetensors load only to export a model, never to answer
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], **attrs: Any) -> str:
        # lean: onnx, safetensors load only to export a model, never to answer
        from onnx import helper  # exporting only, as in const()

        out = self._name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def linear(self, x: str, prefix: str) -> str:
        """x @ W.T + b, W as torch's Linear stores it ([out, in])."""
        w = self.const(f"{prefix}.weight_t", self.w[f"{prefix}.weight"].T)
        b = self.const(f"{prefix}.bias", self.w[f"{prefix}.bias"])
        return self.op("Add", [self.op("MatMul", [x, w]), b])

    def layer_norm(self, x: str, prefix: str) -> str:
        g = self.const(f"{prefix}.weight", self.w[f"{prefix}.weight"])
        b = self.const(f"{prefix}.bias", self.w[f"{prefix}.bias"])
        return self.op("LayerNormalization", [x, g, b], axis=-1, epsilon=self.s.eps)

    def activation(self, x: str) -> str:
        act = self.s.activation
        if act == "relu":
            return self.op("Relu", [x])
        half = self.const(self._name("half"), np.array(0.5, np.float32))
        one = self.const(self._name("one"), np.array(1.0, np.float32))
        if act == "gelu":  # exact: 0.5·x·(1 + erf(x/√2))
            inv = self.const(self._name("inv_sqrt2"), np.array(1 / math.sqrt(2), np.float32))
            inner = self.op("Erf", [self.op("Mul", [x, inv])])
        else:  # tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
            c = self.const(self._name("c"), np.array(0.044715, np.float32))
            k = self.const(self._name("k"), np.array(math.sqrt(2 / math.pi), np.float32))
            cube = self.op("Mul", [self.op("Mul", [x, x]), x])
            inner = self.op("Tanh", [self.op("Mul", [k, self.op("Add", [x, self.op(
                "Mul", [c, cube])])])])
        return self.op("Mul", [self.op("Mul", [x, half]), self.op("Add", [inner, one])])

    def attention(self, x: str, mask_bias: str, prefix: str) -> str:
        heads, dim = self.s.heads, self.s.hidden // self.s.heads
        split = self.const(self._name("split"), np.array([0, 0, heads, dim], np.int64))
        merge = self.const(self._name("merge"), np.array([0, 0, heads * dim], np.int64))

        def heads_of(name: str, perm: list[int]) -> str:
            y = self.linear(x, f"{prefix}.self.{name}")
            return self.op("Transpose", [self.op("Reshape", [y, split])], perm=perm)

        q = heads_of("query", [0, 2, 1, 3])  # [B, H, S, D]
        k = heads_of("key", [0, 2, 3, 1])  # [B, H, D, S]
        v = heads_of("value", [0, 2, 1, 3])
        scale = self.const(self._name("scale"), np.array(1 / math.sqrt(dim), np.float32))
        scores = self.op("Add", [self.op("Mul", [self.op("MatMul", [q, k]), scale]), mask_bias])
        probs = self.op("Softmax", [scores], axis=-1)
        ctx = self.op("Transpose", [self.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
        out = self.linear(self.op("Reshape", [ctx, merge]), f"{prefix}.output.dense")
        return self.layer_norm(self.op("Add", [out, x]), f"{prefix}.output.LayerNorm")

    def layer(self, x: str, mask_bias: str, i: int) -> str:
        p = f"encoder.layer.{i}"
        h = self.attention(x, mask_bias, f"{p}.attention")
        inner = self.activation(self.linear(h, f"{p}.intermediate.dense"))
        out = self.linear(inner, f"{p}.output.dense")
        return self.layer_norm(self.op("Add", [out, h]), f"{p}.output.LayerNorm")

    def build(self) -> Any:
        # lean: onnx, safetensors load only to export a model, never to answer
        from onnx import TensorProto, helper  # exporting only, as in const()

        e = "embeddings"
        words = self.const("word_embeddings", self.w[f"{e}.word_embeddings.weight"])
        positions = self.const("position_embeddings", self.w[f"{e}.position_embeddings.weight"])
        types = self.const("token_type_embeddings", self.w[f"{e}.token_type_embeddings.weight"])
        ids, type_ids, pos_ids, mask_bias = INPUTS
        x = self.op("Add", [
            self.op("Add", [self.op("Gather", [words, ids]), self.op("Gather", [types, type_ids])]),
            self.op("Gather", [positions, pos_ids]),
        ])
        x = self.layer_norm(x, f"{e}.LayerNorm")
        for i in range(self.s.layers):
            x = self.layer(x, mask_bias, i)
        self.nodes.append(helper.make_node("Identity", [x], [OUTPUT]))
        seq = ["batch", "seq"]
        graph = helper.make_graph(
            self.nodes,
            "sentence_encoder",
            [
                helper.make_tensor_value_info(ids, TensorProto.INT64, seq),
                helper.make_tensor_value_info(type_ids, TensorProto.INT64, seq),
                helper.make_tensor_value_info(pos_ids, TensorProto.INT64, seq),
                helper.make_tensor_value_info(mask_bias, TensorProto.FLOAT,
                                              ["batch", 1, 1, "seq"]),
            ],
            [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT,
                                           [*seq, self.s.hidden])],
            self.inits,
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="askdesk"
        )
        model.ir_version = 8  # readable by every onnxruntime that knows opset 17
        return model


def save_with_external_weights(model: Any, folder: Path) -> list[Path]:
    """Write `model.onnx` (the graph) and `model.onnx.data` (the weights) into `folder`.

    Separate weights are memory-mapped by onnxruntime: a session costs ~60 MB instead of
    ~150 MB, since rows of the word-embedding table no question touches stay on disk."""
    # lean: onnx, safetensors load only to export a model, never to answer
    from onnx import external_data_helper, save_model  # exporting only

    external_data_helper.convert_model_to_external_data(
        model, all_tensors_to_one_file=True, location=WEIGHTS_FILE, size_threshold=1024
    )
    save_model(model, str(folder / GRAPH_FILE))
    return [folder / GRAPH_FILE, folder / WEIGHTS_FILE]


def serialise(model: Any) -> bytes:
    """The model as one blob, weights inside: for sessions that can't use a folder."""
    return model.SerializeToString()
