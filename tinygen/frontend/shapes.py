"""The input shapes tinygen compiles: `--input-shape`, a symbolic batch, a fixed batch of N > 1.

tinygen compiles one sample at a time (batch 1). Before shape inference, every graph input gets a
static shape:
  - `--input-shape NAME=1,3,96,96` (input_shapes) sets an input's dimensions: it pins dynamic ones and
    must agree with the fixed ones (except the batch, which may be given as 1 for a fixed batch N);
  - a symbolic first dimension (the batch) becomes 1; any other dynamic dimension without
    --input-shape is an error naming the input, the dimension and the option;
  - a fixed batch N > 1 (a model exported with a dummy input of batch N and no dynamic axes) is
    compiled as batch 1 when every node that sees the batch acts on each sample on its own: the literal
    constants that spell N (a Reshape's target shape, an Expand or Resize size) become 1, and a note
    says so. A node that mixes samples (a MatMul whose batch axis is its row axis with another
    run-time tensor, a reduction or softmax over axis 0, a recurrent op, ...) makes it an error that names
    the node and the export change that avoids it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

from ..errors import ModelError, Problem

# Ops that act elementwise (with broadcasting) or on each sample's own feature map: per sample as long as
# no constant operand carries a batch axis of its own.
PER_SAMPLE = {
    "Abs", "Acos", "Add", "And", "Asin", "Atan", "AveragePool", "BatchNormalization", "BitShift", "Cast",
    "CastLike", "Ceil", "Celu", "Clip", "Conv", "ConvInteger", "ConvTranspose", "Cos", "DepthToSpace",
    "DequantizeLinear", "Div", "Dropout", "Elu", "Equal", "Erf", "Exp", "Floor", "Gelu", "GlobalAveragePool",
    "GlobalLpPool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "HardSigmoid", "HardSwish", "Identity",
    "InstanceNormalization", "IsInf", "IsNaN", "LRN", "LeakyRelu", "Less", "LessOrEqual", "Log", "LpPool", "Max",
    "MaxPool", "Mean", "Min", "Mish", "Mod", "Mul", "Neg", "Not", "Or", "PRelu", "Pow", "QLinearConv",
    "QuantizeLinear", "Reciprocal", "Relu", "Round", "Selu", "Shrink", "Sigmoid", "Sign", "Sin", "Softplus",
    "Softsign", "SpaceToDepth", "Sqrt", "Sub", "Sum", "Tan", "Tanh", "ThresholdedRelu", "Where", "Xor",
}
# Ops with an `axis` attribute (default) that act per sample unless the axis is the batch axis.
AXIS_ATTRIBUTE = {"Softmax": -1, "LogSoftmax": -1, "Hardmax": -1, "Concat": None, "Split": 0, "Flatten": 1,
                  "ArgMax": 0, "ArgMin": 0, "LayerNormalization": -1, "Gather": 0, "GatherElements": 0,
                  "LpNormalization": -1}
REDUCE = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceProd", "ReduceL1", "ReduceL2",
          "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}
SHAPE_ONLY = {"Shape", "Size"}  # their outputs describe shapes, recomputed after pinning
EXPORT_HINT = ("export the model with a batch of 1 (a dummy input of batch 1), or with a dynamic batch "
               "(torch.onnx.export(..., dynamic_axes={'<input>': {0: 'batch'}}) or dynamic_shapes)")


def parse_input_shapes(texts: tuple[str, ...] | list[str]) -> dict[str, tuple[int, ...]]:
    """`NAME=1,3,96,96` (repeatable) -> {NAME: (1, 3, 96, 96)}; ModelError-free: raises ValueError text."""
    shapes: dict[str, tuple[int, ...]] = {}
    for text in texts:
        name, sep, dims = text.rpartition("=")
        try:
            values = tuple(int(d) for d in dims.replace("x", ",").split(",") if d.strip())
        except ValueError:
            values = ()
        if not sep or not name or not values or any(v <= 0 for v in values):
            raise ValueError(f"--input-shape '{text}': expected NAME=D0,D1,... with positive dimensions, "
                             "e.g. input=1,3,96,96")
        shapes[name] = values
    return shapes


def _constants(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    values = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output:
            for attr in node.attribute:
                if attr.name == "value":
                    values[node.output[0]] = numpy_helper.to_array(attr.t)
                elif attr.name in ("value_ints", "value_int"):
                    values[node.output[0]] = np.array(helper.get_attribute_value(attr), dtype=np.int64)
    return values


def _attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    for attr in node.attribute:
        if attr.name == name:
            return helper.get_attribute_value(attr)
    return default


def apply_input_shapes(path: str, model: onnx.ModelProto, input_shapes: dict[str, tuple[int, ...]] | None
                       ) -> list[str]:
    """Give every graph input a static shape, batch 1 (see the module docstring). Returns the notes."""
    input_shapes = dict(input_shapes or {})
    problems: list[Problem] = []
    names = [value.name for value in model.graph.input]
    for name in input_shapes:
        if name not in names:
            problems.append(Problem(f"--input-shape names '{name}', which is not a model input (inputs: "
                                    f"{', '.join(repr(n) for n in names)})"))
    fixed_batch: dict[str, int] = {}  # inputs whose fixed first dimension N > 1 is a batch
    symbolic_batch = False
    for value in model.graph.input:
        if not value.type.HasField("tensor_type"):
            problems.append(Problem(f"input '{value.name}' is not a tensor"))
            continue
        tensor_type = value.type.tensor_type
        given = input_shapes.get(value.name)
        if not tensor_type.HasField("shape"):
            if given is None:
                problems.append(Problem(f"input '{value.name}' has no shape",
                                        hint=f"pass --input-shape {value.name}=1,...(its dimensions)"))
                continue
            tensor_type.shape.SetInParent()
            for _ in given:
                tensor_type.shape.dim.add()
        dims = tensor_type.shape.dim
        shown = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]
        if given is not None:
            if len(given) != len(dims):
                problems.append(Problem(f"--input-shape gives {len(given)} dimensions for input '{value.name}' "
                                        f"of rank {len(dims)} {shown}"))
                continue
            clash = [k for k, (d, g) in enumerate(zip(dims, given, strict=True))
                     if d.HasField("dim_value") and d.dim_value > 0 and d.dim_value != g and not (k == 0 and g == 1)]
            if clash:
                problems.append(Problem(f"--input-shape {value.name}={','.join(map(str, given))} disagrees with the "
                                        f"model's fixed dimension(s) {clash} of {shown}"))
                continue
            for k, (dim, size) in enumerate(zip(dims, given, strict=True)):
                if k == 0 and dim.HasField("dim_value") and dim.dim_value > 1:
                    fixed_batch[value.name] = int(dim.dim_value)
                    continue  # a fixed batch given as 1: pinned below, if per sample
                dim.Clear()
                dim.dim_value = size
            continue
        for index, dim in enumerate(dims):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                if index == 0 and dim.dim_value > 1:
                    fixed_batch[value.name] = int(dim.dim_value)
                continue
            if index == 0:
                dim.Clear()
                dim.dim_value = 1  # a symbolic batch: tinygen compiles batch 1
                symbolic_batch = True
                continue
            label = dim.dim_param or "?"
            problems.append(Problem(
                f"input '{value.name}' has a dynamic dimension {index} ('{label}') of {shown}",
                hint=f"pin it with --input-shape {value.name}=" + ",".join(
                    "1" if k == 0 else (str(s) if isinstance(s, int) and s > 0 else f"<{s}>")
                    for k, s in enumerate(shown))))
    if problems:
        raise ModelError(path, "dynamic shapes are not supported:", problems,
                         hint="tinygen compiles static shapes; only the batch dimension may be symbolic.")
    # A fixed first dimension N > 1 is the batch of the export when every input has it and none has a
    # symbolic batch (or when --input-shape gives it as 1); otherwise it is an input's own dimension (a
    # table, a state), left as it is.
    firsts = {v.name: v.type.tensor_type.shape.dim[0].dim_value for v in model.graph.input
              if v.type.tensor_type.shape.dim}
    requested = {name: n for name, n in fixed_batch.items() if name in input_shapes}
    if not requested and (symbolic_batch or len(set(firsts.values())) != 1 or len(firsts) != len(model.graph.input)):
        fixed_batch = {}
    notes = _pin_fixed_batch(path, model, fixed_batch) if fixed_batch else []
    # Outputs and value_info may still carry the old batch; shape inference recomputes them.
    del model.graph.value_info[:]
    for value in model.graph.output:
        if value.type.HasField("tensor_type"):
            value.type.tensor_type.ClearField("shape")
    return notes


def _pin_fixed_batch(path: str, model: onnx.ModelProto, fixed: dict[str, int]) -> list[str]:
    """Compile a fixed batch N > 1 as batch 1 if every node acts on each sample separately."""
    batches = set(fixed.values())
    described = ", ".join(f"'{name}' ({n})" for name, n in fixed.items())
    other = [v.name for v in model.graph.input if v.name not in fixed]
    if len(batches) > 1 or other:
        raise ModelError(path, f"the model's inputs have different fixed batch sizes: {described}"
                         + (f" and {', '.join(repr(n) for n in other)}" if other else ""),
                         hint=EXPORT_HINT)
    n = batches.pop()
    try:
        inferred = shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception:
        inferred = model
    shapes: dict[str, list[int | None]] = {}
    for value in [*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output]:
        if value.type.tensor_type.HasField("shape"):
            shapes[value.name] = [int(d.dim_value) if d.HasField("dim_value") else None
                                  for d in value.type.tensor_type.shape.dim]
    constants = _constants(model)
    batched = set(fixed)
    rewrites: list[tuple[onnx.NodeProto, int, np.ndarray]] = []
    problems: list[Problem] = []
    for node in model.graph.node:
        ins = [k for k, name in enumerate(node.input) if name in batched]
        if not ins or node.op_type == "Constant":
            continue
        if node.op_type not in SHAPE_ONLY:
            batched.update(name for name in node.output if name)
        reason = _mixes_samples(node, ins, n, constants, shapes, rewrites)
        if reason:
            problems.append(Problem(reason, node.name or f"<unnamed {node.op_type}>", node.op_type))
    if problems:
        raise ModelError(path, f"the model was exported with a fixed batch of {n} (input {described}), and "
                         "these nodes combine the samples of the batch, so it cannot be compiled as batch 1:",
                         problems, hint=f"Re-{EXPORT_HINT}.")
    for node, position, value in rewrites:  # a fresh initializer: the old one may be shared
        name = f"{node.input[position]}__batch1"
        model.graph.initializer.append(numpy_helper.from_array(value, name))
        node.input[position] = name
    for value in model.graph.input:
        value.type.tensor_type.shape.dim[0].Clear()
        value.type.tensor_type.shape.dim[0].dim_value = 1
    return [f"the model was exported with a fixed batch of {n} (input {described}); every op acts on each "
            "sample separately, so tinygen compiles batch 1 (calibration, `run` and `verify` take the samples "
            "one by one)"]


def _mixes_samples(node: onnx.NodeProto, ins: list[int], n: int, constants: dict[str, np.ndarray],
                   shapes: dict[str, list[int | None]],
                   rewrites: list[tuple[onnx.NodeProto, int, np.ndarray]]) -> str | None:
    """Why this node, which reads batched input(s) `ins`, does not act per sample (None if it does)."""
    op = node.op_type
    if node.input[ins[0]] not in shapes:
        return "its input's rank is unknown, so it cannot be checked to act on each sample separately"
    in_shape = shapes[node.input[ins[0]]]
    rank = len(in_shape)

    def const(position: int) -> np.ndarray | None:
        if position < len(node.input) and node.input[position]:
            return constants.get(node.input[position])
        return None

    def axes_problem(axes: list[int]) -> str | None:
        if 0 in [a % rank for a in axes]:
            return f"it works along axis 0, the batch axis of the exported batch of {n}"
        return None

    if op in PER_SAMPLE or op in SHAPE_ONLY:
        out_rank = max([rank, *[len(shapes.get(name, [])) for name in node.input if name]])
        for k, name in enumerate(node.input):
            c = constants.get(name)
            if k not in ins and c is not None and c.ndim == out_rank and c.ndim > 0 and c.shape[0] > 1 \
                    and op not in ("Conv", "ConvTranspose", "BatchNormalization", "PRelu", "QLinearConv",
                                   "InstanceNormalization", "QuantizeLinear", "DequantizeLinear"):
                return f"the constant '{name}' {list(c.shape)} has a batch axis of its own"
        return None
    if op in AXIS_ATTRIBUTE:
        if op == "Gather" and ins == [1] and const(0) is not None:
            return None  # a lookup table indexed by the samples' own values
        axis = _attr(node, "axis", AXIS_ATTRIBUTE[op])
        if axis is None:
            return "it has no axis attribute"
        if op == "Flatten":
            return None if int(axis) % (rank + 1) != 0 else "it flattens the batch axis into the features"
        if op == "Concat" and len(ins) != len([i for i in node.input if i]):
            return "it concatenates run-time data with a constant"  if int(axis) % rank == 0 else None
        return axes_problem([int(axis)])
    if op in REDUCE:
        axes = _attr(node, "axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            given = const(1)
            if given is None:
                return "its axes are computed at run time"
            axes = [int(a) for a in given.ravel()]
        if not axes:
            return "it reduces over all axes, the batch axis included"
        return axes_problem(list(axes))
    if op == "Transpose":
        perm = _attr(node, "perm") or list(reversed(range(rank)))
        return None if next(iter(perm)) == 0 else f"it moves the batch axis (perm={list(perm)})"
    if op in ("Squeeze", "Unsqueeze"):
        axes = _attr(node, "axes")
        if axes is None:
            given = const(1)
            if given is None:
                return ("it squeezes every axis of size 1, which would include the batch axis of batch 1"
                        if op == "Squeeze" else "its axes are computed at run time")
            axes = [int(a) for a in given.ravel()]
        out_rank = rank + (len(axes) if op == "Unsqueeze" else 0)
        return None if 0 not in [int(a) % out_rank for a in axes] else "it works on axis 0, the batch axis"
    if op == "Slice":
        starts, ends, axes, steps = const(1), const(2), const(3), const(4)
        if starts is None or ends is None:
            return "its starts and ends are computed at run time"
        axis_list = [int(a) % rank for a in (axes.ravel() if axes is not None else range(starts.size))]
        if 0 in axis_list:
            k = axis_list.index(0)
            step = int(steps.ravel()[k]) if steps is not None else 1
            start, end = int(starts.ravel()[k]), int(ends.ravel()[k])
            if step != 1 or start not in (0, -n) or end < n:
                return f"it slices the batch axis ({start}:{end}:{step} of {n})"
        return None
    if op == "Pad":
        pads = const(1)
        if pads is None:
            return "its pads are computed at run time"
        flat = [int(p) for p in pads.ravel()]
        axes = const(3)
        axis_list = [int(a) % rank for a in axes.ravel()] if axes is not None else list(range(len(flat) // 2))
        if 0 in axis_list and (flat[axis_list.index(0)] or flat[axis_list.index(0) + len(axis_list)]):
            return "it pads the batch axis"
        return None
    if op == "MatMul":
        other = 1 - ins[0] if len(ins) == 1 else None
        if len(ins) == 2:
            return None if rank >= 3 else "it multiplies two run-time matrices whose rows are the samples"
        if ins == [0] and (rank >= 2 or other is None):
            return None
        return "its batched operand is the right-hand matrix, so the samples are its rows of K"
    if op == "Gemm":
        if ins == [0] and not _attr(node, "transA", 0):
            c = const(2)
            if c is not None and c.ndim == 2 and c.shape[0] > 1:
                return f"its bias C {list(c.shape)} has a row per sample"
            return None
        return "the samples are not the rows of its matrix A"
    if op == "Reshape":
        shape = const(1)
        if shape is None:
            return None  # computed from Shape: recomputed for batch 1 by constant folding
        target = [int(s) for s in shape.ravel()]
        if not target:
            return "it reshapes to a scalar"
        if target[0] == n:
            target[0] = 1
            rewrites.append((node, 1, np.array(target, dtype=np.int64)))
            return None
        if target[0] == 0 and not _attr(node, "allowzero", 0):
            return None
        if target[0] == -1 and all(t > 0 for t in target[1:]):
            known = [d for d in in_shape[1:] if d is not None]
            if len(known) == rank - 1 and math.prod(known) == math.prod(target[1:]):
                return None
        return f"its target shape {target} does not keep the batch of {n} on axis 0"
    if op == "Expand":
        shape = const(1)
        if shape is None:
            return "its shape is computed at run time"
        target = [int(s) for s in shape.ravel()]
        if len(target) > rank:
            return f"it expands to a higher rank ({target})"
        if len(target) == rank and target[0] == n:
            target[0] = 1
            rewrites.append((node, 1, np.array(target, dtype=np.int64)))
        return None
    if op == "Tile":
        repeats = const(1)
        return None if repeats is not None and int(repeats.ravel()[0]) == 1 else "it repeats the batch axis"
    if op == "Resize":
        scales, sizes = const(2), const(3)
        if sizes is not None and sizes.size == rank:
            if int(sizes.ravel()[0]) == n:
                rewrites.append((node, 3, np.concatenate([[1], sizes.ravel()[1:]]).astype(sizes.dtype)))
                return None
            return "it resizes the batch axis"
        if scales is not None and scales.size == rank and float(scales.ravel()[0]) != 1.0:
            return "it resizes the batch axis"
        return None
    if op in ("LSTM", "GRU", "RNN"):
        return ("a recurrent op takes the batch on axis 1 (layout 0); tinygen cannot tell the exported "
                "batch from the sequence")
    return f"tinygen cannot tell whether {op} acts on each sample separately"
