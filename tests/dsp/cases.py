"""Layers aimed at the Cortex-M DSP kernel variants (firmware/tinygen_kernels/src/tg_<op>_<variant>_s8.c),
grouped into graphs of independent single-op layers (one firmware build each).

Every variant has a fast path (assembly, short requantization: tg_dsp.h) and fallbacks (general
requantization, partial blocks and groups, the plain kernel for layers it does not take). The
shapes below are chosen to reach each of them: odd channel counts, K not a multiple of 4 (or of 8,
of 128), padding, strides, dilations, depth multipliers, 3x3 and general depthwise paths, odd
fully connected outputs, several rows, add with broadcast, pools over more than 256 taps. Each
layer also draws its requantization either "typical" (every channel in the short form: the fast
paths) or from tests/kernels/builder.py (70 % typical, the rest extremes: the fallbacks), and its
clamp either the full int8 range (the fast paths) or narrower.

A layer records the kernel the code generator must pick for it (`expected`), so a change of the
selection rules shows up here instead of silently moving coverage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tinygen.ir import Graph
from tinygen.ops.common import Window, accumulator_bits

from ..kernels.builder import (
    GraphBuilder,
    accumulator_bound,
    accumulator_range,
    activation_range,
    draw_bias,
    int8_weights,
    typical_sum,
)

Rng = np.random.Generator


@dataclass
class Case:
    graph: Graph
    expected: dict[str, str] = field(default_factory=dict)  # output tensor -> kernel function
    variants: str = "largest"  # the rule choosing among a layer's kernels ("given": node.attrs["variant"])


def _attrs(window: Window) -> dict[str, object]:
    return {"kernel": list(window.kernel), "stride": list(window.stride), "dilation": list(window.dilation),
            "pads": list(window.pads), "ceil_mode": False}


def _typical_requant(rng: Rng, typical: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per channel (multiplier, shift) mapping a typical accumulator to 2^3 .. 2^7 with a shift in the
    short form's [-23, -1] (tg_dsp.h)."""
    multipliers, shifts = [], []
    for size in np.atleast_1d(typical):
        target = 2.0 ** rng.uniform(3, 7) / max(float(size), 1.0)
        shifts.append(int(np.clip(np.frexp(target)[1], -23, -1)))
        multipliers.append(int(rng.integers(2**30, 2**31)))
    return np.array(multipliers, np.int32), np.array(shifts, np.int32)


def conv_params(b: GraphBuilder, taps: np.ndarray, in_zp: int, fast: bool, per_channel: bool = True,
                narrow: bool = False) -> tuple[np.ndarray, dict[str, object]]:
    """Bias and node.params for output channels with weights taps[c] (int8 [C_out, taps]). `fast`:
    moderate biases and typical shifts (the short requantization), else tests/kernels' draws
    (biases up to the int32 edge, extreme multipliers and shifts)."""
    rng = b.rng
    input_offset = -in_zp
    low, high = accumulator_range(taps, input_offset)
    spread = typical_sum(taps, input_offset)
    if fast:
        bias = np.array([int(rng.integers(-int(s) - 1, int(s) + 2)) for s in spread], np.int32)
        typical = np.abs(bias.astype(np.float64)) + spread
        if per_channel:
            multiplier, shift = _typical_requant(rng, typical)
        else:
            multiplier, shift = _typical_requant(rng, np.array([np.median(typical)]))
    else:
        bias = draw_bias(rng, low, high, spread)
        bound = accumulator_bound(low, high, bias)
        typical = np.abs(bias.astype(np.float64)) + spread
        if per_channel:
            pairs = [b.requant(int(a), typical=t) for a, t in zip(bound, typical, strict=True)]
            multiplier = np.concatenate([m for m, _ in pairs])
            shift = np.concatenate([s for _, s in pairs])
        else:
            multiplier, shift = b.requant(int(bound.max()), typical=float(np.median(typical)))
    output_offset = b.zero_point()
    act_min, act_max = activation_range(rng, output_offset) if narrow else (-128, 127)
    return bias, {"input_offset": input_offset, "output_offset": output_offset, "multiplier": multiplier,
                  "shift": shift, "act_min": act_min, "act_max": act_max}


def _dead_channels(weights: np.ndarray, bias: np.ndarray, params: dict[str, object], channels: list[int]) -> None:
    """Make output channels dead as in the MLPerf VWW model: zero weights, a bias near 2^30, a
    shift the short form does not take (their output is a constant)."""
    for c in channels:
        weights[c] = 0
        bias[c] = np.int32(2**30 if c % 2 else -(2**30))
        params["shift"][c] = -27 - (c % 4)  # type: ignore[index]


# --- convolutions ----------------------------------------------------------------------------------

