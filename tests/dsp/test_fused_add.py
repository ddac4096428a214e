"""The residual Add fused into the convolution before it (passes/fuse_residual_add.py) on the DSP variants
(tg_conv_1x1_add_s8, tg_conv_im2col_add_s8: src/tg_conv_block_add_s8.c, src/tg_add_rows_s8.c) and the plain
kernel (tg_conv_add_s8): numpy golden == host C == Cortex-M4 under QEMU, with the least and the most scratch
(4- and 8-pixel blocks, the Add's temp of a few channels or of a whole block).

The layers are the fused nodes the pass makes (a conv2d with the residual as its fourth input and the Add's
parameters in params["residual"]), drawn to reach every path of the Add stage: the exact-shift loop
(TFLite's parameters for inputs of different scales: one input (2^30, 0), the other a shift of -1 .. -6),
with the exact input either the convolution's output or the residual, either one Add input 1; every
remainder of its rows (C_out 1 .. 9, 16, 33 against chunks of 4 / 8 channels and pixel counts that are
not multiples of the block); a saturating output scale; a ReLU (the clamp at the output zero point);
per-channel and per-tensor convolution weights; the output over the residual (in place, as in IC) or elsewhere;
and the paths the loop does not take (equal scales: both
inputs (2^30, 0); a subtraction; extreme multipliers and shifts) which keep the general arithmetic. The
host run is built with ASan and UBSan; tests/dsp/test_dsp_host.py checks the loop's arithmetic on a million
random elements (the "add_rows" mode of tests/dsp/dsp_driver.c).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tinygen.api import write_compiled
from tinygen.ops.common import Window

from ..conftest import assert_identical
from ..kernels.builder import GraphBuilder, int8_weights, random_batch
from .cases import Case, _attrs, _typical_requant, conv_params
from .test_dsp_variants import kernel_calls

SAMPLES = 6
SEED = 3

# (kernel, stride, pads, in H, in W, C_in, C_out, per_channel, add kind, conv_first, relu)
# add kinds: "exact_conv" / "exact_residual" (that input has (2^30, 0)), "saturate" (exact, an output
# scale that saturates most outputs), "equal" (both inputs (2^30, 0)), "sub", "general" (extremes)
LAYERS = [
    ((3, 3), (1, 1), (1, 1, 1, 1), 5, 6, 16, 16, True, "exact_conv", False, False),     # IC's layer 2
    ((3, 3), (1, 1), (1, 1, 1, 1), 5, 6, 16, 16, True, "exact_residual", True, False),
    ((1, 1), (2, 2), (0, 0, 0, 0), 6, 7, 16, 32, True, "exact_residual", True, False),   # IC's layer 5
    ((1, 1), (2, 2), (0, 0, 0, 0), 6, 7, 16, 32, False, "exact_conv", False, True),
    ((1, 1), (1, 1), (0, 0, 0, 0), 3, 5, 12, 1, True, "exact_conv", True, False),
    ((1, 1), (1, 1), (0, 0, 0, 0), 3, 3, 8, 2, True, "exact_residual", False, False),
    ((1, 1), (1, 1), (0, 0, 0, 0), 2, 5, 8, 3, True, "exact_conv", False, True),
    ((1, 1), (1, 1), (0, 0, 0, 0), 3, 3, 20, 5, False, "exact_residual", True, False),
    ((1, 1), (1, 1), (0, 0, 0, 0), 1, 7, 4, 6, True, "exact_conv", True, True),
    ((3, 3), (1, 1), (1, 1, 1, 1), 3, 4, 5, 7, True, "exact_residual", False, False),
    ((3, 3), (2, 2), (0, 1, 1, 1), 5, 6, 3, 9, True, "exact_conv", True, False),
    ((1, 1), (1, 1), (0, 0, 0, 0), 3, 3, 16, 33, True, "exact_residual", False, True),
    ((1, 1), (1, 1), (0, 0, 0, 0), 2, 3, 24, 10, True, "saturate", True, False),
    ((3, 3), (1, 1), (1, 1, 1, 1), 4, 4, 8, 8, True, "saturate", False, True),
    ((1, 1), (1, 1), (0, 0, 0, 0), 3, 3, 8, 12, True, "equal", True, False),
    ((3, 3), (1, 1), (1, 1, 1, 1), 3, 4, 8, 6, True, "sub", False, False),
    ((1, 1), (1, 1), (0, 0, 0, 0), 3, 4, 8, 9, True, "general", True, True),
    ((3, 3), (1, 1), (1, 1, 1, 1), 4, 4, 6, 4, True, "exact_conv", True, False),        # grouped: the plain kernel
]
GROUPED = len(LAYERS) - 1


def _add_params(b: GraphBuilder, kind: str, conv_first: bool, relu: bool) -> dict[str, object]:
    """The Add's parameters (as AddOp.quantize makes them) with the exact input where `kind` says."""
    rng = b.rng
    exact, other = (1 << 30, 0), (int(rng.integers(2**30, 2**31)), int(rng.integers(-6, 0)))
    if kind == "equal":
        other = exact
    elif kind == "general":
        exact = (int(rng.choice([2**31 - 1, int(rng.integers(0, 2**31))])), int(rng.choice([-24, 1])))
        other = (int(rng.integers(2**30, 2**31)), int(rng.integers(-3, 1)))
    # input 1 is the convolution's output when conv_first; "exact_residual": the residual has (2^30, 0)
    exact_first = (kind == "exact_residual") != conv_first
    (m1, s1), (m2, s2) = (exact, other) if exact_first else (other, exact)
    zps = [b.zero_point(), b.zero_point()]
    typical_size = sum((abs(zp) + 74) * 2.0**20 * m * 2.0**s / 2**31
                       for zp, m, s in zip(zps, (m1, m2), (s1, s2), strict=True))
    mo, so = _typical_requant(rng, np.array([typical_size]))
    if kind == "saturate":  # 2^4 times the typical scale: most outputs at -128 or 127
        so = np.minimum(so + 4, -1)
    output_offset = b.zero_point()
    return {"input1_offset": -zps[0], "input2_offset": -zps[1], "output_offset": output_offset,
            "input1_multiplier": m1, "input1_shift": s1, "input2_multiplier": m2, "input2_shift": s2,
            "output_multiplier": int(mo[0]), "output_shift": int(so[0]),
            "act_min": output_offset if relu else -128, "act_max": 127, "subtract": kind == "sub",
            "conv_first": conv_first}


