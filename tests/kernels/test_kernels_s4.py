"""The 4-bit weight kernels (tg_conv_s4, tg_depthwise_conv_s4, tg_fully_connected_s4) equal the golden
reference exactly, under AddressSanitizer and UndefinedBehaviorSanitizer, on random layers: every window
shape of the int8 kernel tests, grouped convolutions and channel multipliers, odd row lengths (rows that
start in the high nibble of a byte), dead output channels, and weights over the whole nibble range
[-8, 7] (the compiler writes [-7, 7]). Also the packing itself (low nibble first, TFLite's order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinygen.api import write_compiled
from tinygen.ir import Graph
from tinygen.ops.common import Window, pack_int4, unpack_int4

from ..conftest import assert_identical
from .builder import GraphBuilder, random_batch
from .cases import _conv_params, _window, _window_attrs

INT4 = {"activations": "int8", "weights": "int4"}
LAYERS = 4


def int4_weights(rng: np.random.Generator, shape: tuple[int, ...], dead_axis: int | None = None) -> np.ndarray:
    """int4 values over [-8, 7], sometimes sparse; with dead_axis, some output channels all zero."""
    weights = rng.integers(-8, 8, size=shape)
    if rng.random() < 0.3:
        weights = np.where(rng.random(shape) < 0.6, 0, weights)
    if dead_axis is not None and shape[dead_axis] > 1 and rng.random() < 0.5:
        dead = rng.random(shape[dead_axis]) < 0.4
        index = [slice(None)] * len(shape)
        index[dead_axis] = dead  # type: ignore[call-overload]
        weights[tuple(index)] = 0
    return weights.astype(np.int8)


def _int4_constant(b: GraphBuilder, weights: np.ndarray) -> str:
    name = b.constant(weights, "w")
    b.graph.tensors[name].dtype = "int4"
    return name


def conv2d_s4_layers(b: GraphBuilder, count: int = LAYERS) -> None:
    rng = b.rng
    for _ in b.layers(count):
        window, height, width = _window(rng)
        groups = int(rng.choice([1, 1, 2, 3]))
        group_in, group_out = int(rng.integers(1, 8)), int(rng.integers(1, 6))
        in_c, out_c = groups * group_in, groups * group_out
        out_h, out_w = window.output_size(height, width)
        in_zp = b.zero_point()
        x = b.input((1, height, width, in_c), zp=in_zp)
        weights = int4_weights(rng, (out_c, *window.kernel, group_in), dead_axis=0)
        bias, params = _conv_params(b, weights.reshape(out_c, -1), in_zp)
        b.layer("conv2d", [x, _int4_constant(b, weights), b.constant(bias, "b")], (1, out_h, out_w, out_c),
                {**_window_attrs(window), "groups": groups, "activation": None, "precision": INT4}, params)


def depthwise_s4_layers(b: GraphBuilder, count: int = LAYERS) -> None:
    rng = b.rng
    for _ in b.layers(count):
        window, height, width = _window(rng)
        in_c, multiplier = int(rng.integers(1, 8)), int(rng.choice([1, 1, 2, 3]))
        out_c = in_c * multiplier
        out_h, out_w = window.output_size(height, width)
        in_zp = b.zero_point()
        x = b.input((1, height, width, in_c), zp=in_zp)
        weights = int4_weights(rng, (1, *window.kernel, out_c))
        bias, params = _conv_params(b, weights.reshape(-1, out_c).T, in_zp)
        b.layer("depthwise_conv2d", [x, _int4_constant(b, weights), b.constant(bias, "b")], (1, out_h, out_w, out_c),
                {**_window_attrs(window), "depth_multiplier": multiplier, "activation": None, "precision": INT4},
                params)


def fully_connected_s4_layers(b: GraphBuilder, count: int = LAYERS) -> None:
    rng = b.rng
    for _ in b.layers(count):
        rows, depth, out_features = int(rng.integers(1, 4)), int(rng.integers(1, 200)), int(rng.integers(1, 11))
        in_zp = b.zero_point()
        in_shape = (1, depth) if rows == 1 and rng.random() < 0.5 else (1, rows, depth)
        x = b.input(in_shape, zp=in_zp)
        weights = int4_weights(rng, (out_features, depth))
        bias, params = _conv_params(b, weights, in_zp)
        b.layer("fully_connected", [x, _int4_constant(b, weights), b.constant(bias, "b")],
                (*in_shape[:-1], out_features), {"activation": None, "precision": INT4}, params)


def deep_conv_s4_layers(b: GraphBuilder) -> None:
    """Long rows, where the DSP path runs: a 1x1 layer of even depth (widened windows) and a padded 3x3 layer of
    odd depth (rows starting in the high nibble)."""
    rng = b.rng
    for kernel, in_c in ((1, 2 * int(rng.integers(16, 48))), (3, 2 * int(rng.integers(8, 24)) + 1)):
        pad = kernel // 2
        window = Window((kernel, kernel), (1, 1), (1, 1), (pad, pad, pad, pad))
        out_c, in_zp = int(rng.integers(3, 9)), b.zero_point()
        x = b.input((1, 3, 4, in_c), zp=in_zp)
        weights = int4_weights(rng, (out_c, kernel, kernel, in_c), dead_axis=0)
        bias, params = _conv_params(b, weights.reshape(out_c, -1), in_zp)
        b.layer("conv2d", [x, _int4_constant(b, weights), b.constant(bias, "b")], (1, 3, 4, out_c),
                {**_window_attrs(window), "groups": 1, "activation": None, "precision": INT4}, params)


LAYER_KINDS = {"conv2d_s4": conv2d_s4_layers, "depthwise_s4": depthwise_s4_layers,
               "fully_connected_s4": fully_connected_s4_layers}


def graph_of(name: str, seed: int) -> Graph:
    b = GraphBuilder(f"{name}_{seed}", seed)
    LAYER_KINDS[name](b)
    return b.finish()


def mixed_graph(seed: int) -> Graph:
    """Three layers of each kind in one graph (one firmware build for the emulated core, whose DSP path takes
    runs of 8 weights and more: fully connected rows up to 199, convolution window rows)."""
    b = GraphBuilder(f"s4_mixed_{seed}", seed)
    for add in LAYER_KINDS.values():
        add(b, 3)
    deep_conv_s4_layers(b)
    return b.finish()


GRAPHS = {name: (lambda seed, name=name: graph_of(name, seed)) for name in LAYER_KINDS}
CASES = [(name, seed) for name in GRAPHS for seed in (1, 2, 3)]
KERNELS = {"conv2d_s4": "tg_conv_s4", "depthwise_s4": "tg_depthwise_conv_s4",
           "fully_connected_s4": "tg_fully_connected_s4"}


@pytest.mark.parametrize("name,seed", CASES, ids=[f"{name}-seed{seed}" for name, seed in CASES])
def test_s4_kernel_equals_golden(tmp_path: Path, name: str, seed: int) -> None:
    graph = GRAPHS[name](seed)
    result = write_compiled(graph, tmp_path / name, f"k_{name}_{seed}")
    assert KERNELS[name] in result.model.manifest["kernel_functions"]
    assert not [f for f in result.model.manifest["kernel_functions"] if f.endswith("_s8")]
    batch = random_batch(np.random.default_rng(1000 + seed), graph, 8)
    golden = result.model.golden(batch, int8=True)
    c = result.model.run(batch, int8=True, sanitize=True)
    assert isinstance(golden, dict) and isinstance(c, dict)
    for node in graph.nodes:
        out = node.outputs[0]
        assert_identical(golden[out], c[out], f"{name} seed {seed}, layer '{node.name}'")
    values = np.unique(np.concatenate([v.ravel() for v in golden.values()]))
    assert values.size >= 16, f"{name} seed {seed}: outputs take only {values.size} distinct values"


def test_weights_are_stored_packed(tmp_path: Path) -> None:
    """The flash holds half a byte per weight: the layer's constants shrink accordingly."""
    graph = graph_of("fully_connected_s4", 5)
    model = write_compiled(graph, tmp_path / "fc", "k_fc").model
    weights = [graph.tensors[node.inputs[1]] for node in graph.nodes]
    assert model.manifest["weights_bytes"] == sum((w.size + 1) // 2 + 4 * w.shape[0] for w in weights)


def test_packing_is_low_nibble_first() -> None:
    values = np.array([1, -1, 7, -8, -7, 3, 5], np.int8)
    packed = pack_int4(values)
    assert packed.view(np.uint8).tolist() == [0xF1, 0x87, 0x39, 0x05]
    assert_identical(unpack_int4(packed, values.size), values, "unpack(pack)")


def test_s4_kernels_on_qemu_m4(tmp_path: Path, pio_core: Path) -> None:
    """The same kernels in the Cortex-M4 firmware under QEMU equal the golden reference and the host C."""
    graph = mixed_graph(7)
    model = write_compiled(graph, tmp_path / "mixed", "k_s4_mixed").model
    batch = random_batch(np.random.default_rng(7), graph, 4)
    golden = model.golden(batch, int8=True)
    host = model.run(batch, int8=True)
    firmware = model.run(batch, int8=True, target="qemu_m4")
    assert isinstance(golden, dict) and isinstance(host, dict) and isinstance(firmware, dict)
    for node in graph.nodes:
        out = node.outputs[0]
        assert_identical(golden[out], firmware[out], f"qemu_m4, layer '{node.name}'")
        assert_identical(host[out], firmware[out], f"qemu_m4 vs host C, layer '{node.name}'")
