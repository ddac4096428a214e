"""Load an ONNX file into a clean, static-shaped, constant-folded ONNX model.

Steps, each turning a class of exporter quirks into a clear error or a normal form:
  1. read it (external weight data embedded), run the validation stage (validate.py: every problem
     of the file at once) and `onnx.checker`;
  2. upgrade old opsets with onnx's version converter (IR-3 files listing their initializers among
     the graph inputs first lose them from the inputs);
  3. give every input a static shape of batch 1 (shapes.py: --input-shape, a symbolic batch, a fixed
     batch N > 1 compiled per sample; anything else dynamic is an error);
  4. alternate ONNX shape inference and constant folding until nothing changes, so shape
     arithmetic (Shape -> Gather -> Concat -> Reshape, ConstantOfShape, ...) becomes constants;
  5. require every remaining value to have a static shape, and run the validation stage's checks on
     the shapes (sizes a microcontroller can hold, weights fitting their inputs).
The importer (importer.py) then turns the result into tinygen's IR.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Callable

import numpy as np
import onnx
from onnx import external_data_helper, helper, numpy_helper, shape_inference
from onnx.reference import ReferenceEvaluator

from ..errors import ModelError
from .loaded import LoadedModel, ValueInfo
from .shapes import apply_input_shapes
from .validate import MAX_MAGNITUDE, check_loaded, check_proto

__all__ = ["LoadedModel", "ValueInfo", "load_model"]

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


def load_model(path: str | os.PathLike[str], input_shapes: dict[str, tuple[int, ...]] | None = None
               ) -> LoadedModel:
    """`input_shapes`: dimensions for named inputs (`--input-shape NAME=1,3,96,96`), see shapes.py."""
    path = os.fspath(path)
    model, source, external = _read(path)
    sha256 = hashlib.sha256(source).hexdigest()
    opset = _default_opset(model)
    upgraded_from = None
    _drop_initializer_inputs(model)
    if opset < MIN_OPSET:
        model = _upgrade(path, model, opset)
        upgraded_from, opset = opset, MIN_OPSET
    if opset > MAX_OPSET:
        raise ModelError(path, f"opset {opset} is newer than tinygen supports (up to {MAX_OPSET})",
                         hint=f"Export with opset_version={MAX_OPSET} or lower.")
    for rewrite in REWRITES:  # e.g. QOperator nodes expanded to DequantizeLinear -> op -> QuantizeLinear
        model = rewrite(path, model)
    output_ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in model.graph.output
                    if v.type.tensor_type.HasField("shape")}
    notes = apply_input_shapes(path, model, input_shapes)
    _drop_unbounded_clip_bounds(path, model)
    if external or upgraded_from or notes or input_shapes:
        source = _runnable_source(model, output_ranks)
    constants = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    model = _infer_and_fold(path, model, constants)
    values = _static_values(path, model, constants)
    loaded = LoadedModel(path, model, opset, constants, values, upgraded_from, notes, source, sha256)
    check_loaded(loaded)
    return loaded


def _runnable_source(model: onnx.ModelProto, output_ranks: dict[str, int]) -> bytes:
    """The changed model as one file onnxruntime runs: its outputs keep their rank with symbolic
    dimensions (the checker wants a shape; the old sizes may name the exported batch)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    for value in copy.graph.output:
        rank = output_ranks.get(value.name)
        if rank is not None and value.type.HasField("tensor_type"):
            shape = value.type.tensor_type.shape
            shape.SetInParent()
            for k in range(rank):
                shape.dim.add().dim_param = f"{value.name}_dim{k}"
    return copy.SerializeToString()


