"""Resize and Upsample: nearest with every nearest_mode, linear with every coordinate_transformation_mode,
from scales or sizes (enlarging, shrinking, non-integer factors), opset 11 / 13 / 18 (axes) forms, 1-D
maps, and the old Upsample-7 / Upsample-9 / Resize-10, whose meaning (asymmetric coordinates) must survive
the loader's opset upgrade: every case is compared with onnxruntime running the original file."""

from __future__ import annotations

import numpy as np
import pytest

import tinygen
from tinygen.errors import UnsupportedModelError

from .harness import Case, TensorProto, const, make_model, node, standard_tests, weights

FMAP = [1, 3, 5, 6]


def resize_case(case_id: str, *, shape=FMAP, scales=None, sizes=None, opset: int = 13, ops=("resize",),
                **attrs: object) -> Case:
    def build():
        inits: dict[str, np.ndarray] = {}
        inputs = ["x", "roi" if opset < 13 else ""]
        if opset < 13:
            inits["roi"] = const([], np.float32)
        if scales is not None:
            inits["scales"] = const(scales)
            inputs.append("scales")
        else:
            inputs.append("")
            inits["sizes"] = const(sizes, np.int64)
            inputs.append("sizes")
        return make_model([node("Resize", inputs, "y", name="resize", **attrs)], {"x": shape}, ["y"], inits,
                          opset=opset)

    return Case(case_id, build, ops=list(ops))


def legacy_case(case_id: str, op: str, opset: int, mode: str, scales: list[float]) -> Case:
    def build():
        if opset == 7:
            return make_model([node(op, ["x"], "y", name="up", mode=mode, scales=scales)], {"x": FMAP}, ["y"],
                              opset=opset)
        return make_model([node(op, ["x", "scales"], "y", name="up", mode=mode)], {"x": FMAP}, ["y"],
                          {"scales": const(scales)}, opset=opset)

    return Case(case_id, build, ops=["resize"])


def unet_step() -> Case:
    """Conv -> Resize (bilinear x2, align_corners, as nn.Upsample(align_corners=True) exports it) -> Conv."""
    def build():
        rng = np.random.default_rng(5)
        inits = {"W1": weights(rng, 4, 3, 3, 3), "W2": weights(rng, 2, 4, 3, 3), "scales": const([1, 1, 2, 2])}
        return make_model([node("Conv", ["x", "W1"], "c", pads=[1, 1, 1, 1]), node("Relu", ["c"], "r"),
                           node("Resize", ["r", "", "scales"], "u", mode="linear",
                                coordinate_transformation_mode="align_corners"),
                           node("Conv", ["u", "W2"], "y", pads=[1, 1, 1, 1])], {"x": FMAP}, ["y"], inits)

    return Case("conv_bilinear_conv", build, ops=["conv2d", "resize", "conv2d"])


CASES = [
    resize_case("nearest_x2_default", scales=[1, 1, 2, 2]),
    *(resize_case(f"nearest_{mode}_sizes", sizes=[1, 3, 8, 15], mode="nearest", nearest_mode=mode,
                  coordinate_transformation_mode="asymmetric")
      for mode in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")),
    *(resize_case(f"nearest_{mode}_half_pixel_x1_5", scales=[1, 1, 1.5, 2.5], mode="nearest", nearest_mode=mode)
      for mode in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")),
    resize_case("nearest_tf_half_pixel_for_nn", scales=[1, 1, 2, 3], mode="nearest",
                coordinate_transformation_mode="tf_half_pixel_for_nn"),
    resize_case("nearest_align_corners_shrink", sizes=[1, 3, 3, 4], mode="nearest",
                coordinate_transformation_mode="align_corners", nearest_mode="round_prefer_ceil"),
    resize_case("nearest_shrink_scales", scales=[1, 1, 0.5, 0.5], mode="nearest"),
    *(resize_case(f"linear_{mode}_x2", scales=[1, 1, 2, 2], mode="linear", coordinate_transformation_mode=mode)
      for mode in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn")),
    *(resize_case(f"linear_{mode}_sizes", sizes=[1, 3, 9, 13], mode="linear", coordinate_transformation_mode=mode)
      for mode in ("half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric")),
    resize_case("linear_shrink_half_pixel", sizes=[1, 3, 3, 4], mode="linear"),
    resize_case("linear_pytorch_half_pixel_to_1", sizes=[1, 3, 1, 4], mode="linear",
                coordinate_transformation_mode="pytorch_half_pixel"),
    resize_case("linear_half_pixel_symmetric_opset19", sizes=[1, 3, 8, 9], mode="linear", opset=19,
                coordinate_transformation_mode="half_pixel_symmetric"),
    resize_case("opset11_nearest_scales", scales=[1, 1, 2, 2], opset=11, mode="nearest",
                coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
    resize_case("opset18_axes_sizes", sizes=[10, 9], opset=18, axes=[2, 3], mode="linear"),
    resize_case("linear_1d", shape=[1, 4, 7], scales=[1, 1, 2.5], mode="linear"),
    resize_case("nearest_1d_sizes", shape=[1, 4, 7], sizes=[1, 4, 16], mode="nearest"),
    legacy_case("upsample7_nearest", "Upsample", 7, "nearest", [1.0, 1.0, 2.0, 2.0]),
    legacy_case("upsample7_linear", "Upsample", 7, "linear", [1.0, 1.0, 2.5, 1.5]),
    legacy_case("upsample9_nearest", "Upsample", 9, "nearest", [1.0, 1.0, 2.5, 3.0]),
    legacy_case("upsample9_linear", "Upsample", 9, "linear", [1.0, 1.0, 2.0, 2.0]),
    legacy_case("resize10_linear", "Resize", 10, "linear", [1.0, 1.0, 1.5, 2.0]),
    legacy_case("resize10_nearest_shrink", "Resize", 10, "nearest", [1.0, 1.0, 0.7, 0.5]),
    unet_step(),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)


def _refused(tmp_path, model, pattern: str) -> None:
    import onnx

    onnx.save(model, tmp_path / "m.onnx")
    with pytest.raises(UnsupportedModelError, match=pattern):
        tinygen.compile(tmp_path / "m.onnx", None, calib="random", warn=lambda _: None)


def test_cubic_is_refused(tmp_path) -> None:
    model = make_model([node("Resize", ["x", "", "s"], "y", name="up", mode="cubic")], {"x": FMAP}, ["y"],
                       {"s": const([1, 1, 2, 2])})
    _refused(tmp_path, model, r"'up'.*mode 'cubic' is not supported")


def test_channel_resize_names_the_users_axis(tmp_path) -> None:
    """The message speaks of the model's own axes ([N, C, H, W]), not of tinygen's NHWC storage."""
    model = make_model([node("Resize", ["x", "", "s"], "y", name="up", mode="nearest")], {"x": FMAP}, ["y"],
                       {"s": const([1, 2, 2, 2])})
    _refused(tmp_path, model, r"'up'.*resizing axis 1 \(channels: scale 2\) of \[1, 3, 5, 6\].*spatial axes \[2, 3\]")


def test_runtime_sizes_are_refused(tmp_path) -> None:
    model = make_model([node("Resize", ["x", "", "", "n"], "y", name="up")], {"x": FMAP, "n": [4]}, ["y"],
                       symbolic_batch=False, input_types={"n": TensorProto.INT64})
    _refused(tmp_path, model, r"'up'")
