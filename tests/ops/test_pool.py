"""MaxPool (pads, strides, dilations, ceil_mode), AveragePool (count_include_pad 0/1, ceil_mode),
GlobalAveragePool / GlobalMaxPool, and ReduceMean / ReduceMax over H, W (axes as an opset-13
attribute and as an opset-18 input; keepdims 0 and 1); 1-D pools of [N, C, L].

Max pooling moves values (0.5 step); average pooling of these float models gets its own calibrated
output parameters and requantizes the sum once (TFLM's integer mean): 0.5 (input) + 0.5 (the output's
rounding) = 1 step. The floors are kept from when the pool kept the input's scale (the default minus
10 log10(K) dB for K values averaged); global_pool in tests/test_user_models_data.py checks the gain."""

from __future__ import annotations

import numpy as np

from .harness import Case, const, make_model, node, standard_tests, weights

FMAP = [1, 3, 9, 9]


def pool_case(case_id: str, op: str, shape=FMAP, opset: int = 13, inits=None, extra_inputs=(), **attrs) -> Case:
    def build():
        return make_model([node(op, ["x", *extra_inputs], "y", name="pool", **attrs)], {"x": shape}, ["y"],
                          inits or {}, opset=opset)
    ir_op = "max_pool" if "Max" in op else "avg_pool"
    if ir_op == "max_pool":
        return Case(case_id, build, ops=[ir_op], steps=0.5)
    window = int(np.prod(attrs.get("kernel_shape") or shape[2:]))
    return Case(case_id, build, ops=[ir_op], steps=1.0, sqnr_db=30.0 - 10 * np.log10(window))


def conv1d_then_reduce(case_id: str, op: str, **attrs) -> Case:
    """A mean / max over L of a 1-D feature map [N, C, L] that a Conv1D produces."""
    def build():
        rng = np.random.default_rng(41)
        return make_model([node("Conv", ["x", "W"], "c", pads=[1, 1]), node(op, ["c"], "y", **attrs)],
                          {"x": [1, 3, 10]}, ["y"], {"W": weights(rng, 5, 3, 3)})
    ir_op = "max_pool" if "Max" in op else "avg_pool"
    return Case(case_id, build, ops=["conv2d", ir_op], sqnr_db=30.0 - 10 * np.log10(10))


CASES = [
    pool_case("maxpool_2x2", "MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
    pool_case("maxpool_3x3_pads", "MaxPool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    pool_case("maxpool_asym_pads", "MaxPool", kernel_shape=[3, 2], pads=[0, 1, 2, 0]),
    pool_case("maxpool_dilation", "MaxPool", kernel_shape=[2, 2], dilations=[2, 2]),
    pool_case("maxpool_ceil", "MaxPool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
    pool_case("maxpool_ceil_pads", "MaxPool", [1, 2, 8, 8], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
              ceil_mode=1),
    pool_case("maxpool_same_upper", "MaxPool", [1, 2, 8, 8], kernel_shape=[3, 3], strides=[2, 2],
              auto_pad="SAME_UPPER"),
    pool_case("maxpool_1d", "MaxPool", [1, 3, 17], kernel_shape=[3], strides=[2], pads=[1, 1]),
    pool_case("avgpool_2x2", "AveragePool", kernel_shape=[2, 2], strides=[2, 2]),
    pool_case("avgpool_pads_exclude", "AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    pool_case("avgpool_pads_include", "AveragePool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
              count_include_pad=1),
    pool_case("avgpool_asym_pads_include", "AveragePool", kernel_shape=[3, 3], pads=[0, 2, 1, 0],
              count_include_pad=1),
    pool_case("avgpool_ceil", "AveragePool", kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
    pool_case("avgpool_ceil_include", "AveragePool", [1, 2, 8, 8], kernel_shape=[3, 3], strides=[2, 2],
              pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1),
    pool_case("avgpool_ceil_exclude", "AveragePool", [1, 2, 8, 8], kernel_shape=[3, 3], strides=[2, 2],
              pads=[1, 1, 1, 1], ceil_mode=1),
    pool_case("avgpool_1d", "AveragePool", [1, 3, 16], kernel_shape=[4], strides=[4]),
    pool_case("global_avgpool", "GlobalAveragePool"),
    pool_case("global_maxpool", "GlobalMaxPool"),
    pool_case("global_avgpool_1d", "GlobalAveragePool", [1, 4, 12]),
    pool_case("reducemean_attr_keepdims", "ReduceMean", axes=[2, 3], keepdims=1),
    pool_case("reducemean_attr_no_keepdims", "ReduceMean", axes=[-2, -1], keepdims=0),
    pool_case("reducemean_input_keepdims", "ReduceMean", opset=18, inits={"axes": const([2, 3], np.int64)},
              extra_inputs=["axes"], keepdims=1),
    pool_case("reducemean_input_no_keepdims", "ReduceMean", opset=18, inits={"axes": const([3, 2], np.int64)},
              extra_inputs=["axes"], keepdims=0),
    conv1d_then_reduce("conv1d_reducemean", "ReduceMean", axes=[2], keepdims=0),
    conv1d_then_reduce("conv1d_reducemax", "ReduceMax", axes=[-1], keepdims=1),
    pool_case("reducemax_attr", "ReduceMax", axes=[2, 3], keepdims=1),
    pool_case("reducemax_input", "ReduceMax", opset=18, inits={"axes": const([2, 3], np.int64)},
              extra_inputs=["axes"], keepdims=0),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