def conv_case(seed: int) -> Case:
    """tg_conv_1x1_s8 and tg_conv_im2col_s8 (and a grouped layer: tg_conv_s8)."""
    b = GraphBuilder(f"dsp_conv_{seed}", seed)
    rng = b.rng
    case = Case(b.graph)
    # (kernel, stride, dilation, pads, in H, in W, C_in, C_out, fast, per_channel, narrow, dead, groups)
    layers = [
        ((1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 3, 5, 64, 16, True, True, False, [], 1),   # 15 pixels: partial block
        ((1, 1), (2, 2), (1, 1), (0, 0, 0, 0), 5, 7, 13, 7, True, True, False, [], 1),    # K % 4 = 1, stride 2
        ((1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 2, 3, 3, 5, True, False, False, [], 1),    # per tensor, K = 3
        ((1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 2, 2, 260, 3, True, True, False, [], 1),   # K > 256: 4-pixel blocks
        ((1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 3, 3, 16, 12, True, True, False, [1, 4, 5, 11], 1),  # dead channels
        ((1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 3, 4, 9, 6, False, True, True, [], 1),     # general requantization
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 5, 6, 16, 8, True, True, False, [], 1),    # rows of whole groups
        ((3, 3), (2, 2), (1, 1), (0, 0, 1, 1), 7, 8, 3, 8, True, True, False, [], 1),     # C_in = 3 (VWW's first)
        ((10, 4), (2, 2), (1, 1), (4, 1, 5, 1), 13, 6, 1, 9, True, True, False, [], 1),   # KWS's first, C_in = 1
        ((2, 3), (1, 2), (2, 1), (1, 2, 0, 1), 6, 7, 5, 4, False, True, True, [], 1),     # dilation, any pads
        ((5, 5), (1, 1), (1, 1), (2, 2, 2, 2), 4, 4, 12, 5, True, True, False, [], 1),    # K = 300 > 256
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 4, 4, 6, 4, True, True, False, [], 2),    # grouped: plain
        # Dead channels not stored (first, middle and last; K % 4 = 1): rows index the live ones.
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 4, 5, 5, 10, True, True, False, [0, 3, 9], 1),
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 4, 4, 6, 6, True, True, False, [2, 5], 2),  # grouped, dead
        # tg_conv_pairs enters its 16-group loop groups % 16 groups before its end: 5, 6 and 2 (VWW's C_in = 8)
        ((1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 3, 3, 20, 6, True, True, False, [], 1),
        ((1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 2, 5, 24, 10, True, False, False, [], 1),
        ((1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 4, 5, 8, 16, True, True, False, [], 1),
        # The im2col fill (tg_conv_im2col_s8.c): windows inside the input widened in runs along an output row
        # (cut by block ends and row ends), kernel rows of 16k values (their row loop in assembly) or 4k (the
        # 4-value tail), rows a dilation apart; border windows by kernel rows, or by tap pixels when dilated.
        ((1, 3), (1, 1), (1, 1), (0, 0, 0, 0), 3, 13, 16, 6, True, True, False, [], 1),   # KH 1, out W 11
        ((3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 9, 11, 8, 6, True, True, False, [], 1),    # stride 2, span 16 + 8
        ((3, 3), (1, 1), (2, 1), (2, 1, 2, 1), 7, 9, 16, 4, True, True, False, [], 1),    # rows 2 apart
        ((3, 3), (1, 1), (2, 2), (2, 2, 2, 2), 6, 7, 4, 18, True, True, False, [], 1),    # dilated W, C_in 4
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 3, 10, 32, 6, True, True, False, [], 1),   # span 96, W 10
    ]
    for index, (kernel, stride, dilation, pads, height, width, in_c, out_c, fast, per_channel, narrow, dead,
                groups) in enumerate(layers):
        window = Window(kernel, stride, dilation, pads)
        out_h, out_w = window.output_size(height, width)
        in_zp = b.zero_point()
        x = b.input((1, height, width, in_c), zp=in_zp)
        weights = int8_weights(rng, (out_c, *kernel, in_c // groups))
        bias, params = conv_params(b, weights.reshape(out_c, -1), in_zp, fast, per_channel, narrow)
        _dead_channels(weights, bias, params, dead)
        y = b.layer("conv2d", [x, b.constant(weights, "w"), b.constant(bias, "b")], (1, out_h, out_w, out_c),
                    {**_attrs(window), "groups": groups, "activation": None}, params)
        # every other layer with the compiler's packed constants (tg_conv_params.pair_constants), the
        # others derive them in the assembly
        b.graph.nodes[-1].attrs["pair_constants"] = index % 2 == 0
        if groups != 1:
            case.expected[y] = "tg_conv_s8"
        elif kernel == (1, 1) and not any(pads):
            case.expected[y] = "tg_conv_1x1_s8"
        else:
            case.expected[y] = "tg_conv_im2col_s8"
    b.finish()
    return case


def few_channels_case(seed: int) -> Case:
    """tg_conv_few_channels_s8 (1 to 4 input channels): every channel count, strides 1 and 2 (and 3, and
    stride.w * C_in odd: the shifted row copies), padding on every side (more than the kernel reaches),
    odd widths (a row's last pixel alone), odd channel counts (the zero channel), per tensor, general
    requantization and narrow clamps, dead channels."""
    b = GraphBuilder(f"dsp_few_channels_{seed}", seed)
    rng = b.rng
    case = Case(b.graph, variants="given")  # the im2col variant takes these layers too, with less scratch
    # (kernel, stride, pads, in H, in W, C_in, C_out, fast, per_channel, narrow, dead)
    layers = [
        ((3, 3), (2, 2), (0, 0, 1, 1), 9, 10, 3, 8, True, True, False, []),      # VWW's first layer
        ((10, 4), (2, 2), (4, 1, 5, 1), 13, 6, 1, 9, True, True, False, []),     # KWS's first, odd C_out
        ((3, 3), (1, 1), (1, 1, 1, 1), 6, 7, 3, 16, True, True, False, []),      # IC's first: odd starts
        ((3, 3), (1, 1), (1, 1, 1, 1), 5, 5, 1, 5, True, False, False, []),      # C_in = 1, stride 1, per tensor
        ((2, 3), (1, 2), (0, 2, 1, 0), 5, 9, 2, 6, True, True, False, []),       # C_in = 2, uneven pads
        ((3, 2), (2, 1), (2, 0, 0, 1), 7, 6, 4, 7, True, True, False, []),       # C_in = 4, odd C_out
        ((5, 5), (3, 3), (2, 2, 2, 2), 8, 11, 3, 4, True, True, False, []),      # stride 3, 5x5
        ((3, 3), (1, 1), (1, 1, 1, 1), 4, 5, 3, 6, False, True, True, []),       # general requantization
        ((3, 3), (2, 2), (1, 1, 1, 1), 7, 7, 2, 5, False, False, True, []),      # per tensor, general, narrow
        ((3, 3), (2, 2), (1, 1, 1, 1), 6, 9, 3, 10, True, True, False, [0, 3, 9]),  # dead channels (stored rows)
        ((1, 3), (1, 1), (0, 1, 0, 1), 1, 9, 1, 4, True, True, False, []),      # 1-D
        ((3, 1), (1, 1), (3, 0, 3, 0), 3, 1, 2, 3, True, True, True, []),        # one column, pads beyond the input
        ((3, 3), (2, 2), (1, 1, 1, 1), 5, 6, 1, 17, True, True, False, []),     # 17 > 16 channels: im2col only
        ((3, 3), (1, 2), (1, 1, 1, 1), 5, 8, 2, 6, True, True, False, []),       # 9 steps: 3 padding steps skipped
        ((5, 1), (1, 1), (2, 0, 2, 0), 6, 5, 1, 4, True, True, False, []),       # 5 steps (3 skipped), odd starts
    ]
    for kernel, stride, pads, height, width, in_c, out_c, fast, per_channel, narrow, dead in layers:
        window = Window(kernel, stride, (1, 1), pads)
        out_h, out_w = window.output_size(height, width)
        in_zp = b.zero_point()
        x = b.input((1, height, width, in_c), zp=in_zp)
        weights = int8_weights(rng, (out_c, *kernel, in_c))
        bias, params = conv_params(b, weights.reshape(out_c, -1), in_zp, fast, per_channel, narrow)
        _dead_channels(weights, bias, params, dead)
        y = b.layer("conv2d", [x, b.constant(weights, "w"), b.constant(bias, "b")], (1, out_h, out_w, out_c),
                    {**_attrs(window), "groups": 1, "activation": None}, params)
        case.expected[y] = "tg_conv_few_channels_s8" if out_c <= 16 else "tg_conv_im2col_s8"
        b.graph.nodes[-1].attrs["variant"] = "tg_conv_few_channels_s8/row"  # (not a candidate for 17 channels)
    b.finish()
    return case


def one_by_one_few_case(seed: int) -> Case:
    """tg_conv_1x1_few_s8 (1x1, 4 or 8 input channels, fast layers): both channel counts, odd C_out
    (the zero channel), odd pixel counts, strides, per tensor, dead channels (zero weights, huge bias: the
    constant through the short form); general requantization and a narrow clamp (not fast: tg_conv_s8)."""
    b = GraphBuilder(f"dsp_one_by_one_few_{seed}", seed)
    rng = b.rng
    case = Case(b.graph, variants="given")  # tg_conv_1x1_s8 takes these layers too, with more scratch
    # (stride, in H, in W, C_in, C_out, fast, per_channel, narrow, dead)
    layers = [
        ((1, 1), 6, 6, 8, 16, True, True, False, []),           # VWW's layer 2
        ((1, 1), 3, 5, 4, 7, True, True, False, []),            # C_in = 4, odd C_out, 15 pixels
        ((2, 2), 5, 7, 8, 9, True, True, False, []),            # stride 2, odd C_out
        ((1, 1), 3, 3, 4, 13, True, False, False, []),          # per tensor
        ((1, 1), 3, 3, 12, 6, True, True, False, []),           # C_in = 12: the block kernel
        ((2, 1), 5, 3, 8, 1, True, True, False, []),            # one channel, uneven strides
        ((1, 1), 4, 3, 8, 12, True, True, False, [1, 4, 5, 11]),  # dead channels
        ((1, 2), 3, 5, 8, 6, False, True, False, []),           # general requantization: the fallback
        ((1, 1), 2, 3, 4, 5, True, False, True, []),            # narrow clamp: the fallback
    ]
    for stride, height, width, in_c, out_c, fast, per_channel, narrow, dead in layers:
        window = Window((1, 1), stride, (1, 1), (0, 0, 0, 0))
        out_h, out_w = window.output_size(height, width)
        in_zp = b.zero_point()
        x = b.input((1, height, width, in_c), zp=in_zp)
        weights = int8_weights(rng, (out_c, 1, 1, in_c))
        bias, params = conv_params(b, weights.reshape(out_c, -1), in_zp, fast, per_channel, narrow)
        _dead_channels(weights, bias, params, dead)
        y = b.layer("conv2d", [x, b.constant(weights, "w"), b.constant(bias, "b")], (1, out_h, out_w, out_c),
                    {**_attrs(window), "groups": 1, "activation": None}, params)
        few = fast and not narrow and in_c in (4, 8)
        case.expected[y] = "tg_conv_1x1_few_s8" if few else "tg_conv_1x1_s8"
        b.graph.nodes[-1].attrs["variant"] = "tg_conv_1x1_few_s8"  # (not a candidate where not fast)
    b.finish()
    return case


def conv_wide_case(seed: int) -> Case:
    """tg_conv_1x1_s8 and tg_conv_im2col_s8 with pre-widened weights (tg_conv_params.wide, forced by
    node.attrs["wide"]): odd C_out (the last channel waits for tg_conv_two), K % 4 != 0 (zero-padded
    groups), odd blocks (the last pixel from the int8 rows), per tensor, dead channels and general
    requantizations (runs that start at odd channels take the int8 rows), every Duff entry."""
    b = GraphBuilder(f"dsp_conv_wide_{seed}", seed)
    rng = b.rng
    case = Case(b.graph)
    # (kernel, stride, pads, in H, in W, C_in, C_out, fast, per_channel, dead)
    layers = [
        ((1, 1), (1, 1), (0, 0, 0, 0), 3, 5, 64, 16, True, True, []),        # 15 pixels: odd last block
        ((1, 1), (2, 2), (0, 0, 0, 0), 5, 7, 13, 7, True, True, []),         # K % 4 = 1, odd C_out
        ((1, 1), (1, 1), (0, 0, 0, 0), 2, 3, 3, 5, True, False, []),         # per tensor, K = 3
        ((1, 1), (1, 1), (0, 0, 0, 0), 3, 3, 16, 12, True, True, [1, 4, 5, 11]),  # dead channels
        ((1, 1), (1, 1), (0, 0, 0, 0), 3, 4, 9, 6, False, True, []),         # general requantization
        ((3, 3), (1, 1), (1, 1, 1, 1), 5, 6, 16, 8, True, True, []),         # rows of whole groups
        # (more than 16 output channels: 1-4 input channels and up to 16 outputs take tg_conv_few_channels_s8)
        ((3, 3), (2, 2), (0, 0, 1, 1), 7, 8, 3, 18, True, True, []),         # K = 27
        ((10, 4), (2, 2), (4, 1, 5, 1), 13, 6, 1, 19, True, True, []),       # KWS's first, C_in = 1
        ((3, 3), (1, 1), (1, 1, 1, 1), 4, 5, 5, 10, True, True, [0, 3, 9]),  # rows index, K % 4 = 1
        ((5, 5), (1, 1), (2, 2, 2, 2), 4, 4, 12, 6, True, True, []),         # K = 300 > 256: 4-pixel blocks
        ((1, 1), (1, 1), (0, 0, 0, 0), 3, 3, 20, 6, True, True, []),         # Duff entries: 5 groups
        ((1, 1), (1, 1), (0, 0, 0, 0), 2, 5, 24, 10, True, False, []),       # 6 groups, per tensor
        ((1, 1), (1, 1), (0, 0, 0, 0), 4, 5, 8, 16, True, True, []),         # 2 groups
        ((1, 1), (1, 1), (0, 0, 0, 0), 4, 4, 68, 4, True, True, []),         # 17 groups: 1 + 16
    ]
    for index, (kernel, stride, pads, height, width, in_c, out_c, fast, per_channel, dead) in enumerate(layers):
        window = Window(kernel, stride, (1, 1), pads)
        out_h, out_w = window.output_size(height, width)
        in_zp = b.zero_point()
        x = b.input((1, height, width, in_c), zp=in_zp)
        weights = int8_weights(rng, (out_c, *kernel, in_c))
        bias, params = conv_params(b, weights.reshape(out_c, -1), in_zp, fast, per_channel)
        _dead_channels(weights, bias, params, dead)
        # every other layer with packed constants (tg_conv_params.pair_constants), as in conv_case
        y = b.layer("conv2d", [x, b.constant(weights, "w"), b.constant(bias, "b")], (1, out_h, out_w, out_c),
                    {**_attrs(window), "groups": 1, "activation": None, "wide": True,
                     "pair_constants": index % 2 == 1}, params)
        case.expected[y] = "tg_conv_1x1_s8" if kernel == (1, 1) and not any(pads) else "tg_conv_im2col_s8"
    # Fused with a residual Add (passes/fuse_residual_add.py): the output stage runs 4 channels at a time
    # (an odd count: 2 + 1), then the Add. (kernel, pads, H, W, C_in, C_out)
    for kernel, pads, height, width, in_c, out_c in [((1, 1), (0, 0, 0, 0), 5, 6, 16, 16),
                                                     ((3, 3), (1, 1, 1, 1), 5, 5, 8, 10),
                                                     ((3, 3), (1, 1, 1, 1), 8, 8, 8, 16)]:  # the Add's table
        window = Window(kernel, (1, 1), (1, 1), pads)
        in_zp = b.zero_point()
        x = b.input((1, height, width, in_c), zp=in_zp)
        weights = int8_weights(rng, (out_c, *kernel, in_c))
        bias, params = conv_params(b, weights.reshape(out_c, -1), in_zp, True, True)
        y = b.layer("conv2d", [x, b.constant(weights, "w"), b.constant(bias, "b")], (1, height, width, out_c),
                    {**_attrs(window), "groups": 1, "activation": None, "wide": True, "pair_constants": True},
                    params)
        zps = [int(params["output_offset"]), b.zero_point()]  # type: ignore[call-overload]
        residual = b.input((1, height, width, out_c), zp=zps[1])
        (m1, s1), (m2, s2) = (int(rng.integers(2**30, 2**31)), 0), (int(rng.integers(2**30, 2**31)), -2)
        if height * width * out_c >= 1024:  # TFLite's exact 1/2: tg_add_rows_s8's loop, with the compiler's table
            m1 = 2**30
        mo, so = _typical_requant(rng, np.array([sum((abs(zp) + 74) * 2.0**20 for zp in zps) / 2]))
        add = {"input1_offset": -zps[0], "input2_offset": -zps[1], "output_offset": b.zero_point(),
               "input1_multiplier": m1, "input1_shift": s1, "input2_multiplier": m2, "input2_shift": s2,
               "output_multiplier": int(mo[0]), "output_shift": int(so[0]), "act_min": -128, "act_max": 127,
               "subtract": False}
        z = b.layer("add", [y, residual], (1, height, width, out_c), {"activation": None}, add)
        b.graph.outputs.remove(y)  # read by the Add only: the pass fuses the two
        # the scratch allows a whole block's outputs: the _rows twin (one Add call per block, tg_add_rows_s8)
        case.expected[z] = "tg_conv_1x1_add_rows_s8" if kernel == (1, 1) else "tg_conv_im2col_add_rows_s8"
    b.finish()
    return case


def depthwise_case(seed: int) -> Case:
    """tg_depthwise_conv_3x3_s8 (its row loop and its fallback to the plain kernel) and
    tg_depthwise_conv_fast_s8 (any kernel, dilation, multiplier). Tall outputs at stride 1 take the 3x3
    kernel's column order (transposed), the table's first, and where pinned (a last element "rows") its row
    order, which the least scratch selects."""
    b = GraphBuilder(f"dsp_depthwise_{seed}", seed)
    rng = b.rng
    case = Case(b.graph, variants="given")
    # (kernel, stride, dilation, pads, in H, in W, C_in, multiplier, fast, narrow[, per channel])
    layers: list[tuple] = [
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 6, 5, 8, 1, True, False),    # KWS-like, row loop
        ((3, 3), (2, 2), (1, 1), (0, 0, 1, 1), 9, 8, 12, 1, True, False),   # VWW's strided layers
        ((3, 3), (1, 1), (1, 1), (0, 0, 0, 0), 3, 3, 4, 1, True, False),    # one output pixel
        ((3, 3), (2, 1), (1, 1), (2, 0, 1, 2), 7, 4, 16, 1, True, False),   # uneven strides, big pads
        ((3, 3), (1, 2), (1, 1), (1, 1, 1, 1), 4, 9, 8, 1, True, False),    # stride-2 pairs, odd row: a single
        ((3, 3), (3, 3), (1, 1), (1, 1, 1, 1), 7, 8, 4, 1, True, False),    # stride 3: the plain kernel
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 4, 4, 6, 1, True, False),    # C % 4 = 2: a last group of 2
        ((3, 3), (2, 2), (1, 1), (0, 0, 1, 1), 7, 9, 5, 1, True, False),    # C % 4 = 1, stride 2
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 9, 4, 7, 1, True, False),    # C % 4 = 3, tall: transposed
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 16, 16, 10, 1, True, False),  # the largest: in place, C % 4 = 2
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 4, 4, 3, 1, True, False),    # C < 4: the general kernel
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 4, 5, 8, 1, False, True),    # extremes, narrow clamp: plain
        ((5, 5), (1, 1), (1, 1), (2, 2, 2, 2), 6, 6, 8, 1, True, False),    # general: 5x5
        ((3, 3), (1, 1), (2, 2), (2, 2, 2, 2), 5, 6, 5, 1, False, True),    # general: dilation, 5 channels
        ((3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 5, 5, 3, 2, True, False),    # general: multiplier 2
        ((1, 3), (1, 1), (1, 1), (0, 1, 0, 1), 1, 9, 7, 3, False, False),   # general: 1-D, multiplier 3
        # tg_depthwise_conv_3x3_s8's row loops: every remainder after the blocks of 4 pixels at both
        # strides (stride 1: pair, single; stride 2: pair, tail pair, single), an odd left padding (its
        # first pair half padding), an odd right edge (its last pair half padding), the odd last column
        # (the tail) as input or padding, per-tensor requantization (False: per channel)
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 5, 7, 8, 1, True, False),    # 7 = 4 + 2 + 1, tail padding
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 3, 6, 4, 1, True, False, False),  # 6 = 4 + 2, right pair
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 3, 3, 12, 1, True, False),   # 3 = 2 + 1 (VWW's last layer)
        ((3, 3), (1, 1), (1, 1), (0, 0, 0, 0), 4, 5, 4, 1, True, False),    # 3 = 2 + 1, tail input
        ((3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 5, 8, 8, 1, True, False),    # 4: pair + tail pair, tail input
        ((3, 3), (2, 2), (1, 1), (0, 0, 0, 0), 5, 11, 4, 1, True, False, False),  # 5 = 4 + single
        ((3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 4, 13, 8, 1, True, False),   # 7 = 4 + pair + single
        ((3, 3), (2, 2), (1, 1), (0, 0, 1, 1), 6, 12, 4, 1, True, False),   # 6 = 4 + tail pair (VWW)
        ((3, 3), (2, 2), (1, 1), (0, 0, 1, 1), 4, 17, 4, 1, True, False),   # 8 = 4 + pair + tail pair
        # outputs with more rows than columns at stride 1 run transposed (output columns as rows): every
        # remainder, odd edges (top / bottom), the tail as input or padding, uneven padding, the KWS
        # shape; tall outputs at stride 2 run in rows
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 7, 5, 8, 1, True, False),    # 7 = 4 + 2 + 1, tail padding
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 6, 3, 4, 1, True, False, False),  # 6 = 4 + 2, bottom pair
        ((3, 3), (1, 1), (1, 1), (0, 0, 0, 0), 5, 4, 4, 1, True, False),    # 3 = 2 + 1, tail input
        ((3, 3), (1, 1), (1, 1), (0, 1, 0, 1), 7, 3, 8, 1, True, False),    # 5 = 4 + 1, tail input
        ((3, 3), (1, 1), (1, 1), (2, 0, 1, 1), 7, 3, 4, 1, True, False),    # 8 = 4 + 4, even top padding
        ((3, 3), (1, 1), (1, 1), (1, 1, 2, 1), 8, 4, 8, 1, True, False, False),  # 9 = 8 + 1, bottom padding 2
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 25, 5, 12, 1, True, False, False),  # KWS: 25 = 6 x 4 + 1
        ((3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 13, 4, 8, 1, True, False),   # 7 x 2 at stride 2: rows
        # tall outputs in the row order (the "rows" mode, given less scratch): the same remainders
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 7, 5, 8, 1, True, False, True, "rows"),    # 7 x 5: 4 + 1 per row
        ((3, 3), (1, 1), (1, 1), (0, 1, 0, 1), 7, 3, 8, 1, True, False, False, "rows"),  # 5 x 3: 2 + 1
        ((3, 3), (1, 1), (1, 1), (1, 1, 2, 1), 8, 4, 8, 1, True, False, True, "rows"),    # 9 x 4, bottom padding 2
        ((3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 25, 5, 12, 1, True, False, True, "rows"),  # KWS's shape in rows
    ]
    for kernel, stride, dilation, pads, height, width, in_c, multiplier, fast, narrow, *rest in layers:
        per_channel, mode = rest[:1], rest[1:]
        window = Window(kernel, stride, dilation, pads)
        out_h, out_w = window.output_size(height, width)
        out_c = in_c * multiplier
        in_zp = b.zero_point()
        x = b.input((1, height, width, in_c), zp=in_zp)
        weights = int8_weights(rng, (1, *kernel, out_c))
        bias, params = conv_params(b, weights.reshape(-1, out_c).T, in_zp, fast, all(per_channel), narrow)
        y = b.layer("depthwise_conv2d", [x, b.constant(weights, "w"), b.constant(bias, "b")],
                    (1, out_h, out_w, out_c), {**_attrs(window), "depth_multiplier": multiplier, "activation": None},
                    params)
        three = kernel == (3, 3) and dilation == (1, 1) and multiplier == 1 and out_c >= 4
        case.expected[y] = "tg_depthwise_conv_3x3_s8" if three else "tg_depthwise_conv_fast_s8"
        if mode:
            b.graph.nodes[-1].attrs["variant"] = f"tg_depthwise_conv_3x3_s8/{mode[0]}"
    b.finish()
    return case


