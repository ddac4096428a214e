"""The processing orders of the C kernels that may overwrite an input as they go, as Python models.

A kernel's in-place safety is a property of its processing order, which its header documents (the
"in-place contract" comments in firmware/tinygen_kernels/include). Here each such order is a list
of steps; a step reads bytes of the node's inputs, then writes bytes of its output (byte indices
into each tensor). `safe` checks an order exactly, by simulating its steps over the two buffers at
a given distance; orders that are not monotone (a channel-outer loop, like the DSP depthwise
variants', writes bytes at the start of the output long after reading later ones) are only safe at
particular distances: the relation InPlace(delta=0, exact=True). The convolutions' monotone
relation InPlace(delta=d) -- the smallest d, a multiple of 4, with no write reaching an input byte
a later step reads -- is computed in closed form from `window_pixels` (ops/conv._conv_delta).

Ops use these to declare their relations (Op.in_place); tests/plan/test_in_place.py runs every
in-place kernel mode against its out-of-place twin, and the MLPerf models' in-place plans against
their plain plans.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..ir import Graph, Node, kernel_dims


@dataclass
class Step:
    reads: dict[int, np.ndarray] = field(default_factory=dict)  # input index -> byte indices read
    writes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # output byte indices


Order = list[Step]


_nhwc = kernel_dims  # as the C kernels see a stored tensor


def _pixels(node: Node, graph: Graph) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    return _nhwc(graph.tensors[node.inputs[0]].shape), _nhwc(graph.tensors[node.outputs[0]].shape)


def window_pixels(node: Node, graph: Graph) -> np.ndarray:
    """[OH * OW, KH * KW] input pixel index of every tap of every output pixel's window, -1 for padding."""
    (_, in_h, in_w, _), (_, out_h, out_w, _) = _pixels(node, graph)
    a = node.attrs
    (kh, kw), (sh, sw), (dh, dw) = a["kernel"], a["stride"], a["dilation"]
    top, left = a["pads"][0], a["pads"][1]
    ys = np.arange(out_h)[:, None] * sh - top + np.arange(kh)[None, :] * dh  # [OH, KH]
    xs = np.arange(out_w)[:, None] * sw - left + np.arange(kw)[None, :] * dw  # [OW, KW]
    y = ys[:, None, :, None]
    x = xs[None, :, None, :]
    valid = (y >= 0) & (y < in_h) & (x >= 0) & (x < in_w)
    index = np.where(valid, y * in_w + x, -1)  # [OH, OW, KH, KW]
    return index.reshape(out_h * out_w, kh * kw)


def _bytes(pixels: np.ndarray, channels: int, first: int = 0, count: int | None = None) -> np.ndarray:
    """Byte indices of channels [first, first + count) of the given (valid) pixels."""
    pixels = np.unique(pixels[pixels >= 0])
    count = channels - first if count is None else count
    return (pixels[:, None] * channels + first + np.arange(count)[None, :]).ravel()


def depthwise_plain_order(node: Node, graph: Graph) -> Order:
    """tg_depthwise_conv_s8 in place: per output pixel p, input pixel p copied to the ring (read) and
    the window's pixels after p read from the input (those up to p come from the ring), then p written."""
    (_, in_h, in_w, in_c), (_, out_h, out_w, out_c) = _pixels(node, graph)
    windows = window_pixels(node, graph)
    steps = []
    for p in range(out_h * out_w):
        later = windows[p][windows[p] > p]
        own = np.array([p] if p < in_h * in_w else [], np.int64)
        steps.append(Step({0: _bytes(np.concatenate([own, later]), in_c)}, np.arange(p * out_c, (p + 1) * out_c)))
    return steps


MAX_RING_SLOTS = 16  # TG_DEPTHWISE_MAX_SLOTS: taller rings re-widen rows instead of remembering them


def dw3x3_transposed(node: Node, graph: Graph) -> bool:
    """tg_dw3x3_tall: tg_depthwise_conv_3x3_s8 runs outputs with more rows than columns (at stride 1)
    transposed, output columns as rows, given the scratch for it (its "columns" mode, ops/conv.py)."""
    _, out_h, out_w, _ = _nhwc(graph.tensors[node.outputs[0]].shape)
    return out_h > out_w and list(node.attrs["stride"]) == [1, 1]


def depthwise_dsp_order(node: Node, graph: Graph, transposed: bool = False) -> Order | None:
    """tg_depthwise_conv_3x3_s8 (its 3 rolling row buffers hold the same rows as a 3-slot ring) /
    tg_depthwise_conv_fast_s8 (tg_depthwise_rows.h): per group of 4
    channels, per output row, the input rows not in the ring of row slots are widened (read), then
    the row's outputs of the group are written. None when the ring does not remember rows (over
    MAX_RING_SLOTS slots): then rows are read again after writes. `transposed`: tg_depthwise_conv_3x3_s8's
    column order for tall outputs (dw3x3_transposed), the same order over output columns and input columns."""
    (_, in_h, in_w, in_c), (_, out_h, out_w, out_c) = _pixels(node, graph)
    a = node.attrs
    (kh, kw), (sh, sw), (dh, dw) = a["kernel"], a["stride"], a["dilation"]
    top, left = a["pads"][0], a["pads"][1]
    transposed = transposed and (list(a["kernel"]) == [3, 3] and list(a["dilation"]) == [1, 1]
                                 and a.get("depth_multiplier", 1) == 1 and dw3x3_transposed(node, graph))
    if transposed:  # view rows are input / output columns
        kh, sh, dh, top = kw, sw, dw, left
    view_h, view_w, view_oh, view_ow = (in_w, in_h, out_w, out_h) if transposed else (in_h, in_w, out_h, out_w)

    def input_pixel(row: int, col: int) -> int:
        return col * in_w + row if transposed else row * in_w + col

    def output_pixel(row: int, col: int) -> int:
        return col * out_w + row if transposed else row * out_w + col

    slots = (kh - 1) * dh + 1
    if slots > MAX_RING_SLOTS:
        return None
    steps = []
    for c0 in range(0, out_c, 4):
        lanes = min(4, out_c - c0)
        tags: dict[int, int] = {}
        for oy in range(view_oh):
            rows = []
            for ky in range(kh):
                row = oy * sh - top + ky * dh
                if tags.get(row % slots) != row:
                    tags[row % slots] = row
                    if 0 <= row < view_h:
                        rows.append(row)
            pixels = np.array([input_pixel(r, x) for r in rows for x in range(view_w)], np.int64)
            writes = _bytes(np.array([output_pixel(oy, x) for x in range(view_ow)], np.int64), out_c, c0, lanes)
            steps.append(Step({0: _bytes(pixels, in_c, c0, lanes) if len(pixels) else np.zeros(0, np.int64)},
                              writes))
    return steps


def safe(order: Order, sizes: dict[int, int], deltas: dict[int, int]) -> bool:
    """Simulate the order with the output `deltas[i]` bytes below input i: is every input byte a step
    reads still intact (not yet overwritten by an earlier step's write)?"""
    destroyed = {i: np.zeros(sizes[i], bool) for i in deltas}
    for step in order:
        for i, reads in step.reads.items():
            if i in destroyed and len(reads) and destroyed[i][reads].any():
                return False
        for i, delta in deltas.items():
            hit = step.writes - delta
            hit = hit[(hit >= 0) & (hit < sizes[i])]
            destroyed[i][hit] = True
    return True
