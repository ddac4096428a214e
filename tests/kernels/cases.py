"""Random single-op layers for every IR op with a C kernel, grouped into graphs.

Each `<op>_graph(seed)` returns a Graph of LAYERS independent layers of that op, with shapes,
windows, zero points and integer kernel parameters drawn from `np.random.default_rng(seed)`, so
a failing case is rebuilt exactly from its name and seed. The bounds that keep the int32
arithmetic defined are explained in builder.py.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinygen.ir import Graph
from tinygen.ops.common import Window

from .builder import (
    GraphBuilder,
    accumulator_bound,
    accumulator_range,
    activation_range,
    draw_bias,
    int8_weights,
    typical_sum,
)

LAYERS = 4
Rng = np.random.Generator


def _window(rng: Rng, max_kernel: int = 4, max_stride: int = 3, max_dilation: int = 3,
            max_extra_pad: int = 1) -> tuple[Window, int, int]:
    """A random 2-D window with asymmetric pads (up to the kernel span, plus a little) and an
    input height and width it fits (1-D windows, H = KH = 1, now and then)."""
    one_d = rng.random() < 0.2
    kernel = (1 if one_d else int(rng.integers(1, max_kernel + 1)), int(rng.integers(1, max_kernel + 1)))
    stride = (1 if one_d else int(rng.integers(1, max_stride + 1)), int(rng.integers(1, max_stride + 1)))
    dilation = (1 if one_d else int(rng.integers(1, max_dilation + 1)), int(rng.integers(1, max_dilation + 1)))
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)]
    pads = [0 if one_d and axis in (0, 2) else int(rng.integers(0, spans[axis % 2] + max_extra_pad))
            for axis in range(4)]
    sizes = []
    for axis in range(2):
        smallest = max(1, spans[axis] - pads[axis] - pads[axis + 2])
        sizes.append(1 if one_d and axis == 0 else int(rng.integers(smallest, smallest + 9)))
    window = Window(kernel, stride, dilation, (pads[0], pads[1], pads[2], pads[3]))
    return window, sizes[0], sizes[1]


def _window_attrs(window: Window) -> dict[str, object]:
    return {"kernel": list(window.kernel), "stride": list(window.stride), "dilation": list(window.dilation),
            "pads": list(window.pads), "ceil_mode": window.ceil_mode}


def _conv_params(b: GraphBuilder, taps: np.ndarray, in_zp: int) -> tuple[np.ndarray, dict[str, object]]:
    """Bias and node.params of a conv / fully connected layer whose output channel c has the
    weights taps[c] (int8 [C_out, taps])."""
    rng = b.rng
    input_offset = -in_zp
    low, high = accumulator_range(taps, input_offset)
    spread = typical_sum(taps, input_offset)
    bias = draw_bias(rng, low, high, spread)
    bound = accumulator_bound(low, high, bias)
    typical = np.abs(bias.astype(np.float64)) + spread
    per_channel = rng.random() < 0.8 or len(taps) == 1
    if per_channel:
        pairs = [b.requant(int(a), typical=t) for a, t in zip(bound, typical, strict=True)]
        multiplier = np.concatenate([m for m, _ in pairs])
        shift = np.concatenate([s for _, s in pairs])
    else:
        multiplier, shift = b.requant(int(bound.max()), typical=float(np.median(typical)))
    output_offset = b.zero_point()
    act_min, act_max = activation_range(rng, output_offset)
    return bias, {"input_offset": input_offset, "output_offset": output_offset, "multiplier": multiplier,
                  "shift": shift, "act_min": act_min, "act_max": act_max}


def conv2d_graph(seed: int) -> Graph:
    """Standard and grouped convolutions."""
    b = GraphBuilder(f"conv2d_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS):
        window, height, width = _window(rng)
        groups = int(rng.choice([1, 1, 2, 3]))
        group_in, group_out = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        in_c, out_c = groups * group_in, groups * group_out
        out_h, out_w = window.output_size(height, width)
        in_zp = b.zero_point()
        x = b.input((1, height, width, in_c), zp=in_zp)
        weights = int8_weights(rng, (out_c, *window.kernel, group_in))
        bias, params = _conv_params(b, weights.reshape(out_c, -1), in_zp)
        b.layer("conv2d", [x, b.constant(weights, "w"), b.constant(bias, "b")], (1, out_h, out_w, out_c),
                {**_window_attrs(window), "groups": groups, "activation": None}, params)
    return b.finish()


def conv2d_deep_graph(seed: int) -> Graph:
    """Convolutions with long accumulations (many input channels, big kernels), where the
    int32 accumulator bound and the extreme biases matter most; the first layer is pointwise
    (1x1, unpadded, strided or not: what a matrix-product variant of the kernel takes)."""
    b = GraphBuilder(f"conv2d_deep_{seed}", seed)
    rng = b.rng
    for index in b.layers(3):
        kernel = 1 if index == 0 else int(rng.integers(1, 6))
        stride = int(rng.integers(1, 3))
        window = Window((kernel, kernel), (stride, stride), (1, 1), (0, 0, 0, 0))
        in_c, out_c = int(rng.integers(32, 97)), int(rng.integers(2, 9))
        height, width = kernel + stride * 1, kernel + stride * 2  # output 2 x 3
        in_zp = b.zero_point()
        x = b.input((1, height, width, in_c), zp=in_zp)
        weights = int8_weights(rng, (out_c, kernel, kernel, in_c))
        bias, params = _conv_params(b, weights.reshape(out_c, -1), in_zp)
        b.layer("conv2d", [x, b.constant(weights, "w"), b.constant(bias, "b")],
                (1, *window.output_size(height, width), out_c),
                {**_window_attrs(window), "groups": 1, "activation": None}, params)
    return b.finish()


def depthwise_conv2d_graph(seed: int) -> Graph:
    """Depthwise convolutions, channel multiplier 1 to 3."""
    b = GraphBuilder(f"depthwise_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS):
        window, height, width = _window(rng)
        in_c, multiplier = int(rng.integers(1, 7)), int(rng.choice([1, 1, 2, 3]))
        out_c = in_c * multiplier
        out_h, out_w = window.output_size(height, width)
        in_zp = b.zero_point()
        x = b.input((1, height, width, in_c), zp=in_zp)
        weights = int8_weights(rng, (1, *window.kernel, out_c))
        bias, params = _conv_params(b, weights.reshape(-1, out_c).T, in_zp)
        b.layer("depthwise_conv2d", [x, b.constant(weights, "w"), b.constant(bias, "b")],
                (1, out_h, out_w, out_c),
                {**_window_attrs(window), "depth_multiplier": multiplier, "activation": None}, params)
    return b.finish()


def conv_transpose2d_graph(seed: int) -> Graph:
    """Transposed convolutions, standard, grouped and depthwise: strides and dilations that share a factor
    or not (so taps divide in varied patterns), crops of the full output (pads) and output_padding."""
    b = GraphBuilder(f"conv_transpose2d_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS):
        one_d = rng.random() < 0.2
        kernel = (1 if one_d else int(rng.integers(1, 5)), int(rng.integers(1, 5)))
        stride = (1 if one_d else int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        dilation = (1 if one_d else int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        height, width = (1 if one_d else int(rng.integers(2, 7))), int(rng.integers(2, 8))
        naturals = [(size - 1) * s + (k - 1) * d + 1 + int(rng.integers(0, max(s, d)))
                    for size, k, s, d in zip((height, width), kernel, stride, dilation, strict=True)]
        # Crops up to the kernel span (what models use), leaving at least half the full output.
        spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilation, strict=True)]
        crops = [min(spans[axis], naturals[axis] // 4 + 1) for axis in range(2)]
        begin = [0 if one_d and axis == 0 else int(rng.integers(0, crops[axis])) for axis in range(2)]
        end = [0 if one_d and axis == 0 else int(rng.integers(0, crops[axis])) for axis in range(2)]
        out_h, out_w = (naturals[axis] - begin[axis] - end[axis] for axis in range(2))
        window = Window(kernel, stride, dilation, (begin[0], begin[1], end[0], end[1]))
        groups = int(rng.choice([1, 1, 2, 3]))
        group_in, group_out = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        if rng.random() < 0.2:
            group_in = group_out = 1  # depthwise
        in_c, out_c = groups * group_in, groups * group_out
        in_zp = b.zero_point()
        x = b.input((1, height, width, in_c), zp=in_zp)
        weights = int8_weights(rng, (out_c, *kernel, group_in))
        bias, params = _conv_params(b, weights.reshape(out_c, -1), in_zp)
        b.layer("conv_transpose2d", [x, b.constant(weights, "w"), b.constant(bias, "b")], (1, out_h, out_w, out_c),
                {**_window_attrs(window), "groups": groups, "activation": None}, params)
    return b.finish()


def fully_connected_graph(seed: int) -> Graph:
    """Fully connected layers on [1, K] and on several rows [1, R, K]."""
    b = GraphBuilder(f"fully_connected_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS):
        rows, depth, out_features = int(rng.integers(1, 4)), int(rng.integers(1, 65)), int(rng.integers(1, 11))
        in_zp = b.zero_point()
        in_shape = (1, depth) if rows == 1 and rng.random() < 0.5 else (1, rows, depth)
        x = b.input(in_shape, zp=in_zp)
        weights = int8_weights(rng, (out_features, depth))
        bias, params = _conv_params(b, weights, in_zp)
        out_shape = (*in_shape[:-1], out_features)
        b.layer("fully_connected", [x, b.constant(weights, "w"), b.constant(bias, "b")], out_shape,
                {"activation": None}, params)
    return b.finish()


def fully_connected_dsp_graph(seed: int) -> Graph:
    """Fully connected layers the DSP variants take (tg_fully_connected_{fast,wide,direct}_s8): K a multiple
    of 8, 16 or 128, odd and even output counts, per-channel (mostly) or per-tensor requantization in the
    short form with the full int8 range, or (the extreme layers) tests/kernels' draws."""
    from ..dsp.cases import conv_params  # typical per-channel shifts in [-23, -1] (the short form)

    b = GraphBuilder(f"fully_connected_dsp_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS):
        rows, depth = int(rng.integers(1, 3)), int(rng.choice([8, 16, 48, 128, 256]))
        out_features = int(rng.choice([7, 13, 20, 33]))
        if rows * depth * out_features < 1024:  # tiny layers take the plain kernel (ops/fully_connected.py)
            out_features = 1024 // (rows * depth) + int(rng.integers(1, 3))
        in_zp = b.zero_point()
        in_shape = (1, depth) if rows == 1 else (1, rows, depth)
        x = b.input(in_shape, zp=in_zp)
        weights = int8_weights(rng, (out_features, depth))
        if b.extreme:
            bias, params = _conv_params(b, weights, in_zp)
        else:
            bias, params = conv_params(b, weights, in_zp, fast=True, per_channel=rng.random() < 0.8)
        b.layer("fully_connected", [x, b.constant(weights, "w"), b.constant(bias, "b")],
                (*in_shape[:-1], out_features), {"activation": None}, params)
    return b.finish()


def _broadcast_shapes(rng: Rng) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    """(output, input1, input2) shapes of one of the broadcast patterns binary ops meet."""
    n, h, w, c = 1, int(rng.integers(1, 5)), int(rng.integers(1, 6)), int(rng.integers(1, 7))
    full = (n, h, w, c)
    pattern = int(rng.integers(0, 8))
    if pattern == 0:
        shapes = (full, full)  # same shape
    elif pattern == 1:
        shapes = (full, (1, 1, 1, c))  # per channel
    elif pattern == 2:
        shapes = (full, (1, h, w, 1))  # per pixel
    elif pattern == 3:
        shapes = ((1, 1, 1, 1), full)  # scalar first
    elif pattern == 4:
        shapes = ((1, h, 1, c), (1, 1, w, c))  # both broadcast
    elif pattern == 5:
        shapes = (full, (c,))  # a lower-rank operand (a constant: graph inputs carry the batch axis)
    elif pattern == 6:
        shapes = ((1, h * w, c), (1, h * w, 1))  # rank 3 (rows of a plain tensor)
    else:
        shapes = ((1, w), (1, 1))  # rank 2
    out = tuple(int(d) for d in np.broadcast_shapes(*shapes))
    return out, shapes[0], shapes[1]


def _binary_inputs(b: GraphBuilder, shapes: tuple[tuple[int, ...], ...]) -> tuple[list[str], list[int]]:
    """Two operands, the second now and then a constant int8 tensor in flash (always when it
    has no batch axis of 1: every graph input and output is [1, ...])."""
    names, zps = [], []
    for index, shape in enumerate(shapes):
        zp = b.zero_point()
        if index == 1 and (b.rng.random() < 0.25 or len(shape) == 1):
            data = b.rng.integers(-128, 128, size=shape).astype(np.int8)
            names.append(b.constant(data, "operand", quant=b.quant(zp)))
        else:
            names.append(b.input(shape, zp=zp))
        zps.append(zp)
    return names, zps


def _input_rescale(rng: Rng) -> tuple[int, int]:
    """(multiplier, shift) of one add input: mostly TFLite's own range (real in (0, 1/2], shift
    <= 0), plus the extremes the kernel still defines: shift -31 and up to +2 (builder.py)."""
    if rng.random() < 0.6:
        return int(rng.integers(2**30, 2**31)), int(rng.integers(-3, 1))
    return (int(rng.choice([0, 1, 2**30, 2**31 - 1, int(rng.integers(0, 2**31))])),
            int(rng.choice([-31, -31, -30, -12, 0, 1, 2, 2])))


def add_graph(seed: int) -> Graph:
    """Add and subtract, TFLite's int8 ADD arithmetic, over the broadcast patterns."""
    b = GraphBuilder(f"add_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS + 4):
        out_shape, shape1, shape2 = _broadcast_shapes(rng)
        names, zps = _binary_inputs(b, (shape1, shape2))
        (m1, s1), (m2, s2) = _input_rescale(rng), _input_rescale(rng)
        # |(x + offset) << 20| <= 255 * 2^20; each rescaled input is at most that times m 2^shift / 2^31.
        bound = sum(((255 << 20) * m * 2 ** max(s, 0) + 2**31 - 1) >> 31 for m, s in ((m1, s1), (m2, s2)))
        typical = sum((abs(zp) + 74) * 2.0**20 * m * 2.0**s / 2**31 for zp, m, s in zip(zps, (m1, m2), (s1, s2),
                                                                                       strict=True))
        mo, so = b.requant(bound, typical=typical)
        output_offset = b.zero_point()
        act_min, act_max = activation_range(rng, output_offset)
        params = {"input1_offset": -zps[0], "input2_offset": -zps[1], "output_offset": output_offset,
                  "input1_multiplier": m1, "input1_shift": s1, "input2_multiplier": m2, "input2_shift": s2,
                  "output_multiplier": int(mo[0]), "output_shift": int(so[0]), "act_min": act_min,
                  "act_max": act_max, "subtract": bool(rng.random() < 0.4)}
        b.layer("add", names, out_shape, {"activation": None}, params)
    return b.finish()


def mul_graph(seed: int) -> Graph:
    """Multiply, TFLite's int8 MUL arithmetic, over the broadcast patterns."""
    b = GraphBuilder(f"mul_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS + 4):
        out_shape, shape1, shape2 = _broadcast_shapes(rng)
        names, zps = _binary_inputs(b, (shape1, shape2))
        multiplier, shift = b.requant(255 * 255,  # |(x1 + o1)(x2 + o2)| <= 255^2
                                         typical=(abs(zps[0]) + 74) * (abs(zps[1]) + 74))
        output_offset = b.zero_point()
        act_min, act_max = activation_range(rng, output_offset)
        params = {"input1_offset": -zps[0], "input2_offset": -zps[1], "output_offset": output_offset,
                  "output_multiplier": int(multiplier[0]), "output_shift": int(shift[0]),
                  "act_min": act_min, "act_max": act_max}
        b.layer("mul", names, out_shape, {"activation": None}, params)
    return b.finish()


def _pool_window(rng: Rng, overhang: bool = False) -> tuple[Window, int, int, tuple[int, int]]:
    """A pooling window (ceil_mode now and then; pads can exceed the kernel, so whole windows
    can lie in the padding) or a global one. With `overhang`, always ceil_mode with strides of
    2 or 3, so the last window usually reaches past the padded input."""
    if overhang:
        window, height, width = _window(rng, max_extra_pad=2)
        stride = (int(rng.integers(2, 4)), int(rng.integers(2, 4)))
        window = Window(window.kernel, stride, window.dilation, window.pads, ceil_mode=True)
        return window, height, width, window.output_size(height, width)
    if rng.random() < 0.2:
        height, width = int(rng.integers(1, 6)), int(rng.integers(1, 6))
        window = Window((height, width), (1, 1), (1, 1), (0, 0, 0, 0))
        return window, height, width, (1, 1)
    window, height, width = _window(rng, max_extra_pad=2)
    if rng.random() < 0.3:
        window = Window(window.kernel, window.stride, window.dilation, window.pads, ceil_mode=True)
    return window, height, width, window.output_size(height, width)


def max_pool_graph(seed: int) -> Graph:
    b = GraphBuilder(f"max_pool_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS + 2):
        window, height, width, (out_h, out_w) = _pool_window(rng)
        channels = int(rng.integers(1, 6))
        x = b.input((1, height, width, channels))
        global_flat = window.kernel == (height, width) and rng.random() < 0.5
        out_shape = (1, channels) if global_flat else (1, out_h, out_w, channels)
        b.layer("max_pool", [x], out_shape, _window_attrs(window), {})
    return b.finish()


def avg_pool_graph(seed: int, overhang: bool = False) -> Graph:
    """Average pooling: count_include_pad either way, optionally requantized afterwards, or TFLM's
    integer mean (a float model's pool, TFLite MEAN: one requantization of the sum)."""
    b = GraphBuilder(f"avg_pool_{seed}{'_overhang' if overhang else ''}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS + 2):
        window, height, width, (out_h, out_w) = _pool_window(rng, overhang)
        channels = int(rng.integers(1, 6))
        in_zp = b.zero_point()
        x = b.input((1, height, width, channels), zp=in_zp)
        mean = bool(rng.random() < 0.4)
        rescale = not mean and bool(rng.random() < 0.7)
        output_offset = b.zero_point()
        # rescale: the kernel rescales the window's sum - count * input_zero_point, |.| <= 255 taps;
        # mean: the average - input_zero_point lies in [-255, 255] (the multiplier is s_in / s_out too).
        taps = int(np.prod(window.kernel))
        multiplier, shift = (b.requant(255 * taps, typical=128 * taps) if rescale else
                             b.requant(255, typical=128) if mean else (np.zeros(1), np.zeros(1)))
        params = {"input_zero_point": in_zp, "output_offset": output_offset, "rescale": rescale, "mean": mean,
                  "multiplier": int(multiplier[0]), "shift": int(shift[0]),
                  "count_include_pad": bool(rng.random() < (0.8 if overhang else 0.5))}
        global_flat = window.kernel == (height, width) and rng.random() < 0.5
        out_shape = (1, channels) if global_flat else (1, out_h, out_w, channels)
        b.layer("avg_pool", [x], out_shape, {**_window_attrs(window),
                                             "count_include_pad": params["count_include_pad"]}, params)
    return b.finish()


def softmax_graph(seed: int) -> Graph:
    """Softmax with the input scaling drawn directly: multiplier in [2^30, 2^31), left shift
    0..31, diff_min from the left shift as TFLite's CalculateInputRadius derives it."""
    b = GraphBuilder(f"softmax_{seed}", seed)
    rng = b.rng
    axis_rng = np.random.default_rng(seed + 100)  # its own draws: the other layers' stay as they were
    for _ in b.layers(LAYERS + 2):
        # Depths past 512 reach sums of exponentials >= 512 (a division by 2^32 or more).
        depth = int(rng.choice([1, 2, *rng.integers(3, 12, 2), int(rng.integers(12, 100)),
                                int(rng.integers(512, 1500))]))
        rows = int(rng.integers(1, 4))
        shape: tuple[int, ...] = (1, depth) if rows == 1 else (1, rows, depth)
        attrs: dict[str, object] = {"beta": 1.0}
        if depth <= 12 and axis_rng.random() < 0.6:  # over a middle axis: rows of values `inner` apart
            axis = int(axis_rng.integers(1, 3))
            shape = tuple(1 if a == 0 else depth if a == axis else int(axis_rng.integers(2, 5)) for a in range(4))
            attrs["axis"] = axis
        x = b.input(shape)
        multiplier = int(rng.choice([2**30, 2**31 - 1, int(rng.integers(2**30, 2**31))]))
        # Input scales of 2^-6 .. 1 give left shifts 20 .. 26, where the output varies most;
        # also anything in 0 .. 31, and the ends.
        left_shift = int(rng.choice([0, 31] if b.extreme else [int(rng.integers(0, 32)), *rng.integers(20, 27, 3)]))
        diff_min = -int(np.floor(31 * 2.0**26 / 2.0**left_shift))
        rescale = bool(rng.random() < 0.4)
        output_multiplier, output_shift = b.requant(255, typical=128) if rescale else (np.zeros(1), np.zeros(1))
        params = {"input_multiplier": multiplier, "input_left_shift": left_shift, "diff_min": diff_min,
                  "rescale": rescale, "output_multiplier": int(output_multiplier[0]),
                  "output_shift": int(output_shift[0]), "output_offset": b.zero_point()}
        if axis_rng.random() < 0.4:  # LogSoftmax: TFLite's LOG_SOFTMAX after the same sum of exponentials
            from tinygen.ops.softmax import log_softmax_parameters

            attrs["log"] = True
            params["reverse_multiplier"], params["reverse_shift"] = log_softmax_parameters(multiplier, left_shift)
        b.layer("softmax", [x], shape, attrs, params)
    return b.finish()


def resize_graph(seed: int) -> Graph:
    """Nearest and bilinear resizes, enlarging and shrinking by any factor, with the tables of a random
    coordinate transformation and nearest rounding (tinygen/ops/resize.py), and random weight tables (any
    value in [0, 1024], including the ends)."""
    from tinygen.ops.resize import COORDINATE_MODES, NEAREST_MODES, linear_taps, nearest_indices, original_coordinates

    b = GraphBuilder(f"resize_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS + 2):
        height, width, channels = int(rng.integers(1, 6)), int(rng.integers(1, 7)), int(rng.integers(1, 6))
        out_h, out_w = int(rng.integers(1, 13)), int(rng.integers(1, 13))
        mode = "nearest" if rng.random() < 0.4 else "linear"
        transform = str(rng.choice(COORDINATE_MODES))
        attrs: dict[str, object] = {"mode": mode}
        for prefix, size, out in (("y", height, out_h), ("x", width, out_w)):
            coordinates = original_coordinates(transform, out, size, out / size)
            if mode == "nearest":
                attrs[f"{prefix}0"] = nearest_indices(coordinates, str(rng.choice(NEAREST_MODES)), size,
                                                      out / size).tolist()
                continue
            x0, x1, weight = linear_taps(coordinates, size)
            if rng.random() < 0.3:  # any neighbours and weights the struct allows
                x0, x1 = rng.integers(0, size, out), rng.integers(0, size, out)
                weight = rng.choice([0, 1, 512, 1023, 1024, *rng.integers(0, 1025, 3)], out)
            attrs.update({f"{prefix}0": [int(v) for v in x0], f"{prefix}1": [int(v) for v in x1],
                          f"w{prefix}": [int(v) for v in weight]})
        x = b.input((1, height, width, channels))
        b.layer("resize", [x], (1, out_h, out_w, channels), attrs, {})
    return b.finish()


def reduce_graph(seed: int) -> Graph:
    """Mean, sum, max and min over random sets of axes of 4-D storage views (a single axis, several, all),
    requantized (mean, sum; max and min now and then) with random parameters."""
    b = GraphBuilder(f"reduce_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS + 4):
        view = [1, *(int(d) for d in rng.integers(1, 6, 3))]
        flags = [False, *(bool(f) for f in rng.random(3) < 0.5)]
        if not any(flags):
            flags[int(rng.integers(1, 4))] = True
        kind = str(rng.choice(["mean", "sum", "max", "min"]))
        count = int(np.prod([d for d, f in zip(view, flags, strict=True) if f]))
        in_zp = b.zero_point()
        rescale = kind in ("mean", "sum") or bool(rng.random() < 0.5)
        # mean / sum requantize |sum| <= 255 * count; max / min requantize |q - zp| <= 255.
        bound = 255 * count if kind in ("mean", "sum") else 255
        multiplier, shift = b.requant(bound, typical=128 * (np.sqrt(count) if kind in ("mean", "sum") else 1))
        params = {"input_offset": -in_zp, "output_offset": b.zero_point(), "rescale": rescale,
                  "multiplier": int(multiplier[0]) if rescale else 0, "shift": int(shift[0]) if rescale else 0}
        x = b.input(tuple(view), zp=in_zp)
        out = tuple(1 if f else d for d, f in zip(view, flags, strict=True))
        op = "reduce" if kind in ("mean", "sum") else "reduce_minmax"
        b.layer(op, [x], out, {"kind": kind, "view": view, "reduce": flags}, params)
    return b.finish()


def lut_graph(seed: int) -> Graph:
    """Table lookups with random tables (so every entry's index arithmetic is visible)."""
    b = GraphBuilder(f"lut_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS):
        shape = (1, *(int(d) for d in rng.integers(1, 6, int(rng.integers(1, 4)))))
        x = b.input(shape)
        table = rng.permutation(256).astype(np.int16) - 128
        b.layer("lut", [x], shape, {"function": "random_table", "args": {}}, {"table": table.astype(np.int8)})
    return b.finish()


def concat_graph(seed: int) -> Graph:
    """Channel concatenation of 1 to 4 inputs, each copied or requantized."""
    b = GraphBuilder(f"concat_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS + 2):
        outer = (1, *(int(d) for d in rng.integers(1, 5, int(rng.integers(0, 3)))))
        count = int(rng.integers(1, 5))
        channels = [int(c) for c in rng.integers(1, 6, count)]
        names, requant, offsets, multipliers, shifts = [], [], [], [], []
        output_offset = b.zero_point()
        for c in channels:
            zp = b.zero_point()
            names.append(b.input((*outer, c), zp=zp))
            flag = int(rng.random() < 0.6)
            m, s = b.requant(255, typical=128) if flag else (np.zeros(1, np.int32), np.zeros(1, np.int32))
            requant.append(flag)
            offsets.append(-zp)
            multipliers.append(int(m[0]))
            shifts.append(int(s[0]))
        params = {"requant": np.array(requant, np.int32), "input_offset": np.array(offsets, np.int32),
                  "multiplier": np.array(multipliers, np.int32), "shift": np.array(shifts, np.int32),
                  "output_offset": output_offset}
        b.layer("concat", names, (*outer, sum(channels)), {}, params)
    return b.finish()


def pad_graph(seed: int) -> Graph:
    """Constant padding of tensors of rank 2 to 4 on each axis of the 4-D storage but the batch
    axis (graph outputs keep a batch of 1), including the storage axes a lower rank adds."""
    b = GraphBuilder(f"pad_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS):
        rank = int(rng.integers(2, 5))
        shape = (1, *(int(d) for d in rng.integers(1, 5, rank - 1)))
        dims4 = (1,) * (4 - rank) + shape
        pads = [int(p) if rng.random() < 0.7 else 0 for p in rng.integers(0, 4, 8)]
        pads[0] = pads[4] = 0
        out_shape = tuple(d + pads[a] + pads[a + 4] for a, d in enumerate(dims4))
        x = b.input(shape)
        b.layer("pad", [x], out_shape, {"mode": "constant", "value": 0.0, "pads": pads},
                {"pad_value": int(rng.integers(-128, 128))})
    return b.finish()


def prelu_graph(seed: int) -> Graph:
    """PRelu with a slope per channel (TFLite's int8 PRELU)."""
    b = GraphBuilder(f"prelu_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS + 2):
        rank = int(rng.integers(2, 5))
        shape = (1, *(int(d) for d in rng.integers(1, 6, rank - 1)))
        in_zp = b.zero_point()
        x = b.input(shape, zp=in_zp)
        slope = b.constant(rng.integers(-128, 128, shape[-1]).astype(np.int8), "slope")
        alpha_zp = 0 if rng.random() < 0.5 else b.zero_point()
        m1, s1 = b.requant(255, typical=128)  # x - zp_in in [0, 255] on the positive side
        m2, s2 = b.requant(255 * 255, typical=128 * 64)  # |(x - zp_in)(alpha - zp_alpha)| <= 255^2
        params = {"input_offset": -in_zp, "alpha_offset": -alpha_zp, "output_offset": b.zero_point(),
                  "positive_multiplier": int(m1[0]), "positive_shift": int(s1[0]),
                  "negative_multiplier": int(m2[0]), "negative_shift": int(s2[0])}
        b.layer("prelu", [x, slope], shape, {}, params)
    return b.finish()


def transpose_graph(seed: int) -> Graph:
    """Every 4-D permutation. The kernel permutes a 4-D view [d0, d1, d2, d3]; graph tensors
    need a batch axis of 1, so when d0 > 1 the input is stored [1, d0 d1, d2, d3] with the view
    as an attribute (as the importer does for reshapes), and the output [1, e0 e1, e2, e3]."""
    b = GraphBuilder(f"transpose_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS + 2):
        dims = [int(d) for d in rng.integers(1, 6, 4)]
        perm = [int(p) for p in rng.permutation(4)]
        attrs: dict[str, object] = {"perm": perm}
        if rng.random() < 0.6:
            shape: tuple[int, ...] = (1, dims[0] * dims[1], dims[2], dims[3])
            attrs["view"] = dims
        else:
            rank = int(rng.integers(2, 5))
            dims[:5 - rank] = [1] * (5 - rank)
            shape = tuple(dims[4 - rank:])
        out = [dims[p] for p in perm]
        b.layer("transpose", [b.input(shape)], (1, out[0] * out[1], out[2], out[3]), attrs, {})
    return b.finish()


def copy_graph(seed: int) -> Graph:
    """Strided copies of 1 to 6 axes, strides of any sign and 0 (repeats), the input sized to the farthest
    element the map reads (tg_copy_s8)."""
    b = GraphBuilder(f"copy_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS + 2):
        rank = int(rng.integers(1, 7))
        dims = [int(d) for d in rng.integers(1, 5, rank)]
        strides = [int(s) for s in rng.integers(-12, 13, rank)]
        if rng.random() < 0.5:
            strides[-1] = 1  # the memcpy path
        low = sum(min(0, s * (d - 1)) for d, s in zip(dims, strides, strict=True))
        high = sum(max(0, s * (d - 1)) for d, s in zip(dims, strides, strict=True))
        offset = -low + int(rng.integers(0, 4))
        x = b.input((1, offset + high + 1 + int(rng.integers(0, 4))))
        b.layer("copy", [x], (1, int(np.prod(dims))), {"dims": dims, "strides": strides, "offset": offset}, {})
    return b.finish()


def gather_graph(seed: int) -> Graph:
    """Table copies: runs of 1 to 6 bytes at random offsets (repeats too), the table repeated (tg_gather_s8)."""
    b = GraphBuilder(f"gather_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS + 2):
        outer, count, inner = int(rng.integers(1, 4)), int(rng.integers(1, 7)), int(rng.integers(1, 7))
        outer_stride = int(rng.integers(0, 20)) if outer > 1 else 0
        table = [int(t) for t in rng.integers(0, 30, count)]
        size = (outer - 1) * outer_stride + max(table) + inner
        x = b.input((1, size))
        attrs = {"outer": outer, "outer_stride": outer_stride, "inner": inner, "table": table}
        b.layer("gather", [x], (1, outer * count * inner), attrs, {})
    return b.finish()


def where_graph(seed: int) -> Graph:
    """Selection by a random condition between two operands, each copied or requantized."""
    b = GraphBuilder(f"where_{seed}", seed)
    rng = b.rng
    for _ in b.layers(LAYERS + 2):
        shape = (1, *(int(d) for d in rng.integers(1, 6, int(rng.integers(1, 4)))))
        params: dict[str, object] = {"output_offset": b.zero_point()}
        names = []
        for side in "ab":
            zp = b.zero_point()
            names.append(b.input(shape, zp=zp))
            flag = int(rng.random() < 0.6)
            m, s = b.requant(255, typical=128) if flag else (np.zeros(1, np.int32), np.zeros(1, np.int32))
            params.update({f"{side}_requant": flag, f"{side}_offset": -zp, f"{side}_multiplier": int(m[0]),
                           f"{side}_shift": int(s[0])})
        cond = b.constant((rng.random(shape) < 0.5).astype(np.int8), "condition")
        b.layer("where", [*names, cond], shape, {}, params)
    return b.finish()


def batch_matmul_graph(seed: int) -> Graph:
    """Products of two int8 tensors: broadcast batch axes, operands read through any permutation of a
    4-D view (a folded Transpose) or as a strided slice of a wider tensor from a start element, the output
    written through a permutation, depths up to the hundreds."""
    b = GraphBuilder(f"batch_matmul_{seed}", seed)
    rng = b.rng
    for index in b.layers(LAYERS + 2):
        batch = [int(d) for d in rng.integers(1, 4, 2)]
        rows, cols = int(rng.integers(1, 7)), int(rng.integers(1, 7))
        # The first layer reads both operands along contiguous memory (the kernel's Q K^T loop).
        forced = {"lhs": [0, 1, 2, 3], "rhs": [0, 1, 3, 2]} if index == 0 else {}
        depth = int(rng.choice([1, int(rng.integers(2, 24)), int(rng.integers(100, 400))]))

        def operand(batch: list[int], last_two: tuple[int, int], forced: list[int] | None,
                    role: str) -> tuple[str, list[int], dict[str, object]]:
            logical = [d if rng.random() < 0.7 else 1 for d in batch] + list(last_two)
            perm = [int(p) for p in rng.permutation(4)] if rng.random() < 0.6 else [0, 1, 2, 3]
            perm = forced or perm
            view = [0, 0, 0, 0]
            for j, p in enumerate(perm):
                view[p] = logical[j]
            if forced or rng.random() < 0.7:
                return (b.input((1, view[0] * view[1], view[2], view[3])), logical,
                        {f"{role}_view": view, f"{role}_perm": perm})
            # A slice of a wider tensor read through explicit strides from a start element (q, k, v of one
            # projection, passes/fold_matmul_transpose.py): `pad` more elements along the stored rows.
            pad = int(rng.integers(1, 5))
            padded = [*view[:3], view[3] + pad]
            contiguous = [padded[1] * padded[2] * padded[3], padded[2] * padded[3], padded[3], 1]
            return (b.input((1, padded[0] * padded[1], padded[2], padded[3])), logical,
                    {f"{role}_view": logical, f"{role}_perm": [0, 1, 2, 3],
                     f"{role}_strides": [contiguous[p] for p in perm], f"{role}_start": int(rng.integers(0, pad + 1))})

        lhs, a, lhs_attrs = operand(batch, (rows, depth), forced.get("lhs"), "lhs")
        rhs, c, rhs_attrs = operand(batch, (depth, cols), forced.get("rhs"), "rhs")
        out = [max(a[0], c[0]), max(a[1], c[1]), rows, cols]
        out_perm = [int(p) for p in rng.permutation(4)] if rng.random() < 0.4 else [0, 1, 2, 3]
        stored = [out[p] for p in out_perm]
        zp1, zp2 = (b.graph.tensors[x].quant.zero_point_value for x in (lhs, rhs))  # type: ignore[union-attr]
        multiplier, shift = b.requant(depth * 255 * 255, typical=np.sqrt(depth) * (abs(zp1) + 74) * (abs(zp2) + 74))
        output_offset = b.zero_point()
        act_min, act_max = activation_range(rng, output_offset)
        params = {"lhs_offset": -zp1, "rhs_offset": -zp2, "output_offset": output_offset,
                  "output_multiplier": int(multiplier[0]), "output_shift": int(shift[0]),
                  "act_min": act_min, "act_max": act_max}
        b.layer("batch_matmul", [lhs, rhs], (1, stored[0] * stored[1], stored[2], stored[3]),
                {"activation": None, **lhs_attrs, **rhs_attrs, "out_perm": out_perm}, params)
    return b.finish()


def layer_norm_graph(seed: int) -> Graph:
    """Layer norms: depths from 1 to 16384 (the kernel's limit), eps terms from 0 to 2^58, per-channel
    multipliers of either sign (zero too) with shifts from -31 to -2, biases up to +-2^29."""
    b = GraphBuilder(f"layer_norm_{seed}", seed)
    rng = b.rng
    for index in b.layers(LAYERS + 2):
        depth = int(rng.choice([1, int(rng.integers(2, 40)), int(rng.integers(100, 600))]))
        if index == 0 and seed == 1:
            depth = 1 << 14
        rows = int(rng.integers(1, 4))
        shape = (1, depth) if rows == 1 else (1, rows, depth)
        eps_term = int(rng.choice([0, int(rng.integers(0, 1 << 20)), int(2.0 ** rng.uniform(20, 58)), 1 << 58]))
        # Shifts around -31 + 15 - log2(sqrt(D)) .. spread U's ~2^31 / sqrt(D) over the int8 range; the ends too.
        centre = -16 - int(np.log2(depth) / 2)
        shift = np.clip(rng.integers(centre - 3, centre + 4, depth), -31, -2)
        if b.extreme:
            shift = rng.choice([-31, -2, -3, -30], depth)
        multiplier = rng.integers(1 << 30, 1 << 31, depth) * rng.choice([-1, 1], depth)
        multiplier = np.where(rng.random(depth) < 0.1, 0, multiplier)
        bias = rng.integers(-(1 << 16), 1 << 16, depth)
        bias = np.where(rng.random(depth) < 0.1, rng.choice([-(1 << 29), 1 << 29], depth), bias)
        params = {"eps_term": eps_term, "multiplier": multiplier.astype(np.int32), "shift": shift.astype(np.int32),
                  "bias": bias.astype(np.int32), "output_offset": b.zero_point()}
        b.layer("layer_norm", [b.input(shape)], shape, {"epsilon": 0.0, "gamma": [], "beta": []}, params)
    return b.finish()


GRAPHS: dict[str, Callable[[int], Graph]] = {
    "conv2d": conv2d_graph,
    "conv2d_deep": conv2d_deep_graph,
    "depthwise_conv2d": depthwise_conv2d_graph,
    "conv_transpose2d": conv_transpose2d_graph,
    "fully_connected": fully_connected_graph,
    "fully_connected_dsp": fully_connected_dsp_graph,
    "add": add_graph,
    "mul": mul_graph,
    "max_pool": max_pool_graph,
    "avg_pool": avg_pool_graph,
    "avg_pool_overhang": lambda seed: avg_pool_graph(seed, overhang=True),
    "softmax": softmax_graph,
    "lut": lut_graph,
    "resize": resize_graph,
    "reduce": reduce_graph,
    "concat": concat_graph,
    "pad": pad_graph,
    "prelu": prelu_graph,
    "transpose": transpose_graph,
    "copy": copy_graph,
    "gather": gather_graph,
    "where": where_graph,
    "batch_matmul": batch_matmul_graph,
    "layer_norm": layer_norm_graph,
}
