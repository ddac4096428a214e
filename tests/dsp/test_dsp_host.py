"""Host checks of the DSP kernel variants' portable parts (tests/dsp/dsp_driver.c, built with ASan and
UBSan like the kernel tests):

* the requantization forms of tg_dsp.h (the five-instruction form for any int32 accumulator, the
  short SMMLAR form for accumulators below 2^29) equal TFLite's MultiplyByQuantizedMultiplier
  (tinygen/arith.py, the golden reference) plus the output offset, on a million random triples each
  and the extremes -- the same arithmetic the assembly performs (the QEMU tests check that end to end);
* the scratch the code generator plans for a layer (Op.scratch_bytes) equals the C
  `_get_buffer_size` of the variant it calls, and the C wrappers choose the variant the generator does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tinygen import arith
from tinygen.codegen.kernel_library import kernel_library
from tinygen.ir import Graph, Node, QuantParams, Tensor
from tinygen.ops import op_of

from ..kernels.helpers import assert_same_results, build_sanitized, run_records

HERE = Path(__file__).resolve().parent
COUNT = 1_000_000


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory):
    library = kernel_library()  # the sources of the kernels the driver calls, as an output folder gets them
    driver = HERE / "dsp_driver.c"
    needed = library.closure(library.used_functions(driver.read_text()))
    sources = [library.root / path for path in needed if path.endswith(".c")]
    return build_sanitized(driver, tmp_path_factory.mktemp("dsp_driver"), sources, includes=[library.root / "src"])


def _accumulators(rng: np.random.Generator, count: int, bits: int) -> np.ndarray:
    """int32 values below 2^bits in magnitude: uniform, small, and the extremes."""
    limit = 2 ** bits
    x = rng.integers(-limit + 1, limit, size=count, dtype=np.int64)
    x[: count // 4] = rng.integers(-4096, 4097, size=count // 4)
    x[:8] = [0, 1, -1, limit - 1, -limit + 1, 2**15, -(2**15), 12345]
    if bits == 31:
        x[8] = -(2**31)
    return x


def _multipliers(rng: np.random.Generator, count: int) -> np.ndarray:
    m = rng.integers(0, 2**31, size=count, dtype=np.int64)
    m[count // 2:] = rng.integers(2**30, 2**31, size=count - count // 2)  # normalized, as the quantizer makes them
    m[:6] = [0, 1, 2**30, 2**31 - 1, 2**30 + 1, 2**31 - 2]
    return m


def test_five_instruction_requantization(driver) -> None:
    rng = np.random.default_rng(5)
    x = _accumulators(rng, COUNT, 31)
    m = _multipliers(rng, COUNT)
    shift = rng.integers(-31, 1, size=COUNT)
    shift[:40] = -31
    records = np.stack([x, m, shift], axis=1)
    got = run_records(driver, "requant", records)
    expected = arith.multiply_by_quantized_multiplier(x, m, shift)
    assert_same_results(expected, got, {"x": x, "multiplier": m, "shift": shift}, "tg_dsp_requant")


@pytest.mark.parametrize("mode,lowest", [("short", -1), ("short_any", 0)])
def test_short_requantization(driver, mode: str, lowest: int) -> None:
    rng = np.random.default_rng(7 if mode == "short" else 8)
    x = _accumulators(rng, COUNT, 29)
    m = _multipliers(rng, COUNT)
    shift = rng.integers(-23, lowest + 1, size=COUNT)
    offset = rng.integers(-128, 128, size=COUNT)
    offset[:20] = -128
    offset[20:40] = 127
    shift[:30:3] = -23
    records = np.stack([x, m, shift, offset], axis=1)
    got = run_records(driver, mode, records)
    expected = arith.multiply_by_quantized_multiplier(x, m, shift) + offset
    assert_same_results(expected, got, {"x": x, "multiplier": m, "shift": shift, "offset": offset},
                        f"tg_dsp_{mode}")


def test_add_rows_exact_shift_loop(driver) -> None:
    """tg_add_rows_s8 (the fused residual Add's loop, src/tg_add_rows_s8.c) equals TFLite's int8 ADD (the golden
    reference's add_arithmetic) on a million random elements: either input the exactly shifted one (2^30, 0),
    the other's shift and the output's anywhere in -1 .. -23 (small ones make rounding ties common), any
    offsets, the full range or a ReLU's; and declines (-1000) where the loop does not apply. The same through
    the compiler's rescale table (tg_add_params.rescaled: ops/elementwise.py rescaled_entries)."""
    from tinygen.ops.elementwise import add_arithmetic, rescaled_entries

    rng = np.random.default_rng(13)
    n = COUNT
    x1, x2 = rng.integers(-128, 128, n), rng.integers(-128, 128, n)
    x1[:4], x2[:4] = [-128, 127, -128, 127], [-128, 127, 127, -128]
    offsets = rng.integers(-127, 129, (2, n))
    offsets[:, :8] = [[128, -127, 128, -127, 0, 0, 128, -127], [128, -127, -127, 128, 0, 128, 0, -127]]
    out_offset = rng.integers(-128, 128, n)
    m_other, s_other = rng.integers(2**30, 2**31, n), rng.integers(-23, 0, n)
    s_other[: n // 2] = rng.integers(-6, 0, n // 2)  # TFLite's usual range, with many ties
    mo, so = rng.integers(2**30, 2**31, n), rng.integers(-23, 0, n)
    exact_first = rng.random(n) < 0.5
    m1 = np.where(exact_first, 2**30, m_other)
    s1 = np.where(exact_first, 0, s_other)
    m2 = np.where(exact_first, m_other, 2**30)
    s2 = np.where(exact_first, s_other, 0)
    declined = np.zeros(n, bool)
    declined[-1000:] = True  # both inputs rescaled by a multiplier: the loop does not apply
    m1[-1000:], s1[-1000:] = m_other[-1000:], s_other[-1000:]
    m2[-1000:], s2[-1000:] = m_other[-1000:], s_other[-1000:]
    relu = rng.random(n) < 0.3
    act_min = np.where(relu, out_offset, -128)
    act_max = np.where(relu & (rng.random(n) < 0.5), np.minimum(out_offset + 60, 127), 127)
    params = {"input1_offset": offsets[0], "input2_offset": offsets[1], "output_offset": out_offset,
              "input1_multiplier": m1, "input1_shift": s1, "input2_multiplier": m2, "input2_shift": s2,
              "output_multiplier": mo, "output_shift": so, "act_min": act_min, "act_max": act_max,
              "subtract": False}
    expected = np.where(declined, -1000, add_arithmetic(params, x1, x2).astype(np.int64))
    # with the compiler's table (tg_add_params.rescaled): the entry of the rescaled input's value, every byte
    entries = np.where(declined, 0, rescaled_entries(params, np.where(exact_first, x2, x1)))
    for entry in (np.full(n, np.iinfo(np.int32).min), entries):
        records = np.stack([x1, x2, offsets[0], offsets[1], out_offset, m1, s1, m2, s2, mo, so, act_min, act_max,
                            entry], axis=1)
        got = run_records(driver, "add_rows", records)
        assert_same_results(expected, got, {"x1": x1, "x2": x2, "m1": m1, "s1": s1, "m2": m2, "s2": s2, "mo": mo,
                                            "so": so, "entry": entry}, "tg_add_rows_s8")


# --- scratch sizes and variant choice -----------------------------------------------------------------

CONV, IM2COL, CONV_WRAPPER, DW3X3, DW_FAST, DW_WRAPPER, FC_FAST, FC_WIDE, FC_DIRECT, FEW_CHANNELS = range(10)


def _conv_layer(rng: np.random.Generator, depthwise: bool) -> tuple[Graph, Node]:
    """A conv2d / depthwise_conv2d node of random geometry (only the shapes matter here)."""
    kernel = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
    if rng.random() < 0.4:
        kernel = (int(rng.choice([1, 3])),) * 2
    stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    dilation = (1, 1) if rng.random() < 0.6 else (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
    pads = [0, 0, 0, 0] if rng.random() < 0.4 else [int(v) for v in rng.integers(0, 3, 4)]
    in_c = int(rng.choice([1, 3, 4, 8, 13, 64, 100, 300]))
    groups = 1 if depthwise or rng.random() < 0.8 else int(rng.choice([g for g in (2, 4) if in_c % g == 0] or [1]))
    multiplier = int(rng.choice([1, 1, 2])) if depthwise else 1
    out_c = in_c * multiplier if depthwise else int(rng.integers(1, 40)) * groups
    height = (kernel[0] - 1) * dilation[0] + int(rng.integers(1, 9))
    width = (kernel[1] - 1) * dilation[1] + int(rng.integers(1, 9))
    out_h = (height + pads[0] + pads[2] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    out_w = (width + pads[1] + pads[3] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    g = Graph("scratch")
    q = QuantParams.per_tensor(0.1, 0)
    g.add_tensor(Tensor("x", (1, height, width, in_c), "int8", quant=q))
    g.add_tensor(Tensor("y", (1, out_h, out_w, out_c), "int8", quant=q))
    w_shape = (1, *kernel, out_c) if depthwise else (out_c, *kernel, in_c // groups)
    g.add_tensor(Tensor("w", w_shape, "int8", data=np.zeros(w_shape, np.int8)))
    g.add_tensor(Tensor("b", (out_c,), "int32", data=np.zeros(out_c, np.int32)))
    attrs = {"kernel": list(kernel), "stride": list(stride), "dilation": list(dilation), "pads": pads,
             "ceil_mode": False, "activation": None}
    attrs.update({"depth_multiplier": multiplier} if depthwise else {"groups": groups})
    node = Node("layer", "depthwise_conv2d" if depthwise else "conv2d", ["x", "w", "b"], ["y"], attrs, {})
    g.nodes.append(node)
    return g, node


def _function(node: Node, graph: Graph) -> str:
    """The C function the generator calls for the layer (its op's kernel table)."""
    kernel = op_of(node).kernel(node, graph)
    assert kernel is not None
    return kernel.function


def _record(kernel: int, g: Graph, node: Node) -> list[int]:
    _, ih, iw, ic = g.tensors["x"].shape
    _, oh, ow, oc = g.tensors["y"].shape
    a = node.attrs
    return [kernel, ih, iw, ic, oh, ow, oc, *a["kernel"], *a["stride"], *a["dilation"], *a["pads"],
            a.get("groups", 1), a.get("depth_multiplier", 1)]


def test_conv_scratch_equals_the_c_buffer_size(driver) -> None:
    rng = np.random.default_rng(11)
    layers = [_conv_layer(rng, depthwise=i % 2 == 1) for i in range(400)]
    records, planned, chosen = [], [], []
    for g, node in layers:
        depthwise = node.op == "depthwise_conv2d"
        kernel = _function(node, g)
        variant = {"tg_conv_1x1_s8": CONV, "tg_conv_im2col_s8": IM2COL, "tg_conv_s8": CONV_WRAPPER,
                   "tg_depthwise_conv_3x3_s8": DW3X3, "tg_depthwise_conv_fast_s8": DW_FAST,
                   "tg_conv_few_channels_s8": FEW_CHANNELS}[kernel]
        planned.append(op_of(node).scratch_bytes(node, g))
        records.append(_record(variant, g, node))  # the chosen variant's own size
        chosen.append(_record(DW_WRAPPER if depthwise else CONV_WRAPPER, g, node))  # what the wrapper picks
    sizes = run_records(driver, "scratch", np.array(records))
    wrapper = run_records(driver, "scratch", np.array(chosen))
    for (g, node), plan, size, picked in zip(layers, planned, sizes, wrapper, strict=True):
        label = f"{node.op} {node.attrs} on {g.tensors['x'].shape}"
        if node.op == "conv2d" and _function(node, g) == "tg_conv_s8":
            assert plan == 0 and picked == 0, label  # grouped: the plain kernel, no scratch
        elif _function(node, g) == "tg_conv_few_channels_s8":  # the wrapper has no packed weights: im2col
            assert plan == size, f"{label}: planned {plan} B, C wants {size} B"
        else:
            assert plan == size, f"{label}: planned {plan} B, C wants {size} B"
            assert picked == size, f"{label}: the C wrapper picks another variant ({picked} B)"


DW3X3_ROWS = 13  # dsp_driver.c: tg_depthwise_conv_3x3_s8_row_order_buffer_size


def test_depthwise_3x3_modes_scratch_equals_the_c_buffer_size(driver) -> None:
    """tg_depthwise_conv_3x3_s8's two modes: "columns" (a tall output transposed) plans its _get_buffer_size,
    "rows" its _row_order_buffer_size, and is listed for a tall output only below the former (the C kernel,
    given the columns' scratch, transposes)."""
    rng = np.random.default_rng(15)
    layers = [layer for layer in (_conv_layer(rng, depthwise=True) for _ in range(4000))
              if layer[1].attrs["kernel"] == [3, 3] and layer[1].attrs["dilation"] == [1, 1]
              and layer[1].attrs["depth_multiplier"] == 1 and layer[0].tensors["y"].shape[3] >= 4]
    records = [_record(DW3X3, g, node) for g, node in layers]
    columns = run_records(driver, "scratch", np.array(records))
    rows = run_records(driver, "scratch", np.array([[DW3X3_ROWS, *record[1:]] for record in records]))
    tall = 0
    for (g, node), column_size, row_size in zip(layers, columns, rows, strict=True):
        modes = {k.mode: k.scratch(node, g) for k in op_of(node).candidates(node, g)
                 if k.function == "tg_depthwise_conv_3x3_s8"}
        label = f"{node.attrs} on {g.tensors['x'].shape} -> {g.tensors['y'].shape}"
        _, out_h, out_w, _ = g.tensors["y"].shape
        if out_h > out_w and node.attrs["stride"] == [1, 1]:
            tall += 1
            assert modes.get("columns") == column_size, label
            assert modes.get("rows", row_size) == row_size, label
            assert ("rows" in modes) == (row_size < column_size), label
        else:
            assert modes == {"rows": row_size} and row_size == column_size, label
    assert tall >= 20


def test_one_by_one_few_scratch_equals_the_c_buffer_size(driver) -> None:
    """tg_conv_1x1_few_s8 (kernel 14) has no scratch of its own, only its fallback's (tg_conv_s8: one output pixel
    when in place): planned == C size on layers that are not in place (the driver's), as for tg_conv_s8."""
    rng = np.random.default_rng(15)
    records, planned = [], []
    for _ in range(40):
        g, node = _conv_layer(rng, depthwise=False)
        node.attrs.update({"kernel": [1, 1], "pads": [0, 0, 0, 0], "dilation": [1, 1], "groups": 1})
        kernel = next(k for k in op_of(node).kernels if k.function == "tg_conv_1x1_few_s8")
        planned.append(kernel.scratch(node, g))
        records.append(_record(14, g, node))
    sizes = run_records(driver, "scratch", np.array(records))
    assert [int(v) for v in sizes] == planned


def test_fused_add_scratch_equals_the_c_buffer_size(driver) -> None:
    """The convolutions fused with a residual Add (passes/fuse_residual_add.py): the planned scratch of every
    mode equals the C sizes -- the chunked variants' (tg_conv_*_add_s8: the unfused size + TG_CONV_ADD_TEMP_BYTES,
    4-pixel blocks with less), the _rows twins' (kernel 12: a whole 8-pixel block's outputs more)."""
    rng = np.random.default_rng(14)
    layers = [layer for layer in (_conv_layer(rng, depthwise=False) for _ in range(300))
              if layer[1].attrs["groups"] == 1]
    for _, node in layers:
        node.params = {"residual": {"conv_first": True}}
    records = [_record(CONV if "_1x1_" in _function(node, g) else IM2COL, g, node) for g, node in layers]
    unfused = run_records(driver, "scratch", np.array(records))
    rows = run_records(driver, "scratch", np.array([[12, *record[1:]] for record in records]))
    checked = 0
    for (g, node), plain, twin in zip(layers, unfused, rows, strict=True):
        out_c = g.tensors["y"].shape[3]
        for kernel in op_of(node).candidates(node, g):
            planned = kernel.scratch(node, g)
            if kernel.mode == "8px":
                want = twin if kernel.function.endswith("_rows_s8") else plain + 32
                assert planned == want, f"{kernel.key} {node.attrs}: planned {planned} B, C wants {want} B"
                checked += 1
            else:  # 4-pixel blocks: the 8-pixel size less 4 pixels' widened taps (and, _rows, their outputs)
                groups = (node.attrs["kernel"][0] * node.attrs["kernel"][1] * g.tensors["x"].shape[3] + 3) // 4
                extra = 4 * out_c if kernel.function.endswith("_rows_s8") else 0
                want = (twin if kernel.function.endswith("_rows_s8") else plain + 32) - 32 * groups - extra
                assert planned == want, f"{kernel.key} {node.attrs}: planned {planned} B, expected {want} B"
    assert checked > len(layers)


def test_fully_connected_scratch_equals_the_c_buffer_size(driver) -> None:
    rng = np.random.default_rng(12)
    records, planned = [], []
    for _ in range(200):
        depth, outputs = int(rng.choice([1, 8, 12, 64, 100, 128, 256, 640])), int(rng.integers(1, 200))
        g = Graph("fc")
        q = QuantParams.per_tensor(0.1, 0)
        g.add_tensor(Tensor("x", (1, depth), "int8", quant=q))
        g.add_tensor(Tensor("y", (1, outputs), "int8", quant=q))
        g.add_tensor(Tensor("w", (outputs, depth), "int8", data=np.zeros((outputs, depth), np.int8)))
        g.add_tensor(Tensor("b", (outputs,), "int32", data=np.zeros(outputs, np.int32)))
        node = Node("fc", "fully_connected", ["x", "w", "b"], ["y"], {"activation": None}, {})
        kernel = _function(node, g)
        planned.append((kernel, op_of(node).scratch_bytes(node, g)))
        fc_kernel = {"tg_fully_connected_wide_s8": FC_WIDE, "tg_fully_connected_direct_s8": FC_DIRECT}
        records.append([fc_kernel.get(kernel, FC_FAST), 1, 1, depth, 1, 1, outputs,
                        1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1])
    sizes = run_records(driver, "scratch", np.array(records))
    for (kernel, plan), size in zip(planned, sizes, strict=True):
        assert plan == (0 if kernel == "tg_fully_connected_s8" else size), (kernel, plan, size)