# --- fully connected, add, average pool ------------------------------------------------------------

def fully_connected_case(seed: int) -> Case:
    """tg_fully_connected_fast_s8 (K % 8 = 0), tg_fully_connected_wide_s8 (K % 128 = 0),
    tg_fully_connected_direct_s8 (K % 4 = 0 otherwise; all of them with the least scratch), per tensor and
    per channel, the plain kernel where they do not apply (a narrow clamp, extreme shifts), odd outputs,
    several rows, and a tiny layer (plain)."""
    b = GraphBuilder(f"dsp_fc_{seed}", seed)
    rng = b.rng
    case = Case(b.graph)
    # (rows, K, N, fast, per_channel, narrow)
    layers = [
        (1, 64, 33, True, False, False),    # fast, odd N
        (1, 256, 16, True, False, False),   # wide
        (3, 128, 9, True, False, False),    # wide, 3 rows, odd N
        (1, 40, 30, True, False, False),    # fast, K % 16 != 0
        (1, 100, 12, True, False, False),   # K % 8 != 0: direct
        (1, 64, 20, True, True, False),     # per-channel, fast
        (1, 256, 13, True, True, False),    # per-channel, wide, odd N
        (2, 40, 31, True, True, False),     # per-channel, fast, K % 16 != 0, odd N, 2 rows
        (1, 8, 129, True, True, False),     # per-channel, K = 8 (the float AD's decoder input), odd N
        (1, 48, 7, True, True, False),      # per-channel, K % 16 == 0, odd N
        (1, 64, 12, False, True, False),    # per-channel extremes (some shifts outside [-23, -1]): plain
        (1, 128, 10, False, False, True),   # extremes, narrow: plain
        (1, 8, 128, True, False, False),    # K = 8 (AD's decoder input)
        (1, 16, 3, True, False, False),     # tiny: plain
        (2, 100, 22, True, False, False),   # K / 4 = 25 groups: direct enters its 16-group loop mid-way, 2 rows
        (1, 68, 18, True, True, False),     # per-channel, K / 4 = 17 groups (direct: one group, then 16)
    ]
    for rows, depth, outputs, fast, per_channel, narrow in layers:
        in_zp = b.zero_point()
        in_shape = (1, depth) if rows == 1 else (1, rows, depth)
        x = b.input(in_shape, zp=in_zp)
        weights = int8_weights(rng, (outputs, depth))
        bias, params = conv_params(b, weights, in_zp, fast, per_channel, narrow)
        y = b.layer("fully_connected", [x, b.constant(weights, "w"), b.constant(bias, "b")],
                    (*in_shape[:-1], outputs), {"activation": None}, params)
        macs = rows * depth * outputs
        shifts = np.asarray(params["shift"])  # the short requantization for every channel (tg_dsp.h)
        short = (bool(np.all((shifts <= -1) & (shifts >= -23))) and not narrow
                 and accumulator_bits(weights, bias, 0, -in_zp, shifts) <= 29)
        dsp = macs >= 1024 and short
        case.expected[y] = ("tg_fully_connected_wide_s8" if dsp and depth % 128 == 0 else
                            "tg_fully_connected_fast_s8" if dsp and depth % 8 == 0 else
                            "tg_fully_connected_direct_s8" if dsp and depth % 4 == 0 and outputs >= 4 else
                            "tg_fully_connected_s8")
    b.finish()
    return case


