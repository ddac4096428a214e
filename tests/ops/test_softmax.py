"""Softmax and LogSoftmax over any axis of feature maps (channels, H, W: stored channels-last, so rows of values `inner`
apart), of plain tensors ([batch, tokens, features]), the opset < 13 'coerce to 2-D' form (the loader's
upgrade spells it Flatten -> Softmax -> Reshape), and the message for a softmax too wide for TFLite's
int8 algorithm, in the model's own axes."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

import tinygen
from tinygen.errors import UnsupportedModelError

from .harness import Case, make_model, node, standard_tests, weights

FMAP = [1, 4, 5, 6]


def softmax_case(case_id: str, shape: list[int], axis: int, opset: int = 13, conv: bool = False,
                 ops: list[str] | None = None, op: str = "Softmax") -> Case:
    """Softmax of the input (scaled so the exponentials differ), or of a convolution's output."""
    def build():
        nodes, inits, source = [], {}, "x"
        if conv:
            rng = np.random.default_rng(len(case_id))
            inits["W"] = weights(rng, shape[1], shape[1], *([3] * (len(shape) - 2)), scale=2.0)
            nodes.append(node("Conv", ["x", "W"], "c", pads=[1] * (2 * (len(shape) - 2))))
            source = "c"
        nodes.append(node(op, [source], "y", name="softmax", axis=axis))
        return make_model(nodes, {"x": shape}, ["y"], inits, opset=opset)

    # LogSoftmax's int8 output covers [-16, 0] (TFLite's fixed 16/256 steps): its inputs stay narrow enough.
    return Case(case_id, build, ops=ops or (["conv2d", "softmax"] if conv else ["softmax"]),
                input_scale={"x": 2.0 if op == "Softmax" else 0.7})


CASES = [
    softmax_case("softmax_channels_fmap", FMAP, 1, conv=True),
    softmax_case("softmax_height_fmap", FMAP, 2, conv=True),
    softmax_case("softmax_width_fmap", FMAP, -1, conv=True),
    softmax_case("softmax_batch_axis", FMAP, 0, conv=True),
    softmax_case("softmax_length_1d", [1, 3, 10], 2, conv=True),
    softmax_case("softmax_channels_1d", [1, 3, 10], 1, conv=True),
    softmax_case("softmax_tokens_middle", [1, 5, 7], 1),
    softmax_case("softmax_rank4_plain_axis2", [1, 3, 4, 5], 2),
    # Flatten -> Softmax -> Reshape of a feature map (the loader's upgrade): each reshape is one copy out
    # of / back into the channels-last layout (passes/fold_copies.py joins the transpose and reshape).
    softmax_case("softmax_opset11_coerced_axis1", FMAP, 1, opset=11, conv=True,
                 ops=["conv2d", "copy", "softmax", "copy"]),
    softmax_case("softmax_opset11_last", [1, 2, 9], -1, opset=11),
    softmax_case("log_softmax_last", [1, 3, 10], -1, op="LogSoftmax"),
    softmax_case("log_softmax_channels_fmap", FMAP, 1, conv=True, op="LogSoftmax"),
    softmax_case("log_softmax_height_fmap", FMAP, 2, conv=True, op="LogSoftmax"),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)


def test_too_wide_names_the_users_axis(tmp_path) -> None:
    """The message names the axis and shape as the user exported them (axis 1 of [1, 4096, 2, 2]), not the
    stored channels-last view."""
    model = make_model([node("Softmax", ["x"], "y", name="wide", axis=1)], {"x": [1, 4096, 2, 2]}, ["y"])
    onnx.save(model, tmp_path / "m.onnx")
    expected = r"'wide'.*softmax over 4096 values \(axis 1 of \[1, 4096, 2, 2\]\)"
    with pytest.raises(UnsupportedModelError, match=expected):
        tinygen.compile(tmp_path / "m.onnx", None, calib="random", warn=lambda _: None)


@pytest.mark.parametrize("scale", [0.02, 0.1, 0.37])
def test_log_softmax_arithmetic_is_tflite_micros(scale: float) -> None:
    """The golden LogSoftmax arithmetic (which the C equals, above) gives tflite-micro's LOG_SOFTMAX bytes:
    a single-operator .tflite built with the schema's builders, every int8 value in the rows and random rows,
    run by the tflite-micro interpreter."""
    from tinygen.ops.softmax import log_softmax_parameters, log_softmax_rows, softmax_parameters

    from ..frontend.tflite_builder import Op, T, build, tflite_micro

    shape = (1, 16, 32)
    model = build([T("x", shape, "int8", [scale], [3]), T("y", shape, "int8", [16 / 256], [127])],
                  [Op("LOG_SOFTMAX", [0], [1], "LogSoftmaxOptions", {})], [0], [1])
    rng = np.random.default_rng(int(scale * 1000))
    x = rng.integers(-128, 128, (4, *shape[1:])).astype(np.int8)
    x[0] = np.resize(np.arange(-128, 128, dtype=np.int8), shape[1:])
    x[1, :, ::2] = 127  # ties for the maximum
    expected = tflite_micro(model, x)
    multiplier, left_shift, diff_min = softmax_parameters(scale)
    reverse = log_softmax_parameters(multiplier, left_shift)
    golden = log_softmax_rows(x.reshape(-1, shape[-1]), multiplier, left_shift, diff_min, *reverse)
    from ..conftest import assert_identical

    assert_identical(expected.reshape(-1, shape[-1]), golden, f"LOG_SOFTMAX at input scale {scale}")
