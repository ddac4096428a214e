"""Gather and GatherND with constant indices (ops/gather.py): scalar indices (the axis disappears), 1-D and
N-D, negative ones, on every user axis of plain tensors and channels-last feature maps. Evenly spaced
indices run as a strided copy, an identity gather as nothing, others as a table copy."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .harness import Case, const, make_model, node, standard_tests, weights

I64 = np.int64


def gathered(case_id: str, shape, indices, axis, ops=None, nd=False):
    def build():
        op = "GatherND" if nd else "Gather"
        attrs = {} if nd else {"axis": axis}
        return make_model([node(op, ["x", "i"], "g", **attrs), node("Relu", ["g"], "y")], {"x": list(shape)},
                          ["y"], {"i": const(indices, I64)})
    return Case(case_id, build, ops=ops, steps=1.0)


def conv_gather(case_id: str, indices, axis, ops=None, tail=None):
    """Conv -> Gather on a channels-last feature map, indexed on the user's NCHW axes."""
    def build():
        rng = np.random.default_rng(21)
        inits = {"W": weights(rng, 6, 3, 3, 3), "i": const(indices, I64)}
        nodes = [node("Conv", ["x", "W"], "c", pads=[1, 1, 1, 1]), node("Gather", ["c", "i"], "y" if tail is None
                                                                         else "g", axis=axis)]
        if tail is not None:
            nodes += tail(inits, rng)
        return make_model(nodes, {"x": [1, 3, 5, 4]}, ["y"], inits)
    return Case(case_id, build, ops=ops)


def pool_identity_gather() -> object:
    """torch.export after a global pool: Gather(indices = arange(C)) on the channel axis, then a Gemm."""
    rng = np.random.default_rng(22)
    inits = {"W": weights(rng, 6, 3, 3, 3), "i": const(np.arange(6), I64), "F": weights(rng, 4, 6),
             "shape": const([1, 6], I64)}
    nodes = [node("Conv", ["x", "W"], "c", pads=[1, 1, 1, 1]), node("GlobalAveragePool", ["c"], "p"),
             node("Reshape", ["p", "shape"], "f"), node("Gather", ["f", "i"], "g", axis=1),
             node("Gemm", ["g", "F"], "y", transB=1)]
    return make_model(nodes, {"x": [1, 3, 6, 6]}, ["y"], inits)


def shape_arithmetic() -> object:
    """Indices and shapes computed from the input's shape, as exporters write x[:, :, torch.arange(x.size(2))]
    and x.view(n, c // 2, -1): Shape, Gather, Cast, Range, Div, Unsqueeze, Concat -- all folded by the loader,
    leaving an identity Gather (nothing) and a Reshape of a feature map (one copy to the NCHW order)."""
    inits = {"two": const(2, I64), "zero": const(0, I64), "one": const(1, I64), "ax": const([0], I64),
             "i0": const(0, I64), "i1": const(1, I64), "i2": const(2, I64), "minus1": const([-1], I64),
             "W": weights(np.random.default_rng(23), 4, 3, 3, 3)}
    nodes = [node("Conv", ["x", "W"], "c", pads=[1, 1, 1, 1]), node("Shape", ["c"], "s"),
             node("Gather", ["s", "i2"], "h", axis=0), node("Cast", ["h"], "hf", to=1),
             node("Cast", ["hf"], "hi", to=7), node("Range", ["zero", "hi", "one"], "idx"),
             node("Gather", ["c", "idx"], "g", axis=2), node("Gather", ["s", "i0"], "n", axis=0),
             node("Gather", ["s", "i1"], "ch", axis=0), node("Div", ["ch", "two"], "c2"),
             node("Unsqueeze", ["n", "ax"], "n1"), node("Unsqueeze", ["c2", "ax"], "c21"),
             node("Concat", ["n1", "c21", "minus1"], "target", axis=0), node("Reshape", ["g", "target"], "y")]
    graph = helper.make_graph(nodes, "case", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 3, 2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 12])],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model


def last_token(inits, rng):
    inits["F"] = weights(rng, 4, 6)
    return [node("Gemm", ["g", "F"], "y", transB=1)]


def last_token_output() -> object:
    """x[:, -1] of a linear map's tokens, reshaped, as the model output: the gather and the reshape compose
    into one copy (a model output is never made a view of another tensor's bytes)."""
    rng = np.random.default_rng(24)
    inits = {"E": weights(rng, 6, 8), "i": const(-1, I64), "shape": const([1, 2, 4], I64)}
    nodes = [node("MatMul", ["x", "E"], "t"), node("Gather", ["t", "i"], "g", axis=1),
             node("Reshape", ["g", "shape"], "y")]
    return make_model(nodes, {"x": [1, 5, 6]}, ["y"], inits)


CASES = [
    Case("gather_view_reshaped_output", last_token_output, ops=["fully_connected", "copy"]),
    gathered("gather_scalar_last", (1, 5, 7), -1, 1, ops=["slice_view", "lut"]),  # x[:, -1]: a view
    gathered("gather_scalar_first", (1, 5, 7), 0, 2, ops=["copy", "lut"]),  # x[:, :, 0]
    gathered("gather_identity", (1, 5, 7), np.arange(7), 2, ops=["lut"]),  # disappears
    gathered("gather_1d_permuted", (1, 4, 6), [5, 0, 3, 3, -1], 2, ops=["gather", "lut"]),
    gathered("gather_2d_indices", (1, 6, 3), [[0, 2], [5, -2]], 1, ops=["gather", "lut"]),
    gathered("gather_evenly_spaced", (1, 9, 4), [7, 5, 3, 1], 1, ops=["copy", "lut"]),
    gathered("gather_rank5", (1, 2, 3, 4, 2), [3, 1], 3, ops=["copy", "lut"]),
    gathered("gathernd_pairs", (1, 4, 5), [[0, 1], [0, 3], [0, 0]], None, nd=True),
    gathered("gathernd_rows", (1, 4, 5), [[0, 2], [0, -1]], None, nd=True),
    conv_gather("gather_fmap_channels", [4, 1, 2], 1, ops=["conv2d", "gather"]),
    conv_gather("gather_fmap_channel_scalar", 2, 1, ops=["conv2d", "copy"]),
    conv_gather("gather_fmap_rows", [-1, 0, 2], 2, ops=["conv2d", "gather"]),
    conv_gather("gather_fmap_column_scalar", 3, 3, ops=["conv2d", "copy"]),
    Case("gather_shape_arithmetic_folded", shape_arithmetic, ops=["conv2d", "copy"]),
    Case("gather_identity_after_pool", pool_identity_gather, ops=["conv2d", "avg_pool", "reshape",
                                                                    "fully_connected"], sqnr_db=20.0),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
