"""Layout and graph-plumbing ops: Flatten / Reshape (constant shapes, and a shape computed by
Shape -> Gather -> Unsqueeze -> Concat, which the loader folds), Squeeze / Unsqueeze, Transpose,
Identity, Dropout, Constant and ConstantOfShape nodes. All move values: a chain of them alone is
exact to 0.5 step; behind a conv or fully connected layer the layer's bound applies."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from .harness import Case, const, make_model, node, standard_tests, weights

RNG_SEED = 71


def conv_fmap(nodes_after, out="y", extra_inits=None, shape=(1, 3, 6, 6), channels=4, extra_outputs=(),
              symbolic_batch=True):
    """x -> Conv(3x3, pad 1) -> 'c', then `nodes_after`."""
    def build():
        rng = np.random.default_rng(RNG_SEED)
        inits = {"W": weights(rng, channels, shape[1], 3, 3),
                 "B": (rng.standard_normal(channels) * 0.2).astype(np.float32)}
        inits.update({k: (v(rng) if callable(v) else v) for k, v in (extra_inits or {}).items()})
        nodes = [node("Conv", ["x", "W", "B"], "c", name="conv", pads=[1, 1, 1, 1]), *nodes_after]
        return make_model(nodes, {"x": list(shape)}, [out, *extra_outputs], inits, symbolic_batch=symbolic_batch)
    return build


def fc_weights(n: int, k: int):
    return lambda rng: weights(rng, n, k)


def shape_gather_concat() -> onnx.ModelProto:
    """x.view(x.size(0), -1) as the legacy PyTorch exporter writes it, then a Gemm."""
    rng = np.random.default_rng(RNG_SEED)
    inits = {"W": weights(rng, 4, 3, 3, 3), "F": weights(rng, 5, 4 * 6 * 6), "zero": const(0, np.int64),
             "minus_one": const([-1], np.int64), "ax0": const([0], np.int64)}
    nodes = [node("Conv", ["x", "W"], "c", pads=[1, 1, 1, 1]),
             node("Shape", ["c"], "c_shape"),
             node("Gather", ["c_shape", "zero"], "batch", axis=0),
             node("Unsqueeze", ["batch", "ax0"], "batch_1d"),
             node("Concat", ["batch_1d", "minus_one"], "target", axis=0),
             node("Reshape", ["c", "target"], "flat"),
             node("Gemm", ["flat", "F"], "y", transB=1)]
    return make_model(nodes, {"x": [1, 3, 6, 6]}, ["y"], inits)


def constant_nodes() -> onnx.ModelProto:
    """Weights, bias and an Add operand given by Constant nodes (value, value_float, value_floats)."""
    rng = np.random.default_rng(RNG_SEED)
    w = weights(rng, 4, 3, 3, 3)
    nodes = [helper.make_node("Constant", [], ["W"], value=onnx.numpy_helper.from_array(w)),
             helper.make_node("Constant", [], ["B"], value_floats=[0.1, -0.2, 0.3, 0.0]),
             helper.make_node("Constant", [], ["k"], value_float=0.25),
             node("Conv", ["x", "W", "B"], "c", pads=[1, 1, 1, 1]),
             node("Add", ["c", "k"], "y")]
    return make_model(nodes, {"x": [1, 3, 6, 6]}, ["y"])


def constant_of_shape() -> onnx.ModelProto:
    """An offset built at run time from the input's shape: ConstantOfShape(Shape(x)[1:2]) -> Add."""
    value = helper.make_tensor("value", TensorProto.FLOAT, [1], [0.5])
    nodes = [node("Shape", ["x"], "s", start=1, end=2),
             helper.make_node("ConstantOfShape", ["s"], ["half"], value=value),
             node("Add", ["x", "half"], "y")]
    return make_model(nodes, {"x": [1, 7]}, ["y"], opset=15)


def squeeze_excite_linear() -> onnx.ModelProto:
    """GAP -> Squeeze -> Gemm -> Relu -> Gemm -> HardSigmoid -> Unsqueeze x2 -> Mul with the input."""
    rng = np.random.default_rng(RNG_SEED)
    inits = {"axes_hw": const([2, 3], np.int64), "W1": weights(rng, 2, 6), "W2": weights(rng, 6, 2),
             "b2": (rng.standard_normal(6)).astype(np.float32)}
    nodes = [node("GlobalAveragePool", ["x"], "g"), node("Squeeze", ["g", "axes_hw"], "s"),
             node("Gemm", ["s", "W1"], "h", transB=1), node("Relu", ["h"], "hr"),
             node("Gemm", ["hr", "W2", "b2"], "e", transB=1), node("HardSigmoid", ["e"], "gate", alpha=1 / 6),
             node("Unsqueeze", ["gate", "axes_hw"], "gate4"), node("Mul", ["x", "gate4"], "y")]
    return make_model(nodes, {"x": [1, 6, 4, 4]}, ["y"], inits)


def conv1d_unsqueeze_conv2d() -> onnx.ModelProto:
    rng = np.random.default_rng(RNG_SEED)
    inits = {"W1": weights(rng, 4, 3, 3), "ax": const([2], np.int64), "W2": weights(rng, 5, 4, 1, 3)}
    nodes = [node("Conv", ["x", "W1"], "c", pads=[1, 1]), node("Unsqueeze", ["c", "ax"], "u"),
             node("Conv", ["u", "W2"], "y")]
    return make_model(nodes, {"x": [1, 3, 12]}, ["y"], inits)


def plumbing(nodes, inits=None, shape=(1, 4, 3, 5), opset=13):
    def build():
        return make_model(nodes, {"x": list(shape)}, ["y"], inits or {}, opset=opset)
    return build


