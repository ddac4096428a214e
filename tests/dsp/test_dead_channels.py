"""Dead output channels (all weights zero) are not stored in flash: the generated weights hold
the live rows and a row index marks the dead ones (ops/conv.py Conv2D.weight_fields). The
kernels' results are covered by tests/dsp/cases.py (dead first, middle and last channels, on the
host and on every emulated core); this checks what lands in flash for the MLPerf VWW model,
whose 971 dead channels of 2,738 hold 152,640 zero weights: passes/remove_constant_channels.py removes
572 of those channels from the graph, and the rest (mostly the last pointwise layer's, read by the
average pool) are still not stored."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import tinygen

from ..conftest import assert_identical, model_file, samples


def test_vww_dead_channels_are_not_stored(tmp_path: Path) -> None:
    model = tinygen.compile(model_file("vww_mobilenet", "int8_qdq"), tmp_path / "vww")
    weights_c = (tmp_path / "vww" / "lib" / model.name / f"{model.name}_weights.c").read_text()
    stored = 0
    for node in model.graph.nodes:
        if node.op in ("conv2d", "depthwise_conv2d", "fully_connected"):
            data = model.graph.tensors[node.inputs[1]].data
            axis = 3 if node.op == "depthwise_conv2d" else 0
            rows = np.moveaxis(data, axis, 0).reshape(data.shape[axis], -1)
            live = np.any(rows != 0, axis=1) if node.op == "conv2d" else np.ones(len(rows), bool)
            stored += int(live.sum()) * rows.shape[1]
    declared = sum(int(line.split("[")[1].split("]")[0]) for line in weights_c.splitlines()
                   if line.startswith("const int8_t") and "_weights[" in line)
    assert declared == stored  # exactly the live rows (and every depthwise / FC weight)
    assert stored < model.manifest["weights_bytes"] - 30_000
    assert "not stored" in weights_c
    data = samples("vww_mobilenet")
    assert_identical(data["y_int8"], model.run(data["x_int8"], int8=True), "host C vs TFLite reference")