def add_case(seed: int) -> Case:
    """tg_add_fast_s8: same shapes (ResNet's residuals), broadcasts, subtraction, shifts 0 and
    negative (the short form), and extremes and narrow clamps (its general path)."""
    b = GraphBuilder(f"dsp_add_{seed}", seed)
    rng = b.rng
    case = Case(b.graph)
    # (output shape, input 1 shape, input 2 shape, typical, subtract, narrow)
    layers = [
        ((1, 4, 5, 16), (1, 4, 5, 16), (1, 4, 5, 16), True, False, False),
        ((1, 3, 3, 7), (1, 3, 3, 7), (1, 1, 1, 7), True, True, False),
        ((1, 2, 5, 3), (1, 2, 1, 3), (1, 1, 5, 3), True, False, True),
        ((1, 6, 11), (1, 6, 11), (1, 6, 1), False, False, False),
        ((1, 4, 4, 4), (1, 4, 4, 4), (1, 4, 4, 4), False, True, True),
        # 1,024 elements and more: the rescale from the compiler's table (tg_add_params.rescaled)
        ((1, 8, 8, 20), (1, 8, 8, 20), (1, 8, 8, 20), True, False, False),
        ((1, 8, 8, 20), (1, 8, 8, 20), (1, 8, 8, 20), True, False, True),
    ]
    for out_shape, shape1, shape2, typical, subtract, narrow in layers:
        zps = [b.zero_point(), b.zero_point()]
        names = [b.input(shape1, zp=zps[0]), b.input(shape2, zp=zps[1])]
        if typical:  # TFLite's derivation: the larger scale gets 1/2 (shift 0), the other less
            m1, s1 = int(rng.integers(2**30, 2**31)), 0
            m2, s2 = int(rng.integers(2**30, 2**31)), int(rng.integers(-6, 0))
            if np.prod(out_shape) >= 1024:  # exactly TFLite's 1/2 for the larger scale: tg_add_rows_s8's loop
                m1 = 2**30
            if rng.random() < 0.5:
                (m1, s1), (m2, s2) = (m2, s2), (m1, s1)
        else:
            m1, s1 = int(rng.choice([0, 2**31 - 1, int(rng.integers(0, 2**31))])), int(rng.choice([-31, -24, 1, 2]))
            m2, s2 = int(rng.integers(2**30, 2**31)), int(rng.integers(-3, 1))
        bound = sum(((255 << 20) * m * 2 ** max(s, 0) + 2**31 - 1) >> 31 for m, s in ((m1, s1), (m2, s2)))
        typical_size = sum((abs(zp) + 74) * 2.0**20 * m * 2.0**s / 2**31
                           for zp, m, s in zip(zps, (m1, m2), (s1, s2), strict=True))
        if typical:
            mo, so = _typical_requant(rng, np.array([typical_size]))
        else:
            mo, so = b.requant(bound, typical=typical_size)
        output_offset = b.zero_point()
        act_min, act_max = activation_range(rng, output_offset) if narrow else (-128, 127)
        params = {"input1_offset": -zps[0], "input2_offset": -zps[1], "output_offset": output_offset,
                  "input1_multiplier": m1, "input1_shift": s1, "input2_multiplier": m2, "input2_shift": s2,
                  "output_multiplier": int(mo[0]), "output_shift": int(so[0]), "act_min": act_min,
                  "act_max": act_max, "subtract": subtract}
        y = b.layer("add", names, out_shape, {"activation": None}, params)
        case.expected[y] = "tg_add_fast_s8"
    b.finish()
    return case


