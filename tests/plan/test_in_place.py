"""In-place execution (issue 6): every in-place kernel mode is bit-exact with its out-of-place twin.

Each case is a small model x -> head -> MODE -> tail -> y whose peak is the step of the MODE layer
(a thin input and output around a wide middle), so the smallest arena needs that layer's output to
overlap its dying input: the planner must use the relation its kernel declares (ops/orders.py).
The same model compiled with `in_place=False` (the plain plan: every tensor its own bytes, no fused
residual Add) is the twin. Both run through the host C under ASan/UBSan on the same int8 batch,
whose first two samples are the extremes (all -128, all 127); the outputs must be identical, and
identical to the golden reference. The Cortex-M DSP variants of the same modes run on qemu_m4.

The MLPerf models: the in-place plan against the plain plan on their real samples, with the arena
targets of issue 6 (every activation byte, input, output and scratch included).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import pytest

import tinygen
from tinygen.model import CompiledModel

from ..conftest import MODELS, assert_identical, samples
from ..ops.harness import make_model, node, weights

SHAPE = [1, 4, 12, 10]  # the thin model input: 480 B int8


@dataclass
class Mode:
    id: str
    build: Callable[[np.random.Generator], tuple[list[onnx.NodeProto], dict[str, np.ndarray]]]
    layer: str  # the ONNX node whose output must overlap its input
    wide: int = 32  # channels of the wide middle

    def __str__(self) -> str:
        return self.id


def _conv(name: str, source: str, out: str, cin: int, cout: int, rng: np.random.Generator, k: int = 1,
          stride: int = 1, group: int = 1, relu: bool = True) -> tuple[list[onnx.NodeProto], dict[str, np.ndarray]]:
    pad = k // 2
    inits = {f"{name}_w": weights(rng, cout, cin // group, k, k),
             f"{name}_b": rng.normal(0, 0.2, cout).astype(np.float32)}
    conv_out = f"{out}_pre" if relu else out
    nodes = [node("Conv", [source, f"{name}_w", f"{name}_b"], conv_out, name=name, kernel_shape=[k, k],
                  strides=[stride, stride], pads=[pad] * 4, group=group)]
    if relu:
        nodes.append(node("Relu", [conv_out], out, name=f"{name}_relu"))
    return nodes, inits


def _sandwich(middle: Callable[[np.random.Generator, int], tuple[list, dict, int]], wide: int = 32,
              head_out: int | None = None) -> Callable[[np.random.Generator], tuple[list, dict]]:
    """x -> 1x1 conv to `head_out` (default `wide`) channels -> middle -> 1x1 conv to 4 channels -> y."""
    def build(rng: np.random.Generator) -> tuple[list, dict]:
        channels = head_out or wide
        nodes, inits = _conv("head", "x", "a", SHAPE[1], channels, rng)
        middle_nodes, middle_inits, out_channels = middle(rng, channels)
        tail_nodes, tail_inits = _conv("tail", "m", "y", out_channels, 4, rng, relu=False)
        return nodes + middle_nodes + tail_nodes, {**inits, **middle_inits, **tail_inits}
    return build


def _layer(k: int = 1, stride: int = 1, depthwise: bool = False, out: int | None = None):
    def middle(rng: np.random.Generator, channels: int) -> tuple[list, dict, int]:
        cout = channels if depthwise else (out or channels)
        nodes, inits = _conv("mode", "a", "m", channels, cout, rng, k, stride, channels if depthwise else 1)
        return nodes, inits, cout
    return middle


def _residual(rng: np.random.Generator, channels: int) -> tuple[list, dict, int]:
    """A ResNet block's second half: m = conv(b) + a, where b = relu(conv(a)); the fused kernel writes
    m over the residual a (which dies there), not over its convolution input b."""
    first, first_inits = _conv("block", "a", "b", channels, channels, rng)
    nodes, inits = _conv("mode", "b", "c", channels, channels, rng, relu=False)
    return [*first, *nodes, node("Add", ["c", "a"], "m", name="mode_add")], {**first_inits, **inits}, channels


def _sigmoid(rng: np.random.Generator, channels: int) -> tuple[list, dict, int]:
    return [node("Sigmoid", ["a"], "m", name="mode")], {}, channels


def _slice_channels(step: int):
    """A Slice of the channels (a strided copy, tg_copy_s8) written over the map it is cut from."""
    def middle(rng: np.random.Generator, channels: int) -> tuple[list, dict, int]:
        inits = {"mode_s": np.array([4], np.int64), "mode_e": np.array([channels - 4], np.int64),
                 "mode_ax": np.array([1], np.int64), "mode_st": np.array([step], np.int64)}
        kept = len(range(4, channels - 4, step))
        return [node("Slice", ["a", "mode_s", "mode_e", "mode_ax", "mode_st"], "m", name="mode")], inits, kept
    return middle


MODES = [
    Mode("conv3x3", _sandwich(_layer(k=3)), "mode"),
    Mode("conv3x3_stride2", _sandwich(_layer(k=3, stride=2)), "mode"),
    Mode("depthwise3x3", _sandwich(_layer(k=3, depthwise=True)), "mode"),
    Mode("depthwise3x3_stride2", _sandwich(_layer(k=3, stride=2, depthwise=True)), "mode"),
    Mode("pointwise_same", _sandwich(_layer()), "mode"),
    Mode("pointwise_narrow", _sandwich(_layer(out=16)), "mode"),
    Mode("pointwise_wide", _sandwich(_layer(out=32), head_out=24), "mode"),
    Mode("pointwise_few", _sandwich(_layer(out=4), head_out=8), "mode"),  # 8 input channels: tg_conv_1x1_few_s8
    Mode("residual_add", _sandwich(_residual), "mode"),
    Mode("sigmoid_lut", _sandwich(_sigmoid), "mode"),
    Mode("slice_copy", _sandwich(_slice_channels(1)), "mode"),
    Mode("slice_copy_step2", _sandwich(_slice_channels(2)), "mode"),
]


@dataclass
class Twins:
    in_place: CompiledModel
    plain: CompiledModel
    x: np.ndarray  # int8, model layout


def compile_twins(mode: Mode, folder: Path) -> Twins:
    rng = np.random.default_rng(5)
    nodes, inits = mode.build(rng)
    path = folder / f"{mode.id}.onnx"
    onnx.save(make_model(nodes, {"x": SHAPE}, ["y"], inits), path)
    calib = folder / "calib.npy"
    np.save(calib, rng.normal(0, 1, (16, *SHAPE[1:])).astype(np.float32))
    in_place = tinygen.compile(path, folder / "in_place", calib=str(calib))
    plain = tinygen.compile(path, folder / "plain", calib=str(calib), in_place=False)
    x = rng.integers(-128, 128, (6, *SHAPE[1:]), dtype=np.int8)
    x[0], x[1] = -128, 127
    return Twins(in_place, plain, x)


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Twins]:
    cache: dict[str, Twins] = {}
    modes = {mode.id: mode for mode in MODES}

    def get(mode_id: str) -> Twins:
        if mode_id not in cache:
            cache[mode_id] = compile_twins(modes[mode_id], tmp_path_factory.mktemp(mode_id))
        return cache[mode_id]
    return get


def _uses_in_place(model: CompiledModel, layer: str) -> bool:
    return any(entry["layer"] == layer for entry in model.manifest["in_place"])


@pytest.mark.parametrize("mode", MODES, ids=str)
def test_the_mode_layer_writes_over_its_input(twins: Callable[[str], Twins], mode: Mode) -> None:
    pair = twins(mode.id)
    print(f"\n{mode.id}: arena {pair.in_place.manifest['arena_bytes']:,} B in place, "
          f"{pair.plain.manifest['arena_bytes']:,} B plain; pairs {pair.in_place.manifest['in_place']}")
    assert _uses_in_place(pair.in_place, mode.layer), pair.in_place.manifest["in_place"]
    assert pair.plain.manifest["in_place"] == []
    assert pair.in_place.manifest["arena_bytes"] < pair.plain.manifest["arena_bytes"]
    if mode.id == "residual_add":  # fused into the convolution, its output over the residual
        fused = [n for n in pair.in_place.graph.nodes if n.attrs.get("fused_add")]
        assert [n.name for n in fused] == ["mode"]
        assert not any(n.attrs.get("fused_add") for n in pair.plain.graph.nodes)


@pytest.mark.parametrize("mode", MODES, ids=str)
def test_in_place_equals_plain_plan_on_the_host(twins: Callable[[str], Twins], mode: Mode) -> None:
    pair = twins(mode.id)
    plain = pair.plain.run(pair.x, int8=True, sanitize=True)
    assert_identical(pair.plain.golden(pair.x, int8=True), plain, f"{mode.id}: plain plan, golden vs host C")
    assert_identical(plain, pair.in_place.run(pair.x, int8=True, sanitize=True),
                     f"{mode.id}: plain plan vs in place (host C, ASan/UBSan)")


@pytest.mark.parametrize("mode_id", [mode.id for mode in MODES])
def test_in_place_dsp_variants_on_qemu_m4_equal_the_plain_plan(twins: Callable[[str], Twins], mode_id: str) -> None:
    """The same in-place plan through the Cortex-M4 DSP kernels (their in-place modes differ from the
    plain kernels': a channel-outer depthwise, 4- or 8-pixel blocks)."""
    pair = twins(mode_id)
    got = pair.in_place.run(pair.x, int8=True, target="qemu_m4")
    assert_identical(pair.plain.run(pair.x, int8=True), got, f"{mode_id}: plain plan (host) vs in place (qemu_m4)")


# --- the MLPerf models ---------------------------------------------------------------------------

# folder -> issue 6's arena target for the int8 QDQ model, bytes
TARGETS = {"kws_dscnn": 9_000, "vww_mobilenet": 40_000, "ic_resnet8": 34_000, "ad_autoencoder": 800}


@pytest.mark.parametrize("folder", list(TARGETS))
def test_mlperf_in_place_plan_meets_the_target_and_equals_the_plain_plan(tmp_path: Path, folder: str) -> None:
    source = MODELS / folder / f"{folder}_int8_qdq.onnx"
    in_place = tinygen.compile(source, tmp_path / "in_place")
    plain = tinygen.compile(source, tmp_path / "plain", in_place=False)
    arena = in_place.manifest["arena_bytes"]
    print(f"\n{folder}: arena {arena:,} B (target {TARGETS[folder]:,} B), plain plan "
          f"{plain.manifest['arena_bytes']:,} B, {len(in_place.manifest['in_place'])} layer(s) in place")
    assert arena <= TARGETS[folder]
    assert arena <= plain.manifest["arena_bytes"]
    data = samples(folder)
    ours = in_place.run(data["x_int8"], int8=True, sanitize=True)
    assert_identical(plain.run(data["x_int8"], int8=True), ours, f"{folder}: plain plan vs in place")
    assert_identical(data["y_int8"], ours, f"{folder}: TFLite's int8 outputs vs in place")
