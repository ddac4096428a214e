"""Build small .tflite flatbuffers in the tests, with the `tflite` package's generated builders
(no TensorFlow): one operator with chosen quantization parameters, run by tflite-micro and by
tinygen. Also broken variants (several subgraphs) the frontend must refuse.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
import tflite

TYPES = {"float32": 0, "int32": 2, "uint8": 3, "int64": 4, "int16": 7, "int8": 9}
CODES = {name: code for code, name in tflite.utils.BUILTIN_OPCODE2NAME.items()}


@dataclass
class T:
    """A tensor: run-time when data is None."""

    name: str
    shape: tuple[int, ...]
    type: str = "int8"
    scale: list[float] | None = None
    zero_point: list[int] | None = None
    axis: int = 0
    data: np.ndarray | None = None
    variable: bool = False  # a state the interpreter keeps between invocations (an LSTM's)


@dataclass
class Op:
    op: str
    inputs: list[int]
    outputs: list[int]
    options: str | None = None  # e.g. "Conv2DOptions"
    fields: dict[str, Any] = field(default_factory=dict)  # e.g. {"Padding": 0, "StrideW": 1}


def _table(b: flatbuffers.Builder, name: str, fields: dict[str, Any]) -> int:
    module = importlib.import_module(f"tflite.{name}")
    getattr(module, f"{name}Start")(b)
    for key, value in fields.items():
        getattr(module, f"{name}Add{key}")(b, value)
    return getattr(module, f"{name}End")(b)


def _ints(b: flatbuffers.Builder, values: list[int]) -> int:
    return b.CreateNumpyVector(np.asarray(values, np.int32))


def build(tensors: list[T], ops: list[Op], inputs: list[int], outputs: list[int], subgraphs: int = 1) -> bytes:
    b = flatbuffers.Builder(1024)
    buffers = [_table(b, "Buffer", {})]  # buffer 0: the empty one run-time tensors point to
    buffer_of = {}
    for i, t in enumerate(tensors):
        if t.data is not None:
            data = b.CreateNumpyVector(np.frombuffer(np.ascontiguousarray(t.data).tobytes(), np.uint8))
            buffer_of[i] = len(buffers)
            buffers.append(_table(b, "Buffer", {"Data": data}))
    tensor_offsets = []
    for i, t in enumerate(tensors):
        name = b.CreateString(t.name)
        shape = _ints(b, list(t.shape))
        quant = None
        if t.scale is not None:
            scale = b.CreateNumpyVector(np.asarray(t.scale, np.float32))
            zero = b.CreateNumpyVector(np.asarray(t.zero_point or [0] * len(t.scale), np.int64))
            quant = _table(b, "QuantizationParameters", {"Scale": scale, "ZeroPoint": zero,
                                                         "QuantizedDimension": t.axis})
        fields = {"Shape": shape, "Type": TYPES[t.type], "Buffer": buffer_of.get(i, 0), "Name": name}
        if quant is not None:
            fields["Quantization"] = quant
        if t.variable:
            fields["IsVariable"] = True
        tensor_offsets.append(_table(b, "Tensor", fields))
    names = sorted({op.op for op in ops})
    op_offsets = []
    for op in ops:
        ins, outs = _ints(b, op.inputs), _ints(b, op.outputs)
        fields = {"OpcodeIndex": names.index(op.op), "Inputs": ins, "Outputs": outs}
        if op.options is not None:
            fields["BuiltinOptionsType"] = getattr(tflite.BuiltinOptions, op.options)
            fields["BuiltinOptions"] = _table(b, op.options, op.fields)
        op_offsets.append(_table(b, "Operator", fields))

    def vector(offsets: list[int]) -> int:
        b.StartVector(4, len(offsets), 4)
        for offset in reversed(offsets):
            b.PrependUOffsetTRelative(offset)
        return b.EndVector()

    tensors_vector, ops_vector = vector(tensor_offsets), vector(op_offsets)
    graph_inputs, graph_outputs = _ints(b, inputs), _ints(b, outputs)
    graphs = [_table(b, "SubGraph", {"Tensors": tensors_vector, "Inputs": graph_inputs, "Outputs": graph_outputs,
                                     "Operators": ops_vector}) for _ in range(subgraphs)]
    codes = [_table(b, "OperatorCode", {"DeprecatedBuiltinCode": min(CODES[n], 127), "BuiltinCode": CODES[n],
                                        "Version": 1}) for n in names]
    model = _table(b, "Model", {"Version": 3, "OperatorCodes": vector(codes), "Subgraphs": vector(graphs),
                                "Description": b.CreateString("tinygen test"), "Buffers": vector(buffers)})
    b.Finish(model, file_identifier=b"TFL3")
    return bytes(b.Output())


def tflite_micro(model: bytes, x: np.ndarray, arena_size: int | None = None) -> np.ndarray:
    """Run a batch through the tflite-micro interpreter (one input, one output), each sample from a fresh
    state (reset() sets variable tensors to their zero point: an LSTM's state otherwise carries over);
    `arena_size`: the interpreter's arena (default: 1 MiB, or 10x the model's bytes if larger)."""
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_bytes(model, arena_size=arena_size or max(1 << 20, 10 * len(model)))
    outputs = []
    for sample in x:
        interpreter.reset()
        interpreter.set_input(sample[None], 0)
        interpreter.invoke()
        outputs.append(np.array(interpreter.get_output(0)))
    return np.concatenate(outputs)
