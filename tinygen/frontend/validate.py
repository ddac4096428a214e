"""The validation stage: everything wrong with a model file, found before anything is computed.

The loader runs it twice. `check_proto` reads the raw protobuf before the ONNX checker, onnx's
converters or numpy touch it, so a malformed file gives one message listing every problem instead of
an exception from deep inside a library: each constant (known element type, data size matching its
dims, finite, within the sizes a microcontroller can hold), each float attribute (finite), the graph
(has outputs, unique names, every value defined once and before it is read) and the constant operands
whose rank and shape an op fixes (convolution and Gemm weights, biases, BatchNormalization
statistics, quantization scales). `check_loaded` runs after shape inference and constant folding, when
every value has a shape: activations within the size limits, weights that fit their input.
`check_ranges` checks the calibration ranges (the float model run on the user's data) before
quantization turns them into scales.

`tinygen inspect` and `tinygen compile` share this stage through the loader, so they never disagree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper

from ..errors import DataError, ModelError, Problem
from .loaded import LoadedModel

# Size limits: far above any microcontroller (the largest have a few MB of SRAM and 16 MB of flash),
# low enough to refuse in milliseconds what would otherwise take minutes and gigabytes.
MAX_VALUE_ELEMENTS = 1 << 22  # one activation tensor of a sample: 4 Mi int8 bytes
MAX_CONSTANT_ELEMENTS = 1 << 24  # one constant (16 Mi int8 weights)
MAX_TOTAL_CONSTANT_ELEMENTS = 1 << 25  # all constants together
MAX_MAGNITUDE = 1e30  # beyond this a float weight or attribute overflows float32 products (3.4e38)
MAX_PROBLEMS = 20  # listed in full; more are counted

# Element types a constant may have, and the TensorProto field holding it when not in raw_data.
_STORAGE: dict[int, str] = {
    onnx.TensorProto.FLOAT: "float_data", onnx.TensorProto.DOUBLE: "double_data",
    onnx.TensorProto.FLOAT16: "int32_data", onnx.TensorProto.INT8: "int32_data",
    onnx.TensorProto.UINT8: "int32_data", onnx.TensorProto.INT16: "int32_data",
    onnx.TensorProto.UINT16: "int32_data", onnx.TensorProto.INT32: "int32_data",
    onnx.TensorProto.BOOL: "int32_data", onnx.TensorProto.INT64: "int64_data",
    onnx.TensorProto.UINT32: "uint64_data", onnx.TensorProto.UINT64: "uint64_data",
}
_FLOAT_TYPES = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16)
_STANDARD = ("", "ai.onnx")


def raise_problems(path: str, problems: list[Problem]) -> None:
    if not problems:
        return
    shown = problems[:MAX_PROBLEMS]
    more = len(problems) - len(shown)
    if more:
        shown.append(Problem(f"... and {more} more"))
    count = len(problems)
    raise ModelError(path, f"{count} problem{'s' if count != 1 else ''} in the model:", shown,
                     hint="Re-export the model; tinygen cannot compile a model with these problems.")


def element_type_name(elem_type: int) -> str:
    names: dict[int, str] = {int(v): k for k, v in onnx.TensorProto.DataType.items()}
    return names.get(elem_type, f"unknown element type {elem_type}")


def _node_label(node: onnx.NodeProto) -> str:
    return node.name or f"<unnamed {node.op_type}>"


def _tensor_problems(tensor: onnx.TensorProto, what: str, allow_infinite: bool = False) -> Iterator[str]:
    """Problems of one constant tensor (an initializer or a tensor attribute); none means that
    numpy_helper.to_array reads it into an array of its dims."""
    if tensor.data_location == onnx.TensorProto.EXTERNAL and not tensor.HasField("raw_data"):
        yield f"{what}: its data is in an external file that was not loaded"
        return
    dims = list(tensor.dims)
    if any(d < 0 for d in dims):
        yield f"{what}: negative dimension in {dims}"
        return
    count = math.prod(dims)
    if count > MAX_CONSTANT_ELEMENTS:
        yield (f"{what}: {count:,} elements ({dims}); a microcontroller model holds at most "
               f"{MAX_CONSTANT_ELEMENTS:,} per constant")
        return
    if tensor.data_type not in _STORAGE:
        if tensor.data_type in onnx.TensorProto.DataType.values():
            yield f"{what}: element type {element_type_name(tensor.data_type)} is not supported for constants"
        else:
            yield f"{what}: unknown element type {tensor.data_type}"
        return
    itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize
    if tensor.HasField("raw_data"):
        size = len(tensor.raw_data)
        if size != count * itemsize:
            yield f"{what}: {size} bytes of data for dims {dims} ({count * itemsize} expected)"
            return
    else:
        stored = len(getattr(tensor, _STORAGE[tensor.data_type]))
        if stored != count:
            yield f"{what}: {stored} values for dims {dims} ({count} expected)"
            return
    if tensor.data_type in _FLOAT_TYPES:
        array = numpy_helper.to_array(tensor)
        yield from _finite_problems(array, what, allow_infinite)


def _finite_problems(array: np.ndarray, what: str, allow_infinite: bool = False) -> Iterator[str]:
    values = np.asarray(array, dtype=np.float64)
    nan = int(np.count_nonzero(np.isnan(values)))
    if nan:
        yield f"{what}: {nan} NaN value(s)"
    if allow_infinite:
        return
    huge = int(np.count_nonzero(np.abs(values[~np.isnan(values)]) > MAX_MAGNITUDE))
    if huge:
        yield f"{what}: {huge} infinite or huge value(s) (beyond ±{MAX_MAGNITUDE:g})"


def _attribute_tensors(node: onnx.NodeProto) -> Iterator[tuple[str, onnx.TensorProto]]:
    for attr in node.attribute:
        if attr.type == onnx.AttributeProto.TENSOR:
            yield attr.name, attr.t
        elif attr.type == onnx.AttributeProto.TENSORS:
            for k, t in enumerate(attr.tensors):
                yield f"{attr.name}[{k}]", t


def _unbounded_clip(node: onnx.NodeProto, position: int | str) -> bool:
    """A Clip bound of ±inf (or ±FLT_MAX) on its own side means 'no bound', as exporters write it."""
    return node.op_type == "Clip" and position in (1, 2, "min", "max")


def check_proto(path: str, model: onnx.ModelProto) -> None:
    """Problems of the raw file, all at once (ModelError), before any library reads the values."""
    graph = model.graph
    problems: list[Problem] = []
    constants: dict[str, onnx.TensorProto] = {}
    clip_bounds = {name for node in graph.node if node.op_type == "Clip" for name in node.input[1:3] if name}
    total = 0
    for tensor in graph.initializer:
        what = f"initializer '{tensor.name}'"
        found = list(_tensor_problems(tensor, what, allow_infinite=tensor.name in clip_bounds))
        problems += [Problem(reason) for reason in found]
        if not found:
            constants[tensor.name] = tensor
            total += math.prod(tensor.dims)
    if total > MAX_TOTAL_CONSTANT_ELEMENTS:
        problems.append(Problem(f"the constants hold {total:,} elements; a microcontroller model holds at most "
                                f"{MAX_TOTAL_CONSTANT_ELEMENTS:,}"))
    if len(graph.sparse_initializer):
        problems.append(Problem("sparse initializers are not supported"))
    if not graph.output:
        problems.append(Problem("the graph has no outputs: there is nothing to compute",
                                hint="export the model with its outputs"))
    for value in [*graph.input, *graph.output]:
        elem_type = value.type.tensor_type.elem_type if value.type.HasField("tensor_type") else 0
        if elem_type and elem_type not in onnx.TensorProto.DataType.values():
            problems.append(Problem(f"graph {'input' if value in graph.input else 'output'} '{value.name}' has an "
                                    f"unknown element type {elem_type}"))
    problems += _graph_problems(graph)
    for node in graph.node:
        label, op = _node_label(node), node.op_type
        for name, tensor in _attribute_tensors(node):
            found = list(_tensor_problems(tensor, f"attribute '{name}'"))
            problems += [Problem(reason, label, op) for reason in found]
            if node.op_type == "Constant" and name == "value" and node.output and not found:
                constants.setdefault(node.output[0], tensor)
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.SPARSE_TENSOR:
                problems.append(Problem(f"attribute '{attr.name}': sparse tensors are not supported", label, op))
            floats = ([attr.f] if attr.type == onnx.AttributeProto.FLOAT
                      else list(attr.floats) if attr.type == onnx.AttributeProto.FLOATS else [])
            if floats:
                for reason in _finite_problems(np.array(floats), f"attribute '{attr.name}'",
                                               allow_infinite=_unbounded_clip(node, attr.name)):
                    problems.append(Problem(reason, label, op))
        if node.domain in _STANDARD:
            arrays = {}
            for position, name in enumerate(node.input):
                if name in constants:
                    arrays[position] = numpy_helper.to_array(constants[name])
            for reason in _operand_problems(node, arrays):
                problems.append(Problem(reason, label, op))
    raise_problems(path, problems)


def _graph_problems(graph: onnx.GraphProto) -> Iterator[Problem]:
    """Unique names, every value defined once and before it is read (topological order)."""
    defined: set[str] = set()
    for value in graph.input:
        if value.name in defined:
            yield Problem(f"graph input '{value.name}' is listed twice")
        defined.add(value.name)
    defined |= {t.name for t in graph.initializer}
    produced_by: dict[str, str] = {}
    later = {out for node in graph.node for out in node.output if out}
    names: dict[str, int] = {}
    for node in graph.node:
        if node.name:
            names[node.name] = names.get(node.name, 0) + 1
    for name, count in names.items():
        if count > 1:
            yield Problem(f"{count} nodes are named '{name}'; node names must be unique",
                          hint="give every node its own name (onnx.helper / the exporter)")
    for node in graph.node:
        label = _node_label(node)
        for name in node.input:
            if not name or name in defined:
                continue
            if name in later:
                yield Problem(f"reads '{name}' before the node that computes it: the nodes are not in "
                              "topological order", label, node.op_type)
            else:
                yield Problem(f"reads '{name}', which no node, graph input or initializer defines",
                              label, node.op_type)
        for name in node.output:
            if not name:
                continue
            if name in produced_by or name in {v.name for v in graph.input}:
                first = produced_by.get(name, "a graph input")
                yield Problem(f"writes '{name}', which {first} already defines", label, node.op_type)
            produced_by[name] = label
            defined.add(name)
    outputs: set[str] = set()
    for value in graph.output:
        if value.name in outputs:
            yield Problem(f"graph output '{value.name}' is listed twice")
        outputs.add(value.name)
        if value.name not in defined:
            yield Problem(f"graph output '{value.name}' is not computed by any node")


def _rank(array: np.ndarray, expected: Iterable[int], what: str) -> str | None:
    expected = tuple(expected)
    if array.ndim in expected:
        return None
    wanted = " or ".join(map(str, expected))
    return f"{what} has rank {array.ndim} (shape {list(array.shape)}); the op needs rank {wanted}"


def _attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    for attr in node.attribute:
        if attr.name == name:
            return helper.get_attribute_value(attr)
    return default


def _operand_problems(node: onnx.NodeProto, arrays: dict[int, np.ndarray]) -> Iterator[str]:
    """Constant operands whose rank or shape the op fixes (those tinygen would read as weights)."""
    op = node.op_type
    if op in ("Conv", "ConvTranspose") and 1 in arrays:
        w = arrays[1]
        if w.ndim < 3:
            yield f"the weights have rank {w.ndim} (shape {list(w.shape)}); {op} needs [C_out, C_in/group, *kernel]"
            return
        group = _attr(node, "group", 1)
        if not isinstance(group, int) or group < 1:
            yield f"group={group}; it must be a positive integer"
            return
        kernel = _attr(node, "kernel_shape")
        if kernel is not None and list(kernel) != list(w.shape[2:]):
            yield f"kernel_shape {list(kernel)} does not match the weights' shape {list(w.shape)}"
        outputs = w.shape[0] if op == "Conv" else w.shape[1] * group
        if op == "Conv" and w.shape[0] % group:
            yield f"{w.shape[0]} output channels do not divide into group={group}"
        if 2 in arrays:
            b = arrays[2]
            if b.ndim != 1 or b.shape[0] != outputs:
                yield f"the bias has shape {list(b.shape)}; the weights give {outputs} output channels"
    elif op == "BatchNormalization":
        stats = [arrays.get(k) for k in range(1, 5)]
        known = [a for a in stats if a is not None]
        for k, a in enumerate(stats):
            if a is not None and a.ndim != 1:
                yield f"{('scale', 'bias', 'mean', 'variance')[k]} has shape {list(a.shape)}; it must be [C]"
        if known and all(a.ndim == 1 for a in known) and len({a.shape[0] for a in known}) > 1:
            yield f"scale, bias, mean and variance have different lengths {[a.shape[0] for a in known]}"
        var = stats[3]
        epsilon = _attr(node, "epsilon", 1e-5)
        if var is not None and np.any(var.astype(np.float64) + float(epsilon) <= 0):
            yield "the variance plus epsilon is not positive: the normalization divides by its square root"
    elif op == "Gemm":
        if 1 in arrays and (problem := _rank(arrays[1], (2,), "the matrix B")):
            yield problem
        if 2 in arrays and arrays[2].ndim > 2:
            yield f"the bias C has rank {arrays[2].ndim}; Gemm takes a bias of rank 2 at most"
    elif op == "MatMul" and 1 in arrays and arrays[1].ndim == 0:
        yield "the constant operand is a scalar; MatMul needs rank 1 or more"
    elif op in ("QuantizeLinear", "DequantizeLinear") and 1 in arrays:
        scale = arrays[1].astype(np.float64)
        if scale.ndim > 1:
            yield f"the scale has rank {scale.ndim}; it must be a scalar or a vector (per axis)"
        elif np.any(~(scale > 0)) or np.any(scale > MAX_MAGNITUDE):
            yield "the scale must be positive and finite"
        # one value each is one per-tensor pair whatever the ranks ([] and [1]: onnxruntime's quantizer
        # writes both); otherwise the two must match element for element
        if 2 in arrays and arrays[2].shape != arrays[1].shape and not (arrays[2].size == arrays[1].size == 1):
            yield f"the zero point has shape {list(arrays[2].shape)}, the scale {list(arrays[1].shape)}"


def check_loaded(loaded: LoadedModel) -> None:
    """After shape inference and folding: every value within the size limits, weights fitting the input
    they multiply."""
    problems: list[Problem] = []
    producer = {out: node for node in loaded.graph.node for out in node.output}
    for name, info in loaded.values.items():
        count = math.prod(info.shape)  # the batch is 1 by now
        if count == 0:
            node = producer.get(name)
            problems.append(Problem(f"value '{name}' has the empty shape {list(info.shape)}: nothing to compute "
                                    "(a window larger than its padded input, a zero-sized input?)",
                                    _node_label(node) if node is not None else None,
                                    node.op_type if node is not None else None))
            continue
        if count > MAX_VALUE_ELEMENTS:
            node = producer.get(name)
            where = f"value '{name}'" if node is not None else f"input '{name}'"
            problems.append(Problem(f"{where} has shape {list(info.shape)}: {count:,} elements; a "
                                    f"microcontroller model holds at most {MAX_VALUE_ELEMENTS:,} per tensor",
                                    _node_label(node) if node is not None else None,
                                    node.op_type if node is not None else None))
    for name, array in loaded.constants.items():
        if array.size > MAX_CONSTANT_ELEMENTS and name in {i for n in loaded.graph.node for i in n.input}:
            problems.append(Problem(f"constant '{name}' has {array.size:,} elements ({list(array.shape)}); at most "
                                    f"{MAX_CONSTANT_ELEMENTS:,} per constant"))
    for node in loaded.graph.node:
        if node.op_type not in ("Conv", "ConvTranspose") or len(node.input) < 2:
            continue
        x, w = loaded.values.get(node.input[0]), loaded.constants.get(node.input[1])
        if x is None or w is None:
            continue
        if w.ndim != len(x.shape):
            problems.append(Problem(f"the weights have rank {w.ndim} (shape {list(w.shape)}) for an input of "
                                    f"shape {list(x.shape)}; they must have the input's rank",
                                    _node_label(node), node.op_type))
    raise_problems(loaded.path, problems)


def check_ranges(path: str, ranges: dict[str, tuple[float, float]]) -> None:
    """Calibration ranges must be finite and representable: NaN or infinity in an activation of the
    float model (an overflow, 0/0, log of a negative) makes every scale after it meaningless."""
    problems = []
    for name, (low, high) in ranges.items():
        if not (math.isfinite(low) and math.isfinite(high)) or max(abs(low), abs(high)) > MAX_MAGNITUDE:
            problems.append(Problem(f"tensor '{name}' takes the values [{low:g}, {high:g}] on the calibration "
                                    "data; int8 needs a finite range"))
    if problems:
        raise DataError(f"{path}: the float model produces NaN, infinite or huge values on the calibration "
                        "data:", problems, hint="Check the model's weights and the calibration inputs.")