def _read(path: str) -> tuple[onnx.ModelProto, bytes, bool]:
    """(the model with any external data loaded, the file's bytes, whether it had external data)."""
    if not os.path.exists(path):
        raise ModelError(path, "no such file")
    if os.path.isdir(path):
        raise ModelError(path, "is a directory, not an ONNX file")
    try:
        with open(path, "rb") as handle:
            source = handle.read()
    except OSError as exc:
        raise ModelError(path, f"cannot be read: {exc.strerror or exc}") from None
    try:
        model = onnx.load_from_string(source)
    except Exception as exc:  # protobuf raises several unrelated types for garbage input
        raise ModelError(path, f"not a readable ONNX model ({type(exc).__name__}: {exc})".strip(),
                         hint="Check that the file is a complete .onnx export.") from None
    if len(model.graph.node) == 0:
        raise ModelError(path, "the file holds no graph nodes (is it an ONNX model?)")
    external = [t.name for t in external_data_helper._get_all_tensors(model)
                if external_data_helper.uses_external_data(t)]
    if external:  # weights in a side file: embed them, so OUT keeps one self-contained model
        try:
            external_data_helper.load_external_data_for_model(model, os.path.dirname(os.path.abspath(path)))
        except Exception as exc:
            raise ModelError(path, f"cannot read the external data of tensor '{external[0]}': {_first_line(exc)}",
                             hint="Keep the .data file next to the model, or export with external_data=False."
                             ) from None
    check_proto(path, model)  # every problem of the file at once, before any library reads the values
    try:
        onnx.checker.check_model(model)
    except Exception as exc:
        raise ModelError(path, f"the ONNX checker rejects the model: {_first_line(exc)}",
                         hint="Re-export the model, or repair it with onnx.checker's message.") from None
    return model, source, bool(external)


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
    """Old exporters list initializers among the graph inputs; they are constants, not inputs.

    IR version 3 requires that listing, and onnx's version converter checks it (an initializer it adds
    is 'in initializer but not in graph input'): without them the file is IR version 4 or later.
    """
    initializers = {init.name for init in model.graph.initializer}
    keep = [value for value in model.graph.input if value.name not in initializers]
    if len(keep) != len(model.graph.input):
        del model.graph.input[:]
        model.graph.input.extend(keep)
    model.ir_version = max(model.ir_version, 7)


def _drop_unbounded_clip_bounds(path: str, model: onnx.ModelProto) -> None:
    """A Clip bound of +inf (max) or -inf (min), or beyond ±1e30 (exporters write ±FLT_MAX), means no
    bound; the validation stage let them through for this. Other non-finite bounds are errors."""
    initializers = {init.name: init for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "Clip":
            continue
        for position, sign in ((1, -1.0), (2, 1.0)):
            if position >= len(node.input) or node.input[position] not in initializers:
                continue
            value = numpy_helper.to_array(initializers[node.input[position]]).astype(np.float64)
            if value.size != 1 or np.isnan(value).any():
                continue  # the importer reports non-scalar bounds; NaN was refused by the validation stage
            bound = float(value.ravel()[0])
            if bound * sign > MAX_MAGNITUDE:
                node.input[position] = ""
            elif abs(bound) > MAX_MAGNITUDE:
                raise ModelError(path, f"node '{node.name or 'Clip'}' (Clip): its {('min', 'max')[position - 1]} "
                                 f"bound is {bound:g}, which leaves no finite value")


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
    if _folded_size(node, constants, shapes) > MAX_FOLDED_ELEMENTS:
        return None  # left to the validation stage, which refuses tensors this large
    try:
        outputs = ReferenceEvaluator(node).run(None, {name: constants[name] for name in inputs})
    except Exception:
        return None  # leave it to the importer, which reports what it cannot handle
    return [np.asarray(out) for out in outputs]


def _folded_size(node: onnx.NodeProto, constants: dict[str, np.ndarray],
                 shapes: dict[str, tuple[int, ...]]) -> int:
    """The element count a fold would create, where known before creating it."""
    sizes = [math.prod(shapes[out]) for out in node.output if out in shapes]
    if node.op_type in ("ConstantOfShape", "Expand") and node.input[-1] in constants:
        dims = constants[node.input[-1]].astype(np.float64).ravel()
        sizes.append(int(min(float(np.prod(np.maximum(dims, 0))), 2.0**62)) if dims.size else 1)
    if node.op_type == "Tile" and len(node.input) > 1 and node.input[1] in constants:
        repeats = np.maximum(constants[node.input[1]].astype(np.float64), 0)
        sizes.append(int(min(constants[node.input[0]].size * float(np.prod(repeats)), 2.0**62)))
    if node.op_type == "Range" and all(name in constants for name in node.input[:3]):
        start, limit, delta = (float(np.asarray(constants[name]).ravel()[0]) for name in node.input[:3])
        sizes.append(int(min(abs((limit - start) / delta), 1 << 62)) if delta and math.isfinite(start + limit)
                     else 1 << 62)
    return max(sizes, default=0)


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
