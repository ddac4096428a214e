"""ONNX ConvTranspose: 2-D and 1-D, stride, pads, output_padding, dilation, groups (depthwise included),
auto_pad SAME_UPPER / SAME_LOWER / VALID, the output_shape attribute, no bias; a BatchNormalization after
it folded into it, a Relu into its clamp; and the refusals with the message a user sees."""

from __future__ import annotations

import numpy as np
import pytest

import tinygen
from tinygen.errors import UnsupportedModelError

from .harness import Case, make_model, node, standard_tests
from .test_batchnorm import bn_node, bn_params


def transpose_case(case_id: str, in_shape: list[int], out_channels: int, kernel: list[int], *, group: int = 1,
                   bias: bool = True, after: str = "", steps: float = 3.0, **attrs: object) -> Case:
    def build():
        rng = np.random.default_rng(len(case_id))
        in_c = in_shape[1]
        # ONNX weights [C_in, C_out / group, *kernel]; scaled so the outputs stay ~N(0, 1).
        taps = int(np.prod(kernel)) * in_c // group
        w = (rng.standard_normal((in_c, out_channels // group, *kernel)) / np.sqrt(taps) * 2).astype(np.float32)
        inits = {"W": w}
        inputs = ["x", "W"]
        if bias:
            inits["B"] = (rng.standard_normal(out_channels) * 0.3).astype(np.float32)
            inputs.append("B")
        last = "y" if not after else "t"
        nodes = [node("ConvTranspose", inputs, last, name="deconv", group=group, kernel_shape=kernel, **attrs)]
        if after == "bn":
            inits.update(bn_params(rng, out_channels))
            nodes.append(bn_node("t", "y", epsilon=1e-3))
        elif after == "bn_relu":
            inits.update(bn_params(rng, out_channels))
            nodes += [bn_node("t", "b"), node("Relu", ["b"], "y")]
        return make_model(nodes, {"x": in_shape}, ["y"], inits)

    return Case(case_id, build, steps=steps, ops=["conv_transpose2d"])


CASES = [
    transpose_case("deconv_k2_s2", [1, 6, 5, 5], 4, [2, 2], strides=[2, 2]),
    transpose_case("deconv_k3_s2_pad1_outpad1", [1, 4, 5, 6], 6, [3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                   output_padding=[1, 1]),
    transpose_case("deconv_k4_s2_pad1", [1, 3, 4, 4], 5, [4, 4], strides=[2, 2], pads=[1, 1, 1, 1]),
    transpose_case("deconv_k3_s1_pad1_nobias", [1, 5, 6, 6], 4, [3, 3], pads=[1, 1, 1, 1], bias=False),
    transpose_case("deconv_asym_pads_stride_3x2", [1, 4, 4, 5], 3, [3, 2], strides=[3, 2], pads=[0, 1, 2, 0]),
    transpose_case("deconv_dilation2", [1, 3, 5, 5], 4, [3, 3], strides=[2, 2], dilations=[2, 2]),
    transpose_case("deconv_dilation_stride_coprime", [1, 3, 5, 6], 4, [3, 3], strides=[2, 3], dilations=[3, 2],
                   pads=[1, 2, 0, 1]),
    transpose_case("deconv_grouped_2", [1, 4, 5, 5], 6, [3, 3], group=2, strides=[2, 2], pads=[1, 1, 1, 1],
                   output_padding=[1, 1]),
    transpose_case("deconv_depthwise", [1, 6, 5, 5], 6, [4, 4], group=6, strides=[2, 2], pads=[1, 1, 1, 1]),
    transpose_case("deconv_same_upper", [1, 4, 5, 5], 4, [3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
    transpose_case("deconv_same_lower_odd_total", [1, 4, 6, 6], 4, [3, 3], strides=[2, 2], dilations=[2, 2],
                   auto_pad="SAME_LOWER"),
    transpose_case("deconv_valid", [1, 3, 4, 5], 4, [3, 2], strides=[2, 2], auto_pad="VALID"),
    transpose_case("deconv_output_shape", [1, 4, 5, 5], 4, [3, 3], strides=[2, 2], output_shape=[10, 9]),
    transpose_case("deconv_output_shape_same_upper", [1, 4, 5, 5], 4, [3, 3], strides=[2, 2],
                   output_shape=[10, 10], auto_pad="SAME_UPPER"),
    transpose_case("deconv_bn_folded", [1, 6, 5, 5], 4, [2, 2], strides=[2, 2], after="bn"),
    transpose_case("deconv_nobias_bn_relu", [1, 4, 4, 4], 6, [3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                   output_padding=[1, 1], bias=False, after="bn_relu"),
    transpose_case("deconv1d_k4_s2_pad1", [1, 4, 12], 3, [4], strides=[2], pads=[1, 1]),
    transpose_case("deconv1d_k3_s2_outpad1", [1, 3, 10], 5, [3], strides=[2], pads=[1, 1], output_padding=[1]),
    transpose_case("deconv1d_dilated_grouped", [1, 4, 9], 4, [3], group=2, dilations=[3]),
    transpose_case("deconv1d_bn_folded", [1, 4, 8], 6, [2], strides=[2], after="bn"),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)


def _compile(tmp_path, model) -> None:
    import onnx

    onnx.save(model, tmp_path / "m.onnx")
    tinygen.compile(tmp_path / "m.onnx", None, calib="random", warn=lambda _: None)


def test_same_with_output_padding_is_refused(tmp_path) -> None:
    """onnxruntime gives SAME + output_padding the size in * stride, ONNX's shape inference one more: refused
    with the export change that avoids it."""
    w = np.ones((2, 2, 3, 3), np.float32)
    model = make_model([node("ConvTranspose", ["x", "W"], "y", name="up", strides=[2, 2], auto_pad="SAME_UPPER",
                             output_padding=[1, 1])], {"x": [1, 2, 4, 4]}, ["y"], {"W": w})
    with pytest.raises(UnsupportedModelError, match=r"(?s)'up'.*auto_pad SAME_UPPER with output_padding.*explicit"):
        _compile(tmp_path, model)


def test_runtime_weights_are_refused(tmp_path) -> None:
    model = make_model([node("ConvTranspose", ["x", "w"], "y", name="up", strides=[2, 2])],
                       {"x": [1, 2, 4, 4], "w": [2, 2, 2, 2]}, ["y"], symbolic_batch=False)
    with pytest.raises(UnsupportedModelError, match=r"'up'.*weights are computed at run time"):
        _compile(tmp_path, model)



@pytest.mark.parametrize("group", [1, 2])
def test_onnxruntime_qdq_conv_transpose(tmp_path, group: int) -> None:
    """onnxruntime's per-channel QDQ ConvTranspose quantizes the weights along ONNX axis 1 (C_out / group):
    with group 1 those are tinygen's per-output-channel weights, kept as they are; with groups the layer is
    requantized from the real values. Both compile golden == host C and close to onnxruntime's float."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    from tinygen.verification import sqnr_db

    from ..conftest import assert_identical
    from .harness import onnxruntime_outputs

    rng = np.random.default_rng(7)
    w = (rng.standard_normal((4, 6 // group, 3, 3)) * 0.3).astype(np.float32)
    # onnxruntime's quantizer fails on a grouped ConvTranspose's bias (its C_out / group scales do not
    # broadcast over C_out), so the grouped case has none.
    inits = {"W": w, "B": (rng.standard_normal(6) * 0.1).astype(np.float32)} if group == 1 else {"W": w}
    model = make_model([node("ConvTranspose", ["x", *inits], "y", name="up", group=group, strides=[2, 2],
                             pads=[1, 1, 1, 1], output_padding=[1, 1])], {"x": [1, 4, 5, 5]}, ["y"], inits)
    onnx.save(model, tmp_path / "float.onnx")
    calib = rng.standard_normal((16, 1, 4, 5, 5)).astype(np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.samples = iter({"x": sample} for sample in calib)

        def get_next(self):
            return next(self.samples, None)

    quantize_static(str(tmp_path / "float.onnx"), str(tmp_path / "qdq.onnx"), Reader(),
                    quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QInt8,
                    weight_type=QuantType.QInt8)
    compiled = tinygen.compile(tmp_path / "qdq.onnx", tmp_path / "out", warn=lambda _: None)
    x = calib[:, 0]
    q = compiled.quantize(compiled.inputs[0], x)
    host = compiled.run(q, int8=True)
    assert_identical(compiled.golden(q, int8=True), host, f"QDQ ConvTranspose group {group}")
    reference = onnxruntime_outputs(tmp_path / "float.onnx", {"x": x})[0]
    sqnr = sqnr_db(reference, compiled.dequantize(compiled.outputs[0], host).reshape(reference.shape))
    assert sqnr >= 30.0, f"group {group}: SQNR {sqnr:.1f} dB"
