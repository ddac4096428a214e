"""ONNX Conv: 2-D with every kernel/stride/dilation/padding form, groups 1, depthwise (with channel
multiplier), general grouped, and 1-D; with and without bias."""

from __future__ import annotations

import numpy as np

from .harness import Case, make_model, node, standard_tests, weights


def conv_case(case_id: str, in_shape: list[int], out_channels: int, kernel: list[int], *, group: int = 1,
              bias: bool = True, steps: float = 3.0, **attrs: object) -> Case:
    def build():
        rng = np.random.default_rng(len(case_id))
        w = weights(rng, out_channels, in_shape[1] // group, *kernel)
        inits = {"W": w}
        inputs = ["x", "W"]
        if bias:
            inits["B"] = (rng.standard_normal(out_channels) * 0.3).astype(np.float32)
            inputs.append("B")
        conv = node("Conv", inputs, "y", name="conv", group=group, kernel_shape=kernel, **attrs)
        return make_model([conv], {"x": in_shape}, ["y"], inits)

    op = "depthwise_conv2d" if group == in_shape[1] and group > 1 else "conv2d"
    return Case(case_id, build, steps=steps, ops=[op])



def causal_tcn_block() -> Case:
    """A temporal block as TCNs write it with a left pad (F.pad(x, ((k-1)d, 0))) before each dilated Conv1d:
    the Pad folds into the conv's own (asymmetric) padding, and the residual Add joins the second conv."""
    def build():
        rng = np.random.default_rng(41)
        inits = {"W1": weights(rng, 4, 4, 3), "W2": weights(rng, 4, 4, 3),
                 "p1": np.array([0, 0, 4, 0, 0, 0], np.int64), "p2": np.array([0, 0, 8, 0, 0, 0], np.int64)}
        return make_model([node("Pad", ["x", "p1"], "a"), node("Conv", ["a", "W1"], "c1", dilations=[2]),
                           node("Relu", ["c1"], "r1"), node("Pad", ["r1", "p2"], "b"),
                           node("Conv", ["b", "W2"], "c2", dilations=[4]), node("Add", ["c2", "x"], "s"),
                           node("Relu", ["s"], "y")], {"x": [1, 4, 24]}, ["y"], inits)

    return Case("tcn_causal_block", build, steps=4.0, ops=["conv2d", "conv2d", "add"])


CASES = [
    conv_case("conv_1x1", [1, 8, 6, 6], 12, [1, 1]),
    conv_case("conv_3x3_pad1", [1, 3, 8, 8], 8, [3, 3], pads=[1, 1, 1, 1]),
    conv_case("conv_3x3_nobias", [1, 3, 8, 8], 8, [3, 3], bias=False),
    conv_case("conv_5x3_nonsquare", [1, 4, 9, 7], 6, [5, 3], pads=[2, 1, 2, 1]),
    conv_case("conv_stride2", [1, 4, 9, 9], 6, [3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    conv_case("conv_stride_2x1", [1, 4, 8, 7], 5, [3, 3], strides=[2, 1]),
    conv_case("conv_dilation2", [1, 4, 10, 10], 6, [3, 3], dilations=[2, 2], pads=[2, 2, 2, 2]),
    conv_case("conv_dilation_1x3", [1, 3, 9, 11], 4, [3, 3], dilations=[1, 3]),
    conv_case("conv_asymmetric_pads", [1, 4, 7, 8], 6, [3, 3], pads=[0, 1, 2, 0]),
    conv_case("conv_same_upper_stride2", [1, 4, 8, 8], 6, [3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
    conv_case("conv_same_lower_stride2", [1, 4, 8, 8], 6, [3, 3], strides=[2, 2], auto_pad="SAME_LOWER"),
    conv_case("conv_same_upper_even_kernel", [1, 3, 7, 7], 4, [4, 4], auto_pad="SAME_UPPER"),
    conv_case("conv_same_lower_even_kernel", [1, 3, 7, 7], 4, [4, 4], auto_pad="SAME_LOWER"),
    conv_case("conv_valid", [1, 4, 9, 8], 6, [3, 2], strides=[2, 2], auto_pad="VALID"),
    conv_case("depthwise_3x3", [1, 8, 8, 8], 8, [3, 3], group=8, pads=[1, 1, 1, 1]),
    conv_case("depthwise_stride2_asym", [1, 6, 9, 9], 6, [3, 3], group=6, strides=[2, 2], pads=[0, 0, 1, 1]),
    conv_case("depthwise_dilated_nobias", [1, 4, 10, 10], 4, [3, 3], group=4, dilations=[2, 2], bias=False),
    conv_case("depthwise_multiplier2", [1, 4, 8, 8], 8, [3, 3], group=4, pads=[1, 1, 1, 1]),
    conv_case("depthwise_multiplier3_same", [1, 3, 7, 7], 9, [5, 5], group=3, auto_pad="SAME_UPPER"),
    conv_case("grouped_2", [1, 4, 8, 8], 6, [3, 3], group=2, pads=[1, 1, 1, 1]),
    conv_case("grouped_4_stride2", [1, 8, 8, 8], 8, [3, 3], group=4, strides=[2, 2]),
    conv_case("grouped_3_1x1", [1, 6, 5, 5], 9, [1, 1], group=3),
    conv_case("conv1d_k3", [1, 4, 20], 6, [3], pads=[1, 1]),
    conv_case("conv1d_stride2_dilated", [1, 3, 31], 5, [5], strides=[2], dilations=[2], pads=[2, 3]),
    conv_case("conv1d_same_upper", [1, 3, 16], 4, [4], strides=[2], auto_pad="SAME_UPPER"),
    conv_case("conv1d_depthwise", [1, 6, 16], 6, [3], group=6, pads=[1, 1]),
    conv_case("conv1d_grouped", [1, 6, 16], 4, [3], group=2),
    causal_tcn_block(),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)