CASES = [
    Case("gap_flatten_gemm", conv_fmap([node("GlobalAveragePool", ["c"], "g"), node("Flatten", ["g"], "f"),
                                        node("Gemm", ["f", "F"], "y", transB=1)], extra_inits={"F": fc_weights(5, 4)}),
         ops=["conv2d", "avg_pool", "reshape", "fully_connected"], sqnr_db=20.0),  # the pool's SQNR (test_pool)
    # Flatten of a feature map with H*W > 1 into a Gemm: the transpose to ONNX's C,H,W order is
    # folded into the Gemm's weights (passes/fold_flatten_transpose.py).
    Case("conv_flatten_gemm", conv_fmap([node("Relu", ["c"], "r"), node("Flatten", ["r"], "f"),
                                         node("Gemm", ["f", "F"], "y", transB=1)],
                                        extra_inits={"F": fc_weights(5, 4 * 36)}),
         ops=["conv2d", "reshape", "fully_connected"]),
    Case("conv_reshape_matmul", conv_fmap([node("Reshape", ["c", "shape"], "f"), node("MatMul", ["f", "F"], "y")],
                                          extra_inits={"shape": const([1, -1], np.int64),
                                                       "F": lambda rng: weights(rng, 4 * 36, 3)}),
         ops=["conv2d", "reshape", "fully_connected"]),
    Case("reshape_shape_gather_concat", shape_gather_concat, ops=["conv2d", "reshape", "fully_connected"]),
    # Flatten as the model output: the values must come out in ONNX's C,H,W order.
    Case("conv_flatten_output", conv_fmap([node("Flatten", ["c"], "y")]),
         ops=["conv2d", "copy"]),  # transpose + reshape composed (passes/fold_copies.py)
    Case("reshape_fmap_to_fmap", conv_fmap([node("Reshape", ["c", "shape"], "r"), node("Relu", ["r"], "y")],
                                           extra_inits={"shape": const([1, 8, 3, 6], np.int64)})),
    Case("reshape_features_to_fmap_conv", plumbing(
        [node("Reshape", ["x", "shape"], "r"), node("Conv", ["r", "W"], "y", pads=[1, 1, 1, 1])],
        {"shape": const([1, 2, 3, 4], np.int64), "W": weights(np.random.default_rng(1), 3, 2, 3, 3)},
        shape=(1, 24))),
    # Reshapes that keep N and C of channels-last feature maps and only regroup the spatial axes
    # ([N, C, L] <-> [N, C, 1, L], as the torch.export-based exporter writes AdaptiveAvgPool1d)
    # are free: no transpose.
    Case("conv1d_unsqueeze_conv2d", conv1d_unsqueeze_conv2d, ops=["conv2d", "conv2d"]),  # same stored shape
    Case("conv2d_reshape_conv1d", conv_fmap([node("Reshape", ["c", "shape"], "r"), node("Conv", ["r", "W1"], "y")],
                                            extra_inits={"shape": const([1, 4, 36], np.int64),
                                                         "W1": lambda rng: weights(rng, 3, 4, 3)}),
         ops=["conv2d", "reshape", "conv2d"]),
    Case("squeeze_unsqueeze_se", squeeze_excite_linear, sqnr_db=25.0),
    # Without axes Squeeze drops every 1, the batch too: only a model with a fixed batch has it.
    Case("squeeze_no_axes", conv_fmap([node("GlobalAveragePool", ["c"], "g"), node("Squeeze", ["g"], "s"),
                                       node("Unsqueeze", ["s", "ax0"], "y")],
                                      extra_inits={"ax0": const([0], np.int64)}, symbolic_batch=False),
         ops=["conv2d", "avg_pool", "reshape", "reshape"], sqnr_db=20.0),
    Case("unsqueeze_features", plumbing([node("Unsqueeze", ["x", "ax"], "y")], {"ax": const([1, 3], np.int64)},
                                        shape=(1, 6)), ops=["reshape"], steps=0.5),
    Case("transpose_nchw_to_nhwc", plumbing([node("Transpose", ["x"], "y", perm=[0, 2, 3, 1])]), steps=0.5),
    Case("transpose_hw", plumbing([node("Transpose", ["x"], "y", perm=[0, 1, 3, 2])]), steps=0.5),
    Case("transpose_tokens", plumbing([node("Transpose", ["x"], "t", perm=[0, 2, 1]),
                                       node("MatMul", ["t", "F"], "y")],
                                      {"F": weights(np.random.default_rng(2), 4, 5).T.copy()}, shape=(1, 5, 6))),
    Case("identity_dropout", conv_fmap([node("Dropout", ["c", "ratio"], "d"), node("Identity", ["d"], "i"),
                                        node("Relu", ["i"], "y")], extra_inits={"ratio": const(0.3)}),
         ops=["conv2d"]),
    Case("dropout_mask_unused", conv_fmap([node("Dropout", ["c"], ["y", ""])]), ops=["conv2d"]),
    Case("identity_as_output", conv_fmap([node("Identity", ["c"], "y")]), ops=["conv2d"]),
    Case("constant_nodes", constant_nodes, ops=["conv2d"]),
    # Nothing to compute: the output is the input (calibration has no tensor to observe).
    Case("identity_input_to_output", plumbing([node("Identity", ["x"], "y")], shape=(1, 6)), ops=[], steps=0.5),
    Case("flatten_input_to_output", plumbing([node("Flatten", ["x"], "y")]), ops=["copy"], steps=0.5),
    Case("constant_of_shape", constant_of_shape, ops=["add"]),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
