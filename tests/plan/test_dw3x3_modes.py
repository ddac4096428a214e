"""tg_depthwise_conv_3x3_s8's two modes (ops/conv.py): a tall output (more rows than columns, stride 1) runs
transposed, output columns as rows ("columns"), given the scratch for the longer rows, else in rows ("rows").
The RAM-first plan takes the row order's smaller scratch; the speed step moves a layer to the column order
only where its scratch fits the arena (or the budget), so a user model's arena never grows for it."""

from __future__ import annotations

from pathlib import Path

import tinygen
from tinygen.ir import Graph
from tinygen.ops import op_of
from tinygen.ops.common import Window
from tinygen.plan.driver import plan_graph

from ..conftest import model_file
from ..dsp.cases import conv_params
from ..kernels.builder import GraphBuilder, int8_weights

FUNCTION = "tg_depthwise_conv_3x3_s8"


def _tall(height: int, width: int, channels: int, widen: int = 0) -> Graph:
    """One depthwise 3x3 layer, stride 1, padded by 1: an output of height x width pixels; then (widen > 0) a
    1x1 convolution to `widen` channels, which sets the arena."""
    b = GraphBuilder(f"tall_{height}x{width}", 3)
    window = Window((3, 3), (1, 1), (1, 1), (1, 1, 1, 1))
    in_zp = b.zero_point()
    x = b.input((1, height, width, channels), zp=in_zp)
    weights = int8_weights(b.rng, (1, 3, 3, channels))
    bias, params = conv_params(b, weights.reshape(-1, channels).T, in_zp, True)
    attrs = {"kernel": [3, 3], "stride": [1, 1], "dilation": [1, 1], "pads": list(window.pads), "ceil_mode": False,
             "depth_multiplier": 1, "activation": None}
    y = b.layer("depthwise_conv2d", [x, b.constant(weights, "w"), b.constant(bias, "b")],
                (1, height, width, channels), attrs, params)
    if widen:
        weights = int8_weights(b.rng, (widen, 1, 1, channels))
        bias, params = conv_params(b, weights.reshape(widen, -1), int(params["output_offset"]), True)  # type: ignore
        attrs = {"kernel": [1, 1], "stride": [1, 1], "dilation": [1, 1], "pads": [0, 0, 0, 0], "ceil_mode": False,
                 "groups": 1, "activation": None}
        b.graph.outputs.remove(y)
        b.layer("conv2d", [y, b.constant(weights, "w"), b.constant(bias, "b")], (1, height, width, widen), attrs,
                params)
    b.finish()
    return b.graph


def _layer(graph: Graph) -> tuple[str, dict[str, int]]:
    """The depthwise layer's variant and its modes' scratch bytes."""
    node = next(n for n in graph.nodes if n.op == "depthwise_conv2d")
    modes = {k.mode: k.scratch(node, graph) for k in op_of(node).candidates(node, graph) if k.function == FUNCTION}
    kernel = op_of(node).kernel(node, graph)
    assert kernel is not None
    return kernel.key, modes


def test_a_tall_output_whose_columns_would_grow_the_arena_runs_in_rows() -> None:
    graph = _tall(48, 4, 8)
    plan = plan_graph(graph)
    variant, modes = _layer(graph)
    assert modes["rows"] < modes["columns"]
    assert variant == f"{FUNCTION}/rows"
    row_order = plan_graph(_tall(48, 4, 8), rule="smallest")  # the row order everywhere
    assert plan.arena_size == row_order.arena_size
    columns = plan_graph(_tall(48, 4, 8), rule="largest")
    assert columns.arena_size > row_order.arena_size  # what the column order would have cost
    # a budget with room for the longer rows buys the column order
    graph = _tall(48, 4, 8)
    plan = plan_graph(graph, ram_budget=columns.arena_size)
    assert _layer(graph)[0] == f"{FUNCTION}/columns" and plan.arena_size == columns.arena_size


def test_a_tall_output_is_transposed_where_the_scratch_is_free() -> None:
    """A later layer sets the arena (the KWS shape, then a 1x1 convolution to 128 channels): the longer rows
    cost nothing."""
    graph = _tall(25, 5, 64, widen=128)
    plan = plan_graph(graph)
    assert _layer(graph)[0] == f"{FUNCTION}/columns"
    assert plan.arena_size == plan_graph(_tall(25, 5, 64, widen=128), rule="smallest").arena_size


def test_other_outputs_have_the_row_order_only() -> None:
    for height, width in ((4, 4), (3, 7)):
        graph = _tall(height, width, 8)
        plan_graph(graph)
        assert _layer(graph) == (f"{FUNCTION}/rows", {"rows": _layer(graph)[1]["rows"]})


def test_kws_keeps_the_column_order_at_its_arena(tmp_path: Path) -> None:
    compiled = tinygen.compile(model_file("kws_dscnn", "int8_qdq"), tmp_path / "kws", name="m")
    kernels = [layer["kernel"] for layer in compiled.manifest["layer_list"] if layer["function"] == FUNCTION]
    assert kernels == [f"{FUNCTION}/columns"] * 4
    assert compiled.manifest["arena_bytes"] == 8_640
