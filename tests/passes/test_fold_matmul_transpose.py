"""passes/fold_matmul_transpose.py: the data movements of attention (q, k, v sliced from one projection
through a rank-5 permute, K^T, the heads merged) folded into the batch matmuls' strides, bit-exact; on the
keyword transformer of tests/fixtures/sequence_models every copy disappears."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

import tinygen
from tinygen import passes
from tinygen.passes import fold_copies, fold_matmul_transpose

from ..conftest import assert_identical
from ..ops.harness import Case, const, make_model, node, weights
from .conftest import check_numerics, import_ir, ops

I64 = np.int64
TOKENS, HEADS, HEAD_WIDTH = 5, 2, 4
WIDTH = HEADS * HEAD_WIDTH


def fused_qkv_attention():
    """PyTorch's hand-written attention with one qkv Linear: reshape [1, T, 3, H, D], permute (2, 0, 3, 1, 4),
    Gather 0 / 1 / 2, q k^T (Transpose of the last two axes), Softmax, @ v, Transpose + Reshape to [1, T, H D]."""
    rng = np.random.default_rng(41)
    inits = {"Wqkv": weights(rng, WIDTH, 3 * WIDTH), "Wo": weights(rng, WIDTH, WIDTH),
             "split": const([1, TOKENS, 3, HEADS, HEAD_WIDTH], I64), "merged": const([1, TOKENS, WIDTH], I64),
             "scale": const(HEAD_WIDTH ** -0.5), **{f"i{k}": const(k, I64) for k in range(3)}}
    nodes = [node("MatMul", ["x", "Wqkv"], "qkv"), node("Reshape", ["qkv", "split"], "qkv5"),
             node("Transpose", ["qkv5"], "heads", perm=[2, 0, 3, 1, 4])]
    nodes += [node("Gather", ["heads", f"i{k}"], p, axis=0) for k, p in enumerate("qkv")]
    nodes += [node("Transpose", ["k"], "kt", perm=[0, 1, 3, 2]), node("MatMul", ["q", "kt"], "scores"),
              node("Mul", ["scores", "scale"], "scaled"), node("Softmax", ["scaled"], "attn", axis=-1),
              node("MatMul", ["attn", "v"], "context"), node("Transpose", ["context"], "context_t", perm=[0, 2, 1, 3]),
              node("Reshape", ["context_t", "merged"], "joined"), node("MatMul", ["joined", "Wo"], "y")]
    return make_model(nodes, {"x": [1, TOKENS, WIDTH]}, ["y"], inits)


def test_qkv_slices_and_head_merge_fold(folder, run_case) -> None:
    graph = import_ir(fused_qkv_attention(), folder)
    fold_copies.run(graph)  # the pipeline's order: movements composed first
    graph.remove_unused_tensors()
    assert ops(graph).count("copy") == 4  # q, k^T, v, the merge
    rewrites = fold_matmul_transpose.run(graph)
    graph.remove_unused_tensors()
    assert rewrites == 4 and "copy" not in ops(graph), ops(graph)
    scores, context = [n for n in graph.nodes if n.op == "batch_matmul"]
    row = 3 * WIDTH  # the projection's elements per token
    # q: head h, token t, feature d at t * 3 H D + h D + d; k^T reads the same with the last two axes swapped
    assert (scores.attrs["lhs_start"], scores.attrs["lhs_strides"]) == (0, [0, HEAD_WIDTH, row, 1])
    assert (scores.attrs["rhs_start"], scores.attrs["rhs_strides"]) == (WIDTH, [0, HEAD_WIDTH, 1, row])
    assert (context.attrs["rhs_start"], context.attrs["rhs_strides"]) == (2 * WIDTH, [0, HEAD_WIDTH, row, 1])
    assert context.attrs["out_strides"] == [0, HEAD_WIDTH, WIDTH, 1]  # written as [T, H, D]
    check_numerics(Case("pass_fold_qkv_attention", fused_qkv_attention, sqnr_db=28.0,
                        ops=["fully_connected", "batch_matmul", "softmax", "batch_matmul", "fully_connected"]),
                   run_case)


def test_not_folded_when_the_operand_is_a_model_output(folder) -> None:
    model = fused_qkv_attention()
    model.graph.output.append(onnx.helper.make_tensor_value_info("kt", onnx.TensorProto.FLOAT,
                                                                 [1, HEADS, HEAD_WIDTH, TOKENS]))
    graph = import_ir(model, folder)
    fold_copies.run(graph)
    fold_matmul_transpose.run(graph)
    assert "kt" in [out for n in graph.nodes for out in n.outputs]


def test_keyword_transformer_runs_without_copies(tmp_path: Path) -> None:
    """The KWT's eight head copies (q, k^T, v, merge in each of 2 blocks) fold; golden == host C on the
    calibration inputs, and the bytes equal those of the same model compiled with the pass turned off."""
    fixtures = Path(__file__).parents[1] / "fixtures" / "sequence_models"
    calib = fixtures / "kwt_calib.npy"
    model = tinygen.compile(fixtures / "kwt_legacy.onnx", tmp_path / "out", calib=str(calib), warn=lambda _: None)
    graph = model.graph
    assert "copy" not in [n.op for n in graph.nodes]
    folded = [n for n in graph.nodes if n.op == "batch_matmul" and any("strides" in key for key in n.attrs)]
    assert len(folded) == 4
    x = model.quantize(model.inputs[0], np.load(calib)[:8])
    golden = model.golden(x, int8=True)
    assert_identical(golden, model.run(x, int8=True, sanitize=True), "golden vs host C")
    # the same computation with the movements kept as copies gives the same bytes
    saved = list(passes.PIPELINE)
    try:
        passes.PIPELINE[:] = [(name, run) for name, run in saved if name != "fold_matmul_transpose"]
        unfolded = tinygen.compile(fixtures / "kwt_legacy.onnx", tmp_path / "unfolded", calib=str(calib),
                                   warn=lambda _: None)
    finally:
        passes.PIPELINE[:] = saved
    assert [n.op for n in unfolded.graph.nodes].count("copy") == 8
    assert_identical(golden, unfolded.golden(x, int8=True), "folded vs copies")
