"""Where quantization costs accuracy: the SQNR of every layer's int8 output against the source
model's own tensor of the same name.

The source model (the float model, or a QDQ model as onnxruntime runs it) runs in onnxruntime with
every layer's output exposed (quantize/calibrate.py `observe`, the same mechanism calibration uses:
IR tensors carry their ONNX names). tinygen's golden reference (reference.run with keep_all) gives
every int8 activation on the same inputs; each is put back into the model's layout (channels-last
feature maps to NCHW), dequantized with its own scale and zero point, and compared.

A layer whose output is a tensor of tinygen's own (no ONNX counterpart) reports n/a. A tensor the
source model holds as int8/uint8 (a QDQ model's QuantizeLinear output, or a reshape of one) is
dequantized with the parameters of the QuantizeLinear that made it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import reference
from ..arith import dequantize
from ..errors import TinygenError
from ..frontend.loader import LoadedModel, load_model
from ..ir import Graph, model_channel_axis
from ..model import CompiledModel
from ..quantize.calibrate import observe
from ..verification import Inputs, inputs_label, load_inputs, sqnr_db

# ONNX ops that move int8 values without changing them (walked back to find a QuantizeLinear)
DATA_MOVEMENT = {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Identity"}


def onnx_name_of(graph: Graph, tensor: str) -> str:
    """The ONNX name of an IR tensor (a graph output may carry tinygen's own name)."""
    if tensor in graph.outputs and graph.onnx_outputs:
        return graph.onnx_outputs[graph.outputs.index(tensor)]
    return tensor


def source_feeds(model: CompiledModel, loaded: LoadedModel, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Inputs as the source model takes them: real values, or quantized for an int8/uint8 input."""
    feeds = {}
    for io in model.inputs:
        x = inputs[io["name"]]
        dtype = loaded.values[io["name"]].dtype
        if dtype in (np.int8, np.uint8):
            x = model.quantize(io, x)
            if dtype == np.uint8:
                x = (x.astype(np.int16) + 128).astype(np.uint8)
        feeds[io["name"]] = x
    return feeds


def quantize_linear_params(loaded: LoadedModel, name: str) -> tuple[float, int] | None:
    """(scale, zero point) of the QuantizeLinear behind an int8/uint8 tensor of the source model."""
    producers = {out: node for node in loaded.graph.node for out in node.output}
    node = producers.get(name)
    while node is not None and node.op_type in DATA_MOVEMENT:
        node = producers.get(node.input[0])
    if node is None or node.op_type != "QuantizeLinear" or len(node.input) < 2:
        return None
    scale = loaded.constants.get(node.input[1])
    zero = loaded.constants.get(node.input[2]) if len(node.input) > 2 else np.zeros(1, np.int8)
    if scale is None or zero is None or scale.size != 1:
        return None
    shift = 128 if zero.dtype == np.uint8 else 0
    return float(scale.ravel()[0]), int(zero.ravel()[0]) - shift


def source_values(values: np.ndarray, loaded: LoadedModel, name: str) -> np.ndarray | None:
    """The source model's values of a tensor as real numbers (None: an integer tensor without
    a QuantizeLinear to read its parameters from)."""
    dtype = loaded.values[name].dtype
    if dtype.kind == "f":
        return values.astype(np.float32)
    params = quantize_linear_params(loaded, name)
    if params is None:
        return None
    integers = values.astype(np.int32) - (128 if dtype == np.uint8 else 0)
    return dequantize(integers, params[0], params[1])


def layer_sqnr(model: CompiledModel, input_path: Inputs = None) -> dict[str, Any]:
    """{"reference", "samples", "layers": [{"sqnr_db", "note"} per layer]} (sqnr_db None when n/a)."""
    graph = model.graph
    onnx_file = model.out_dir / ".tinygen" / "model.onnx"
    if not onnx_file.exists():
        # A .tflite source is already int8 with TFLM's arithmetic, which tinygen reproduces exactly
        # (`tinygen verify` compares with tflite-micro): there is no float reference to measure against.
        note = ("n/a: the source is an int8 .tflite (bit-exact with tflite-micro; `tinygen verify` checks it)"
                if (model.out_dir / ".tinygen" / "model.tflite").exists()
                else "n/a: no source model kept (the graph was built in Python)")
        return {"reference": None, "samples": 0, "layers": [{"sqnr_db": None, "note": note} for _ in graph.nodes]}
    loaded = load_model(onnx_file)
    inputs = load_inputs(model, input_path)
    count = next(iter(inputs.values())).shape[0]
    quantized = [model.to_storage(io, model.quantize(io, inputs[io["name"]])) for io in model.inputs]
    _, activations = reference.run(graph, quantized, keep_all=True)
    names = {index: onnx_name_of(graph, node.outputs[0]) for index, node in enumerate(graph.nodes)}
    wanted = sorted({name for name in names.values() if name in loaded.values})
    try:
        observed = observe(loaded, wanted, source_feeds(model, loaded, inputs))
    except TinygenError as exc:  # the comparison informs; it never fails the report
        note = f"n/a: {exc.message}"
        return {"reference": None, "samples": 0, "layers": [{"sqnr_db": None, "note": note} for _ in graph.nodes]}
    quantized_model = any(node.op_type == "DequantizeLinear" for node in loaded.graph.node)
    # --equalize rescaled the channels of some tensors (quantize/calibrate_corrections.py): compare like with like
    equalized = (model.manifest.get("calibration") or {}).get("equalized") or {}
    layers: list[dict[str, Any]] = []
    for index, node in enumerate(graph.nodes):
        tensor = graph.tensors[node.outputs[0]]
        name = names[index]
        theirs = source_values(np.concatenate(observed[name]), loaded, name) if name in observed else None
        if theirs is not None and name in equalized and theirs.ndim >= 2:
            shape = [1] * theirs.ndim
            shape[1] = -1
            theirs = theirs / np.asarray(equalized[name], np.float32).reshape(shape)
        if theirs is not None and "kept_channels" in node.attrs and theirs.ndim >= 2:
            # constant channels the compiler removed (passes/remove_constant_channels.py): compare the rest
            theirs = np.take(theirs, node.attrs["kept_channels"], axis=model_channel_axis(tensor))
        if theirs is None or tensor.quant is None or not tensor.quant.is_per_tensor:
            layers.append({"sqnr_db": None, "note": "n/a: no tensor of this name in the source model"})
            continue
        ours_q = tensor.layout.to_onnx(activations[node.outputs[0]], tensor.onnx_shape or tensor.shape)
        ours = dequantize(ours_q, tensor.quant.scale_value, tensor.quant.zero_point_value)
        if ours.size != theirs.size:
            layers.append({"sqnr_db": None, "note": f"n/a: shapes differ ({list(theirs.shape)})"})
            continue
        value = sqnr_db(theirs.reshape(ours.shape), ours)
        layers.append({"sqnr_db": None if np.isinf(value) else round(float(value), 2),
                       "note": "identical" if np.isinf(value) else None})
    reference_name = ("the QDQ model in onnxruntime (float arithmetic between its quantize steps)"
                      if quantized_model else "the float model in onnxruntime")
    source = inputs_label(input_path)
    if input_path is None:
        compiled_without_data = (model.manifest.get("calibration") or {}).get("samples") == 0
        source = ("random inputs kept at compile time, which had no data: pass --input for real ones"
                  if compiled_without_data else "the samples kept at compile time")
    return {"reference": reference_name, "samples": int(count), "inputs": source, "layers": layers}