@dataclass
class FusedCase(Case):
    rows: dict[str, str] = field(default_factory=dict)  # output -> the _rows twin, where it applies


def fused_add_case(seed: int) -> FusedCase:
    b = GraphBuilder(f"dsp_fused_add_{seed}", seed)
    rng = b.rng
    case = FusedCase(b.graph)
    for index, (kernel, stride, pads, height, width, in_c, out_c, per_channel, kind, conv_first, relu) in \
            enumerate(LAYERS):
        groups = 2 if index == GROUPED else 1
        window = Window(kernel, stride, (1, 1), pads)
        out_h, out_w = window.output_size(height, width)
        in_zp = b.zero_point()
        x = b.input((1, height, width, in_c), zp=in_zp)
        weights = int8_weights(rng, (out_c, *kernel, in_c // groups))
        bias, params = conv_params(b, weights.reshape(out_c, -1), in_zp, True, per_channel)
        if index % 2 == 0:  # the residual made by a 1x1 convolution that only this layer reads (the output may
            # take its place), else a graph input
            source = b.input((1, out_h, out_w, 4))
            r_weights = int8_weights(rng, (out_c, 1, 1, 4))
            r_bias, r_params = conv_params(b, r_weights.reshape(out_c, -1), 0, True)
            residual = b.layer("conv2d", [source, b.constant(r_weights, "w"), b.constant(r_bias, "b")],
                               (1, out_h, out_w, out_c), {**_attrs(Window((1, 1), (1, 1), (1, 1), (0, 0, 0, 0))),
                                                          "groups": 1, "activation": None}, r_params)
            b.graph.outputs.remove(residual)
        else:
            residual = b.input((1, out_h, out_w, out_c))
        params["residual"] = _add_params(b, kind, conv_first, relu)
        y = b.layer("conv2d", [x, b.constant(weights, "w"), b.constant(bias, "b"), residual],
                    (1, out_h, out_w, out_c),
                    {**_attrs(window), "groups": groups, "activation": None, "fused_add": f"add{index}"}, params)
        # the chunked variants (least scratch) by default; _rows (largest) only where a block's outputs exceed
        # the 32-byte temp (tinygen/ops/conv.py _fused_block_kernels), else both are the same
        function = ("tg_conv_add_s8" if groups != 1 else
                    "tg_conv_1x1_add_s8" if kernel == (1, 1) and not any(pads) else "tg_conv_im2col_add_s8")
        case.expected[y] = function
        if groups == 1 and 8 * out_c > 32:
            case.rows[y] = function.replace("_add_s8", "_add_rows_s8")
    b.finish()
    return case


@pytest.mark.parametrize("variants", ["smallest", "largest", "rows4", "chunks8"])
def test_fused_add_firmware_equals_host_and_golden(variants: str, tmp_path: Path) -> None:
    """smallest: 4-pixel blocks, the Add per chunk of 8 channels, or the whole block on the stack up to 64 bytes
    (IC's layer 2 at the arena's peak); largest: the _rows twins' 8-pixel blocks (IC's layers 5 and 8); rows4:
    their 4-pixel blocks where listed; chunks8: the chunked variants' 8-pixel blocks (on the stack up to 8
    channels, the last blocks of 4 pixels or fewer up to 16)."""
    case = fused_add_case(SEED)
    if variants == "rows4":
        for node in case.graph.nodes:
            if node.outputs[0] in case.rows:
                node.attrs["variant"] = f"{case.rows[node.outputs[0]]}/4px"
    if variants == "chunks8":
        for node in case.graph.nodes:
            if node.outputs[0] in case.expected and case.expected[node.outputs[0]] != "tg_conv_add_s8":
                node.attrs["variant"] = f"{case.expected[node.outputs[0]]}/8px"
    model = write_compiled(case.graph, tmp_path / variants, f"dsp_fused_add_{variants}",
                           variants="given" if variants in ("rows4", "chunks8") else variants).model
    calls = kernel_calls((model.out_dir / "lib" / model.name / f"{model.name}.c").read_text())
    picked = {node.outputs[0]: calls.get(index, "") for index, node in enumerate(model.graph.nodes)}
    for output, function in case.expected.items():
        expected = function if variants in ("smallest", "chunks8") else case.rows.get(output, function)
        assert picked[output] == expected, f"layer {output} calls {picked[output]}, expected {expected}"
    modes = [str(layer.get("kernel", "")) for layer in model.manifest["layer_list"]]
    if variants == "rows4":
        assert sum(mode.endswith("_rows_s8/4px") for mode in modes) >= 3, modes
    if variants == "chunks8":
        assert sum(mode.endswith("_add_s8/8px") for mode in modes) >= 10, modes
    batch = random_batch(np.random.default_rng(300 + SEED), case.graph, SAMPLES)
    golden = model.golden(batch, int8=True)
    host = model.run(batch, int8=True, sanitize=True)
    firmware = model.run(batch, int8=True, target="qemu_m4")
    # the output over the residual where the planner saves arena with it (as in IC; over either input of
    # tg_add_rows_s8; seed 3: layers 1 and 4 (smallest), 0 and 1 (largest))
    in_place = {entry["layer"] for entry in model.manifest["in_place"]}
    assert sum(node.name in in_place for node in model.graph.nodes if node.attrs.get("fused_add")) >= 2, in_place
    for out in case.graph.outputs:
        assert_identical(golden[out], host[out], f"host C ({variants}): layer {out}")
        assert_identical(golden[out], firmware[out], f"qemu_m4 ({variants}): layer {out} ({case.expected[out]})")
    values = np.unique(np.concatenate([v.ravel() for v in golden.values()]))
    assert values.size >= 16, f"outputs take only {values.size} distinct values"


def standalone_add_case(seed: int) -> Case:
    """tg_add_fast_s8 on two dense inputs of the output's shape with TFLite's parameters for different scales
    (either input (2^30, 0)): tg_add_rows_s8 as one row; shapes with axes of size 1 (their strides 0), a ReLU,
    a saturating output scale; a broadcast input and a subtraction stay on the short form."""
    b = GraphBuilder(f"dsp_add_rows_{seed}", seed)
    case = Case(b.graph)
    # (output shape, input 2 shape, add kind, conv_first (here: input 1 is the exact one), relu)
    layers = [
        ((1, 4, 5, 16), (1, 4, 5, 16), "exact_conv", True, False),
        ((1, 3, 3, 7), (1, 3, 3, 7), "exact_residual", True, False),
        ((1, 1, 5, 3), (1, 1, 5, 3), "exact_conv", False, True),
        ((1, 6, 11), (1, 6, 11), "exact_residual", False, False),
        ((1, 13), (1, 13), "saturate", True, False),
        ((1, 3, 1, 4), (1, 3, 1, 4), "exact_conv", True, True),
        ((1, 3, 4, 5), (1, 1, 1, 5), "exact_conv", True, False),
        ((1, 3, 4, 5), (1, 3, 4, 5), "sub", True, False),
    ]
    for out_shape, shape2, kind, conv_first, relu in layers:
        params = _add_params(b, kind, conv_first, relu)
        del params["conv_first"]
        names = [b.input(out_shape, zp=-int(params["input1_offset"])),  # type: ignore[call-overload]
                 b.input(shape2, zp=-int(params["input2_offset"]))]  # type: ignore[call-overload]
        y = b.layer("add", names, out_shape, {"activation": None}, params)
        case.expected[y] = "tg_add_fast_s8"
    b.finish()
    return case


def test_standalone_add_firmware_equals_host_and_golden(tmp_path: Path) -> None:
    case = standalone_add_case(SEED)
    model = write_compiled(case.graph, tmp_path / "add", "dsp_add_rows").model
    batch = random_batch(np.random.default_rng(400 + SEED), case.graph, SAMPLES)
    golden = model.golden(batch, int8=True)
    host = model.run(batch, int8=True, sanitize=True)
    firmware = model.run(batch, int8=True, target="qemu_m4")
    for out in case.graph.outputs:
        assert_identical(golden[out], host[out], f"host C: layer {out}")
        assert_identical(golden[out], firmware[out], f"qemu_m4: layer {out}")
