"""A seeded ONNX mutator: valid seed models (seeds.py) changed at the protobuf level.

Every mutation kind of issue 14 is here; `MUTATIONS` lists them by name and `mutate` applies one
chosen kind (plus, one time in three, a second random one). Everything derives from one integer
seed, so a failing case is reproduced by its number: `make_case(seed, index)`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .seeds import seed_models

SPECIAL_FLOATS = [float("nan"), float("inf"), float("-inf"), 3e38, -3e38, 0.0, -1.0, 1e-30]
ELEM_TYPES = [TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT8, TensorProto.UINT8, TensorProto.INT32,
              TensorProto.INT64, TensorProto.FLOAT16, TensorProto.BOOL, TensorProto.STRING, TensorProto.BFLOAT16,
              TensorProto.COMPLEX64, 999, 0]
RESERVED_NAMES = ["string", "stdint", "stddef", "stdio", "math", "tinygen_kernels", "tinygen_harness", "main",
                  "assert", "time"]


@dataclass
class Case:
    """One mutated model and how to run it."""

    index: int
    seed_name: str
    kinds: list[str]
    model: onnx.ModelProto
    file_name: str = "model"
    external_data: bool = False
    calib: str = "random"  # 'random', or 'huge' / 'nan' for a calibration file with those values
    notes: list[str] = field(default_factory=list)


Mutation = Callable[[onnx.ModelProto, random.Random, Case], None]


def _float_initializers(model: onnx.ModelProto) -> list[onnx.TensorProto]:
    return [t for t in model.graph.initializer if t.data_type == TensorProto.FLOAT]


def _set_array(tensor: onnx.TensorProto, array: np.ndarray) -> None:
    tensor.CopyFrom(numpy_helper.from_array(array, tensor.name))


# --- the kinds --------------------------------------------------------------------------------------------

def dims(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """Change a dimension of an input, an output or an initializer (its data left as it was)."""
    choice = rng.choice(["input", "initializer", "output"])
    if choice == "initializer" and model.graph.initializer:
        tensor = rng.choice(list(model.graph.initializer))
        if tensor.dims:
            k = rng.randrange(len(tensor.dims))
            tensor.dims[k] = rng.choice([0, 1, 2, tensor.dims[k] + 1, 1 << 20])
        else:
            tensor.dims.append(rng.choice([1, 2]))
        return
    values = model.graph.input if choice == "input" else model.graph.output
    value = rng.choice(list(values))
    shape = value.type.tensor_type.shape
    if not shape.dim:
        return
    dim = rng.choice(list(shape.dim))
    action = rng.choice(["value", "param", "clear", "rank"])
    if action == "value":
        dim.Clear()
        dim.dim_value = rng.choice([0, 1, 2, 3, 5, 7, 64, 1 << 20, 1 << 31])
    elif action == "param":
        dim.Clear()
        dim.dim_param = rng.choice(["N", "batch", "H", "?"])
    elif action == "clear":
        dim.Clear()
    else:
        if rng.random() < 0.5 and len(shape.dim) > 1:
            del shape.dim[-1]
        else:
            shape.dim.add().dim_value = rng.choice([1, 2])


def fixed_batch(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """A model exported with a fixed batch of N > 1 (cause 1): inputs, outputs and literal shapes say N."""
    n = rng.choice([2, 3, 4])
    for value in [*model.graph.input, *model.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if dims:
            dims[0].Clear()
            dims[0].dim_value = n
    for tensor in model.graph.initializer:  # Reshape targets [1, -1] -> [N, -1]
        if tensor.data_type == TensorProto.INT64 and list(tensor.dims) == [2]:
            array = numpy_helper.to_array(tensor).copy()
            if array[0] == 1:
                array[0] = n
                _set_array(tensor, array)


def dtypes(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """An element type changed: of an initializer (its data kept), an input or an output."""
    elem = rng.choice(ELEM_TYPES)
    choice = rng.choice(["initializer", "input", "output"])
    if choice == "initializer" and model.graph.initializer:
        rng.choice(list(model.graph.initializer)).data_type = elem
    else:
        values = model.graph.input if choice == "input" else model.graph.output
        rng.choice(list(values)).type.tensor_type.elem_type = elem


def attributes(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """An attribute changed, removed or added: kernel shapes, strides, pads, groups, axes, auto_pad..."""
    node = rng.choice(list(model.graph.node))
    action = rng.choice(["change", "change", "remove", "add", "auto_pad"])
    if action == "auto_pad" or (action == "add" and node.op_type == "Conv"):
        # valid ONNX that onnxruntime may refuse to run (cause 8): SAME_UPPER with dilations
        conv = next((n for n in model.graph.node if n.op_type == "Conv"), node)
        for name in ("pads",):
            for attr in list(conv.attribute):
                if attr.name == name:
                    conv.attribute.remove(attr)
        conv.attribute.extend([helper.make_attribute("auto_pad", rng.choice(["SAME_UPPER", "SAME_LOWER", "VALID"]))])
        weights = {t.name: len(t.dims) for t in model.graph.initializer}
        rank = max(1, weights.get(conv.input[1], 4) - 2) if len(conv.input) > 1 else 2
        if rng.random() < 0.7:
            for attr in list(conv.attribute):
                if attr.name == "dilations":
                    conv.attribute.remove(attr)
            conv.attribute.extend([helper.make_attribute("dilations", [rng.choice([2, 3])] * rank)])
        return
    if action == "remove" and node.attribute:
        node.attribute.remove(rng.choice(list(node.attribute)))
        return
    if action == "add":
        node.attribute.extend([helper.make_attribute(rng.choice(["axis", "group", "alpha", "bogus", "mode"]),
                                                     rng.choice([0, 1, -1, 2.5, "reflect", [1, 2]]))])
        return
    if not node.attribute:
        return
    attr = rng.choice(list(node.attribute))
    if attr.type == onnx.AttributeProto.INT:
        attr.i = rng.choice([-3, -1, 0, 1, 2, 3, 7, 1 << 40])
    elif attr.type == onnx.AttributeProto.INTS:
        values = list(attr.ints)
        if values and rng.random() < 0.7:
            values[rng.randrange(len(values))] = rng.choice([-1, 0, 2, 5, 1 << 30])
        else:
            values = [*values, 1] if rng.random() < 0.5 else values[:-1]
        del attr.ints[:]
        attr.ints.extend(values)
    elif attr.type == onnx.AttributeProto.FLOAT:
        attr.f = rng.choice(SPECIAL_FLOATS)
    elif attr.type == onnx.AttributeProto.STRING:
        attr.s = rng.choice([b"reflect", b"edge", b"SAME_UPPER", b"bogus", b""])


def initializer_bytes(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """Initializer data that does not match its dims: raw_data too long, too short or odd."""
    tensor = rng.choice(list(model.graph.initializer))
    array = numpy_helper.to_array(tensor)
    tensor.ClearField("float_data")
    tensor.ClearField("int32_data")
    tensor.ClearField("int64_data")
    raw = array.tobytes()
    action = rng.choice(["short", "long", "odd", "empty"])
    tensor.raw_data = (raw[: len(raw) // 2] if action == "short" else raw + raw[:8] if action == "long"
                       else raw + b"\x01" if action == "odd" else b"")


def special_values(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """NaN, Inf or huge (3e38) weights, biases, BN statistics, Clip bounds or Gemm alpha (cause 2)."""
    tensors = _float_initializers(model)
    gemms = [n for n in model.graph.node if n.op_type == "Gemm"]
    if gemms and rng.random() < 0.25:
        node = rng.choice(gemms)
        for attr in node.attribute:
            if attr.name in ("alpha", "beta"):
                attr.f = rng.choice(SPECIAL_FLOATS[:5])
                return
        node.attribute.extend([helper.make_attribute("alpha", rng.choice(SPECIAL_FLOATS[:5]))])
        return
    if not tensors:
        return
    tensor = rng.choice(tensors)
    array = numpy_helper.to_array(tensor).copy()
    flat = array.reshape(-1)
    if flat.size:
        count = rng.choice([1, 1, flat.size])
        for k in rng.sample(range(flat.size), min(count, flat.size)):
            flat[k] = rng.choice([*SPECIAL_FLOATS[:5], -2.0])
    _set_array(tensor, flat.reshape(array.shape))


def opsets(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """A different default-domain opset or IR version (old ones go through the version converter)."""
    if rng.random() < 0.7:
        model.opset_import[0].version = rng.choice([1, 6, 7, 9, 10, 11, 12, 14, 17, 19, 21, 22, 23, 30])
    else:
        model.ir_version = rng.choice([1, 3, 4, 7, 10, 11, 99])
    if rng.random() < 0.2:
        model.opset_import.extend([helper.make_opsetid("com.example", 1)])


def names(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """Node and tensor names: duplicates, empty, C-hostile text; or a file named like a C header."""
    action = rng.choice(["duplicate", "empty", "hostile", "rename_tensor", "file"])
    nodes = list(model.graph.node)
    if action == "duplicate" and len(nodes) > 1:
        a, b = rng.sample(nodes, 2)
        b.name = a.name
    elif action == "empty":
        for node in nodes:
            node.name = ""
    elif action == "hostile":
        text = rng.choice(["*/ int x; /*", "a\"b\\c", "név ☃", "main", "1abc", "x" * 300, "\n#define x", "tg_run"])
        node = rng.choice(nodes)
        old = node.output[0]
        node.name = text
        if rng.random() < 0.5 and old not in {v.name for v in model.graph.output}:
            for other in nodes:
                for k, name in enumerate(other.input):
                    if name == old:
                        other.input[k] = text
            node.output[0] = text
    elif action == "rename_tensor":
        node = rng.choice(nodes)
        if node.input:
            node.input[rng.randrange(len(node.input))] = rng.choice(["missing", node.output[0], ""])
    else:
        case.file_name = rng.choice(RESERVED_NAMES)


def node_order(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """Nodes out of topological order, or one removed or duplicated."""
    nodes = list(model.graph.node)
    action = rng.choice(["swap", "shuffle", "drop", "repeat"])
    if action == "swap" and len(nodes) > 1:
        i, j = rng.sample(range(len(nodes)), 2)
        nodes[i], nodes[j] = nodes[j], nodes[i]
    elif action == "shuffle":
        rng.shuffle(nodes)
    elif action == "drop":
        nodes.pop(rng.randrange(len(nodes)))
    else:
        nodes.append(rng.choice(nodes))
    del model.graph.node[:]
    model.graph.node.extend(nodes)


def outputs(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """No outputs (cause 9), an extra intermediate output, a constant output, a duplicate one."""
    action = rng.choice(["none", "none", "intermediate", "constant", "duplicate", "input"])
    if action == "none":
        del model.graph.output[:]
    elif action == "intermediate":
        node = rng.choice(list(model.graph.node))
        model.graph.output.extend([helper.make_empty_tensor_value_info(node.output[0])])
    elif action == "constant" and model.graph.initializer:
        model.graph.output.extend([helper.make_empty_tensor_value_info(model.graph.initializer[0].name)])
    elif action == "duplicate":
        model.graph.output.extend([model.graph.output[0]])
    else:
        model.graph.output.extend([model.graph.input[0]])


def wrong_rank(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """Weights of the wrong rank or shape (cause 10): 5-D 1x1 conv weights, flattened depthwise weights,
    BN statistics [C, 1], kernel_shape disagreeing with the weights, a bias of the wrong length."""
    tensors = _float_initializers(model)
    conv_weights = {n.input[1] for n in model.graph.node
                    if n.op_type in ("Conv", "Gemm", "MatMul") and len(n.input) > 1}
    candidates = [t for t in tensors if t.name in conv_weights] or tensors
    tensor = rng.choice(candidates)
    array = numpy_helper.to_array(tensor)
    action = rng.choice(["unsqueeze", "flatten", "column", "kernel_shape", "transpose"])
    if action == "unsqueeze":
        _set_array(tensor, array.reshape((*array.shape, 1)))
    elif action == "flatten":
        _set_array(tensor, array.reshape(-1))
    elif action == "column":
        _set_array(tensor, array.reshape(-1, 1))
    elif action == "transpose" and array.ndim >= 2:
        _set_array(tensor, np.ascontiguousarray(array.swapaxes(0, 1)))
    else:
        for node in model.graph.node:
            for attr in node.attribute:
                if attr.name == "kernel_shape":
                    del attr.ints[:]
                    attr.ints.extend([rng.choice([1, 2, 5])] * rng.choice([1, 2, 3]))
                    return


def huge(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """Huge tensors (cause 11): a folded ConstantOfShape of 2^29 elements, a huge input."""
    if rng.random() < 0.5:
        shape = numpy_helper.from_array(np.array([1 << 25, 16], np.int64), "huge_shape")
        model.graph.initializer.append(shape)
        node = helper.make_node("ConstantOfShape", ["huge_shape"], ["huge"], name="huge_constant",
                                value=numpy_helper.from_array(np.array([1.0], np.float32)))
        model.graph.node.append(node)
        model.graph.output.extend([helper.make_tensor_value_info("huge", TensorProto.FLOAT, [1 << 25, 16])])
    else:
        dims = model.graph.input[0].type.tensor_type.shape.dim
        dims[-1].dim_value = rng.choice([1 << 21, 2_000_000, 1 << 24])


def external_data(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """Weights in an external .data file next to the model (cause 7)."""
    case.external_data = True


def calibration(model: onnx.ModelProto, rng: random.Random, case: Case) -> None:
    """Calibration data with huge or non-finite values (cause 2)."""
    case.calib = rng.choice(["huge", "nan"])


MUTATIONS: dict[str, Mutation] = {
    "dims": dims, "fixed_batch": fixed_batch, "dtypes": dtypes, "attributes": attributes,
    "initializer_bytes": initializer_bytes, "special_values": special_values, "opsets": opsets, "names": names,
    "node_order": node_order, "outputs": outputs, "wrong_rank": wrong_rank, "huge": huge,
    "external_data": external_data, "calibration": calibration,
}
KINDS = list(MUTATIONS)


def make_case(seed: int, index: int) -> Case:
    """Case `index` of run `seed`: kind number index % len(KINDS) (every kind in every len(KINDS)
    cases), on a seed model and with a second random kind chosen by (seed, index)."""
    rng = random.Random(seed * 1_000_003 + index)
    seeds = _seeds()
    seed_name = rng.choice(sorted(seeds))
    model = onnx.ModelProto()
    model.CopyFrom(seeds[seed_name])
    kinds = [KINDS[index % len(KINDS)]]
    if rng.random() < 1 / 3:
        kinds.append(rng.choice(KINDS))
    case = Case(index, seed_name, kinds, model)
    for kind in kinds:
        try:
            MUTATIONS[kind](model, rng, case)
        except Exception as exc:  # a second mutation may not apply to what the first left (unreadable data)
            case.notes.append(f"{kind} not applied: {type(exc).__name__}")
    return case


_SEED_CACHE: dict[str, onnx.ModelProto] = {}


def _seeds() -> dict[str, onnx.ModelProto]:
    if not _SEED_CACHE:
        _SEED_CACHE.update(seed_models())
    return _SEED_CACHE
