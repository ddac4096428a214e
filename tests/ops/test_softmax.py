"""Softmax over any axis of feature maps (channels, H, W: stored channels-last, so rows of values `inner`
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
                 ops: list[str] | None = None) -> Case:
    """Softmax of the input (scaled so the exponentials differ), or of a convolution's output."""
    def build():
        nodes, inits, source = [], {}, "x"
        if conv:
            rng = np.random.default_rng(len(case_id))
            inits["W"] = weights(rng, shape[1], shape[1], *([3] * (len(shape) - 2)), scale=2.0)
            nodes.append(node("Conv", ["x", "W"], "c", pads=[1] * (2 * (len(shape) - 2))))
            source = "c"
        nodes.append(node("Softmax", [source], "y", name="softmax", axis=axis))
        return make_model(nodes, {"x": shape}, ["y"], inits, opset=opset)

    return Case(case_id, build, ops=ops or (["conv2d", "softmax"] if conv else ["softmax"]),
                input_scale={"x": 2.0})


CASES = [
    softmax_case("softmax_channels_fmap", FMAP, 1, conv=True),
    softmax_case("softmax_height_fmap", FMAP, 2, conv=True),
    softmax_case("softmax_width_fmap", FMAP, -1, conv=True),
    softmax_case("softmax_batch_axis", FMAP, 0, conv=True),
    softmax_case("softmax_length_1d", [1, 3, 10], 2, conv=True),
    softmax_case("softmax_channels_1d", [1, 3, 10], 1, conv=True),
    softmax_case("softmax_tokens_middle", [1, 5, 7], 1),
    softmax_case("softmax_rank4_plain_axis2", [1, 3, 4, 5], 2),
    # Flatten -> Softmax -> Reshape of a feature map (the loader's upgrade): the reshapes transpose.
    softmax_case("softmax_opset11_coerced_axis1", FMAP, 1, opset=11, conv=True,
                 ops=["conv2d", "transpose", "reshape", "softmax", "reshape", "transpose"]),
    softmax_case("softmax_opset11_last", [1, 2, 9], -1, opset=11),
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