def avg_pool_case(seed: int) -> Case:
    """tg_avg_pool_fast_s8: global pools (KWS, IC, VWW), padded windows with count_include_pad either
    way, channel counts not a multiple of 4, a window of more than 256 taps, rescaling, TFLM's integer mean
    (a float model's pool, TFLite MEAN)."""
    b = GraphBuilder(f"dsp_pool_{seed}", seed)
    case = Case(b.graph)
    # (kernel, stride, pads, in H, in W, C, count_include_pad, rescale, mean)
    layers = [
        ((25, 5), (25, 5), (0, 0, 0, 0), 25, 5, 64, False, False, False),
        ((3, 3), (2, 2), (1, 1, 1, 1), 7, 6, 5, True, True, False),
        ((3, 3), (2, 2), (1, 0, 1, 2), 6, 7, 6, False, True, False),
        ((17, 17), (1, 1), (0, 0, 0, 0), 18, 17, 3, False, False, False),   # 289 taps
        ((2, 2), (1, 1), (0, 0, 0, 0), 3, 3, 1, False, False, False),
        ((25, 5), (25, 5), (0, 0, 0, 0), 25, 5, 64, False, False, True),
        ((3, 3), (2, 2), (1, 1, 1, 1), 7, 6, 5, True, False, True),
        ((3, 3), (2, 2), (1, 0, 1, 2), 6, 7, 6, False, False, True),
        ((17, 17), (1, 1), (0, 0, 0, 0), 18, 17, 3, False, False, True),
    ]
    for kernel, stride, pads, height, width, channels, include_pad, rescale, mean in layers:
        window = Window(kernel, stride, (1, 1), pads)
        out_h, out_w = window.output_size(height, width)
        in_zp = b.zero_point()
        x = b.input((1, height, width, channels), zp=in_zp)
        multiplier, shift = b.requant(255, typical=128) if rescale or mean else (np.zeros(1), np.zeros(1))
        params = {"input_zero_point": in_zp, "output_offset": b.zero_point(), "rescale": rescale, "mean": mean,
                  "multiplier": int(multiplier[0]), "shift": int(shift[0]), "count_include_pad": include_pad}
        y = b.layer("avg_pool", [x], (1, out_h, out_w, channels), {**_attrs(window), "count_include_pad": include_pad},
                    params)
        case.expected[y] = "tg_avg_pool_fast_s8"
    b.finish()
    return case


CASES = {"conv": conv_case, "depthwise": depthwise_case, "fully_connected": fully_connected_case,
         "add": add_case, "avg_pool": avg_pool_case, "few_channels": few_channels_case, "conv_wide": conv_wide_case,
         "one_by_one_few": one_by_one_few_case}
