"""Load an ONNX file into a clean, static-shaped, constant-folded ONNX model.

Steps, each turning a class of exporter quirks into a clear error or a normal form:
  1. read and `onnx.checker` it;
  2. upgrade old opsets with onnx's version converter;
  3. pin a symbolic batch dimension to 1 (anything else dynamic is an error);
  4. alternate ONNX shape inference and constant folding until nothing changes, so shape
     arithmetic (Shape -> Gather -> Concat -> Reshape, ConstantOfShape, ...) becomes constants;
  5. require every remaining value to have a static shape.
The importer (importer.py) then turns the result into tinygen's IR.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference
from onnx.reference import ReferenceEvaluator

from ..errors import ModelError, Problem

MIN_OPSET = 13  # older models are upgraded to this opset before import
MAX_OPSET = 22
# Ops never folded even when every input is constant: they carry meaning the importer needs
# (quantization of weights), or are not deterministic.
NEVER_FOLD = {"QuantizeLinear", "DequantizeLinear", "RandomNormal", "RandomUniform",
              "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"}
MAX_FOLDED_ELEMENTS = 1 << 24
# Rewrites of the read model into forms the importer knows, applied in order after the opset upgrade:
# (path, model) -> model. The frontend registers them (expand.py: onnxruntime's QOperator nodes into
# QDQ), as this layer lies below the ops that declare them.
REWRITES: list[Callable[[str, onnx.ModelProto], onnx.ModelProto]] = []


@dataclass
class ValueInfo:
    shape: tuple[int, ...]
    dtype: np.dtype


@dataclass
class LoadedModel:
    path: str
    model: onnx.ModelProto
    opset: int
    constants: dict[str, np.ndarray]  # initializers and folded values, by name
    values: dict[str, ValueInfo]  # static shape and dtype of every non-constant value
    upgraded_from: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def graph(self) -> onnx.GraphProto:
        return self.model.graph

    @property
    def input_names(self) -> list[str]:
        return [v.name for v in self.graph.input if v.name not in self.constants]

    @property
    def output_names(self) -> list[str]:
        return [v.name for v in self.graph.output]


def load_model(path: str | os.PathLike[str]) -> LoadedModel:
    path = os.fspath(path)
    model = _read(path)
    opset = _default_opset(model)
    upgraded_from = None
    if opset < MIN_OPSET:
        model = _upgrade(path, model, opset)
        upgraded_from, opset = opset, MIN_OPSET
    if opset > MAX_OPSET:
        raise ModelError(path, f"opset {opset} is newer than tinygen supports (up to {MAX_OPSET})",
                         hint=f"Export with opset_version={MAX_OPSET} or lower.")
    for rewrite in REWRITES:
        model = rewrite(path, model)
    _drop_initializer_inputs(model)
    _pin_batch_dimension(path, model)
    constants = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    model = _infer_and_fold(path, model, constants)
    values = _static_values(path, model, constants)
    return LoadedModel(path, model, opset, constants, values, upgraded_from)


def _read(path: str) -> onnx.ModelProto:
    if not os.path.exists(path):
        raise ModelError(path, "no such file")
    if os.path.isdir(path):
        raise ModelError(path, "is a directory, not an ONNX file")
    try:
        model = onnx.load(path)
    except Exception as exc:  # protobuf raises several unrelated types for garbage input
        raise ModelError(path, f"not a readable ONNX model ({type(exc).__name__}: {exc})".strip(),
                         hint="Check that the file is a complete .onnx export.") from None
    if len(model.graph.node) == 0:
        raise ModelError(path, "the file holds no graph nodes (is it an ONNX model?)")
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ModelError(path, f"the ONNX checker rejects the model: {_first_line(exc)}",
                         hint="Re-export the model, or repair it with onnx.checker's message.") from None
    return model


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _default_opset(model: onnx.ModelProto) -> int:
    for opset in model.opset_import:
        if opset.domain in ("", "ai.onnx"):
            return int(opset.version)
    return 1


def _upgrade(path: str, model: onnx.ModelProto, opset: int) -> onnx.ModelProto:
    from onnx import version_converter

    try:
        upgraded = version_converter.convert_version(model, MIN_OPSET)
        onnx.checker.check_model(upgraded)
        return upgraded
    except Exception as exc:
        raise ModelError(path, f"cannot upgrade opset {opset} to {MIN_OPSET}: {_first_line(exc)}",
                         hint="Re-export the model with a newer opset (13 or later).") from None


def _drop_initializer_inputs(model: onnx.ModelProto) -> None:
    """Old exporters list initializers among the graph inputs; they are constants, not inputs."""
    initializers = {init.name for init in model.graph.initializer}
    keep = [value for value in model.graph.input if value.name not in initializers]
    del model.graph.input[:]
    model.graph.input.extend(keep)


def _pin_batch_dimension(path: str, model: onnx.ModelProto) -> None:
    problems = []
    for value in model.graph.input:
        if not value.type.HasField("tensor_type"):
            problems.append(Problem(f"input '{value.name}' is not a tensor"))
            continue
        dims = value.type.tensor_type.shape.dim
        if not value.type.tensor_type.HasField("shape"):
            problems.append(Problem(f"input '{value.name}' has no shape"))
            continue
        for index, dim in enumerate(dims):
            if dim.HasField("dim_value") and dim.dim_value > 0:
                continue
            if index == 0:
                dim.Clear()
                dim.dim_value = 1  # a symbolic batch: tinygen compiles batch 1
                continue
            label = dim.dim_param or "?"
            problems.append(Problem(f"input '{value.name}' has a dynamic dimension {index} ('{label}')"))
    if problems:
        raise ModelError(path, "dynamic shapes are not supported:", problems,
                         hint="Export with fixed input shapes (only the batch dimension may be symbolic).")
    # Outputs and value_info may still carry the symbolic batch; shape inference recomputes them.
    del model.graph.value_info[:]
    for value in model.graph.output:
        if value.type.HasField("tensor_type"):
            value.type.tensor_type.ClearField("shape")


def _infer_and_fold(path: str, model: onnx.ModelProto,
                    constants: dict[str, np.ndarray]) -> onnx.ModelProto:
    for _ in range(64):
        # Shapes inferred before a fold may hold symbolic dimensions (a Range's length) that inference keeps
        # rather than recomputes: infer from scratch each round.
        del model.graph.value_info[:]
        model = _infer(path, model)
        shapes = _known_shapes(model, constants)
        if not _fold_once(model, constants, shapes):
            break
    _sync_initializers(model, constants)
    return _infer(path, model)


def _infer(path: str, model: onnx.ModelProto) -> onnx.ModelProto:
    try:
        return shape_inference.infer_shapes(model, check_type=True, strict_mode=True, data_prop=True)
    except Exception as exc:
        if any(node.domain not in ("", "ai.onnx") for node in model.graph.node):
            # Ops of other domains have no shape functions; the importer reports them by name.
            return shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
        raise ModelError(path, f"ONNX shape inference failed: {_first_line(exc)}",
                         hint="The model's shapes are inconsistent; re-export it.") from None


def _known_shapes(model: onnx.ModelProto, constants: dict[str, np.ndarray]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for value in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        tensor_type = value.type.tensor_type
        if not tensor_type.HasField("shape"):
            continue
        dims = tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = tuple(int(d.dim_value) for d in dims)
    for name, array in constants.items():
        shapes[name] = tuple(array.shape)
    return shapes


def _fold_once(model: onnx.ModelProto, constants: dict[str, np.ndarray],
               shapes: dict[str, tuple[int, ...]]) -> bool:
    """Evaluate every node whose result is known at compile time; remove it from the graph."""
    folded_any = False
    keep = []
    dtypes = _known_dtypes(model, constants)
    for node in model.graph.node:
        value = _try_fold(node, constants, shapes, dtypes)
        if value is None:
            keep.append(node)
            continue
        for name, array in zip(node.output, value, strict=False):
            constants[name] = array
        folded_any = True
    if folded_any:
        del model.graph.node[:]
        model.graph.node.extend(keep)
        _sync_initializers(model, constants)
    return folded_any


def _known_dtypes(model: onnx.ModelProto, constants: dict[str, np.ndarray]) -> dict[str, np.dtype]:
    dtypes: dict[str, np.dtype] = {}
    for value in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        elem_type = value.type.tensor_type.elem_type
        if elem_type and elem_type not in (onnx.TensorProto.STRING, onnx.TensorProto.UNDEFINED):
            try:
                dtypes[value.name] = np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))
            except Exception:  # a type numpy has no dtype for: that CastLike is not folded
                continue
    dtypes.update({name: array.dtype for name, array in constants.items()})
    return dtypes


def _try_fold(node: onnx.NodeProto, constants: dict[str, np.ndarray], shapes: dict[str, tuple[int, ...]],
              dtypes: dict[str, np.dtype] | None = None) -> list[np.ndarray] | None:
    if node.domain not in ("", "ai.onnx") or node.op_type in NEVER_FOLD:
        return None
    if (node.op_type == "CastLike" and node.input[0] in constants and dtypes
            and node.input[1] in dtypes and not node.attribute):
        # Only the element type of the second input matters: the torch.export-based exporter
        # casts constants (Clip bounds, biases) "like" a run-time tensor.
        return [np.asarray(constants[node.input[0]]).astype(dtypes[node.input[1]])]
    if node.op_type == "Shape" and node.input[0] in shapes:
        shape = np.array(shapes[node.input[0]], dtype=np.int64)
        start = next((a.i for a in node.attribute if a.name == "start"), 0)
        end = next((a.i for a in node.attribute if a.name == "end"), None)
        return [shape[start:end]]
    if node.op_type == "Size" and node.input[0] in shapes:
        return [np.array(int(np.prod(shapes[node.input[0]])), dtype=np.int64)]
    inputs = [name for name in node.input if name]
    if not all(name in constants for name in inputs):
        return None
    if any(constants[name].size > MAX_FOLDED_ELEMENTS for name in inputs):
        return None
    try:
        outputs = ReferenceEvaluator(node).run(None, {name: constants[name] for name in inputs})
    except Exception:
        return None  # leave it to the importer, which reports what it cannot handle
    return [np.asarray(out) for out in outputs]


def _sync_initializers(model: onnx.ModelProto, constants: dict[str, np.ndarray]) -> None:
    """Make the model's initializers exactly the constants that are still referenced."""
    used = {name for node in model.graph.node for name in node.input}
    used |= {value.name for value in model.graph.output}
    del model.graph.initializer[:]
    for name in sorted(used):
        if name in constants:
            model.graph.initializer.append(numpy_helper.from_array(np.asarray(constants[name]), name))


def _static_values(path: str, model: onnx.ModelProto,
                   constants: dict[str, np.ndarray]) -> dict[str, ValueInfo]:
    values: dict[str, ValueInfo] = {}
    for value in [*model.graph.input, *model.graph.value_info, *model.graph.output]:
        tensor_type = value.type.tensor_type
        if value.name in constants or not tensor_type.HasField("shape"):
            continue
        dims = tensor_type.shape.dim
        if all(d.HasField("dim_value") for d in dims):
            dtype = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
            values[value.name] = ValueInfo(tuple(int(d.dim_value) for d in dims), np.dtype(dtype))
    # Values still without a static shape are reported by the importer, node by node, together
    # with every other problem of the model.
    return values
