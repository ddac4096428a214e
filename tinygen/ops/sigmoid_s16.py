"""TFLite's int16 LOGISTIC and TANH (16x8): the `lut` op's sigmoid and tanh layers with int16 activations.

Both read one 256-entry table of sigmoid(i / 24) in unsigned Q0.16 (TFLite's and CMSIS-NN's
sigmoid_table_uint16; tanh(x) = 2 sigmoid(2x) - 1 shares it) and interpolate linearly on |x|:
  * the input is rescaled to steps of 1 / (3 * 4096) -- the table's [0, 10.7) -- by an integer multiplier and
    a rounding right shift: m = s_in * 4096 * 3, doubled (shift + 1) while m <= 32767 / 2, truncated to an
    integer (TFLite's Prepare); a power-of-two input scale of 2^-12 (sigmoid; also 2^-11 for tanh) takes
    the multiplier 3 << shift instead;
  * sigmoid: index |x| >> 9, 9 fraction bits; the result in Q0.16 + 9 bits, mirrored for x < 0, rounded to
    Q0.15 (>> 10). tanh: index |x| >> 8, 8 fraction bits, 2 sigmoid - 1 in Q0.15 (>> 8);
  * input and output zero points are 0 and the output scale is 2^-15.
|x * m| <= 2^15 * 2^15 fits int32. C: tg_logistic_s16.c, tg_tanh_s16.c (tg_s16.h).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..errors import TinygenError
from ..ir import Graph, Node
from .common import input_quant, output_quant

if TYPE_CHECKING:
    from .emit import CLayer, EmitContext

FUNCTIONS = ("sigmoid", "tanh")
OUTPUT_SCALE = 1.0 / 32768.0

# sigmoid(i / 24) in unsigned Q0.16, i = 0..255: TFLite's sigmoid_table_uint16 (also CMSIS-NN's), behind its
# int16 LOGISTIC and TANH and TFLM's integer LSTM (ops/lstm.py). Kept as published: 44 of its entries are one
# above round(65536 sigmoid(i / 24)), so the formula cannot regenerate it.
SIGMOID_TABLE = np.array([
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064, 42688,
    43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409,
    51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433,
    57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110,
    61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990, 63090, 63186,
    63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308,
    64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900,
    64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208,
    65221, 65234, 65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367,
    65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449,
    65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513,
    65514, 65515, 65516, 65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530,
    65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
], dtype=np.uint16)


def _checked_log2(x: float) -> tuple[bool, int]:
    """TFLite's CheckedLog2 in float32: (is x a power of two within 1e-3 in log2, the rounded log2)."""
    log2 = np.float32(math.log(np.float32(x))) * (np.float32(1.0) / np.float32(math.log(2.0)))
    rounded = np.float32(math.floor(abs(float(log2)) + 0.5)) * (1 if log2 >= 0 else -1)
    return bool(abs(log2 - rounded) < np.float32(1e-3)), int(rounded)


def parameters(function: str, input_scale: float) -> tuple[int, int]:
    """(input multiplier, left shift) as TFLite's Prepare derives them; multiplier 0: the power-of-two form."""
    pot, log2 = _checked_log2(input_scale)
    shift = (15 - 3) + log2
    if pot and (shift == 0 or (function == "tanh" and shift == 1)):
        return 0, shift
    multiplier = float(np.float32(input_scale)) * 4096.0 * 3.0
    shift = 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    return int(multiplier), shift


def quantize(node: Node, graph: Graph) -> dict:
    in_scale, in_zp = input_quant(graph, node)
    out_scale, out_zp = output_quant(graph, node)
    if in_zp != 0 or out_zp != 0 or np.float32(out_scale) != np.float32(OUTPUT_SCALE):
        raise TinygenError(f"node '{node.name}': an int16 {node.attrs['function']} needs zero points 0 and output "
                           f"scale 1/32768 (got input zero point {in_zp}, output scale {out_scale:.6g}, zero point "
                           f"{out_zp})")
    multiplier, shift = parameters(node.attrs["function"], in_scale)
    if multiplier == 0:  # the power-of-two form: 3 << shift, no shift after
        multiplier, shift = 3 << shift, 0
    return {"input_multiplier": multiplier, "input_left_shift": shift, "s16": True}


def reference(function: str, p: dict, x: np.ndarray) -> np.ndarray:
    """The golden int16 LOGISTIC / TANH (C: tg_logistic_s16 / tg_tanh_s16)."""
    shift = p["input_left_shift"]
    rounding = (1 << (shift - 1)) if shift > 0 else 0
    data = (x.astype(np.int64) * p["input_multiplier"] + rounding) >> shift
    magnitude = np.abs(data)
    table = SIGMOID_TABLE.astype(np.int64)
    bits = 9 if function == "sigmoid" else 8
    index = magnitude >> bits
    safe = np.minimum(index, 254)
    low, high = table[safe], table[safe + 1]
    interpolated = (low << bits) + (magnitude & ((1 << bits) - 1)) * (high - low)
    if function == "sigmoid":
        value = np.where(index >= 255, 0x7FFF << 10, interpolated)
        value = np.where(data >= 0, value + (1 << 9), (1 << (16 + 9)) - value + (1 << 9) - 1)
        return (value >> 10).astype(np.int16)
    value = np.where(index >= 255, 0xFFFF << 8, interpolated)
    value = np.where(data >= 0, value - (1 << (14 + 9)) + (1 << (9 - 2)),
                     -value + (1 << (14 + 9)) + (1 << (9 - 2)) - 1)
    return (value >> (9 - 1)).astype(np.int16)


def emit(node: Node, graph: Graph, ctx: EmitContext) -> CLayer:
    p = node.params
    fields = [("size", str(graph.tensors[node.inputs[0]].size)),
              ("input_multiplier", str(p["input_multiplier"])), ("input_left_shift", str(p["input_left_shift"])),
              ("table", ctx.array("sigmoid_table", SIGMOID_TABLE, "sigmoid(i / 24) in unsigned Q0.16 (TFLite's)"))]
    return ctx.call(fields, [ctx.pointer(node.inputs[0]), ctx.pointer(node.outputs[0])])
