"""ReduceMean / ReduceMax / ReduceMin / ReduceSum over any set of axes of feature maps (stored channels-last)
and plain tensors, keepdims either way, axes as attribute (opset 13) or input (opset 18, ReduceSum 13),
all axes; the spatial mean and max stay global pools; and Abs (a lookup table)."""

from __future__ import annotations

import numpy as np

from .harness import Case, const, make_model, node, standard_tests, weights

FMAP = [1, 4, 5, 6]


def reduce_case(case_id: str, op: str, axes: list[int] | None, *, keepdims: int = 1, shape=FMAP, opset: int = 13,
                conv: bool = False, ops: list[str] | None = None, steps: float = 3.0, sqnr_db: float = 30.0) -> Case:
    def build():
        nodes, inits, source = [], {}, "x"
        if conv:  # a feature map from a convolution (so its layout is channels-last for certain)
            rng = np.random.default_rng(len(case_id))
            inits["W"] = weights(rng, shape[1], shape[1], *([3] * (len(shape) - 2)))
            nodes.append(node("Conv", ["x", "W"], "c", pads=[1] * (2 * (len(shape) - 2))))
            source = "c"
        as_input = opset >= 18 or (op == "ReduceSum" and opset >= 13)
        inputs = [source]
        attrs: dict[str, object] = {"keepdims": keepdims}
        if axes is not None:
            if as_input:
                inits["axes"] = const(axes, np.int64)
                inputs.append("axes")
            else:
                attrs["axes"] = axes
        nodes.append(node(op, inputs, "y", name="reduce", **attrs))
        return make_model(nodes, {"x": shape}, ["y"], inits, opset=opset)

    kind = "reduce_minmax" if op in ("ReduceMax", "ReduceMin") else "reduce"
    expected = ops if ops is not None else (["conv2d"] if conv else []) + [kind]
    return Case(case_id, build, ops=expected, steps=steps, sqnr_db=sqnr_db)


CASES = [
    reduce_case("mean_channels_keepdims", "ReduceMean", [1], conv=True),
    reduce_case("mean_channels_dropped", "ReduceMean", [1], keepdims=0, conv=True),
    reduce_case("mean_height_dropped", "ReduceMean", [2], keepdims=0, conv=True,
                ops=["conv2d", "transpose", "reduce"]),
    # A global average pool keeps its input's parameters (TFLite's rule, ops/pool.py): the mean of 30 values
    # spans ~1/sqrt(30) of that range, 10 log10(30) / 2 = 7.4 dB less signal (as tests/ops/test_pool.py).
    reduce_case("mean_spatial_global_pool", "ReduceMean", [2, 3], conv=True, ops=["conv2d", "avg_pool"],
                sqnr_db=30.0 - 5 * np.log10(30)),
    reduce_case("max_spatial_global_pool", "ReduceMax", [-1, -2], keepdims=0, conv=True, ops=["conv2d", "max_pool"]),
    reduce_case("max_channels_width", "ReduceMax", [1, 3], conv=True),
    reduce_case("min_height_keepdims", "ReduceMin", [2], conv=True),
    reduce_case("min_spatial", "ReduceMin", [2, 3], keepdims=0, conv=True),
    reduce_case("sum_channels_opset13_input", "ReduceSum", [1], conv=True),
    reduce_case("sum_all_axes", "ReduceSum", None, keepdims=1, conv=True),
    reduce_case("mean_opset18_axes_input", "ReduceMean", [1, 2], keepdims=0, opset=18, conv=True),
    reduce_case("max_opset18_length_1d", "ReduceMax", [2], keepdims=0, shape=[1, 4, 9], opset=18, conv=True,
                ops=["conv2d", "max_pool"]),
    reduce_case("mean_channels_1d", "ReduceMean", [1], keepdims=0, shape=[1, 4, 9], conv=True),
    reduce_case("mean_tokens_plain", "ReduceMean", [1], keepdims=1, shape=[1, 6, 8]),
    reduce_case("sum_features_plain_dropped", "ReduceSum", [-1], keepdims=0, shape=[1, 6, 8]),
    # Was compiled as a global pool over the wrong axes (silently wrong C), then refused: now the reduction.
    reduce_case("mean_time_plain_rank3_dropped", "ReduceMean", [2], keepdims=0, shape=[1, 5, 10]),
    reduce_case("min_features_2d", "ReduceMin", [1], keepdims=1, shape=[1, 12]),
    Case("abs", lambda: make_model([node("Abs", ["x"], "y", name="abs")], {"x": FMAP}, ["y"]), ops=["lut"]),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)
