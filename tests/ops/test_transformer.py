"""The pieces of a keyword transformer that compute: GELU as the exporters write its tanh approximation
(one table after passes/fuse_elementwise.py; the Erf form and ONNX Gelu are in test_unary.py), and a
KWT-like encoder block on a [1, T, D] input built with onnx.helper -- pre-norm multi-head self-attention
(LayerNormalization, Q/K/V projections, heads split by Reshape + Transpose, scaled scores, Softmax, A V,
heads merged, output projection, residual Add) and a LayerNorm + GELU MLP with its residual Add --, in
the opset-17 form and in the decomposed LayerNorm / Erf GELU form of PyTorch's legacy exporter.

Bounds: a block chains some fifteen requantizations and two residual sums; its output is compared to
onnxruntime's float run with an SQNR floor of 28 dB (measured 33.1 dB, max error 1.2 steps) and 3 steps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

import tinygen

from ..conftest import assert_identical
from .harness import Case, const, make_model, node, onnxruntime_outputs, sqnr_db, standard_tests, weights

TOKENS, WIDTH, HEADS, HIDDEN = 10, 16, 2, 32


def gelu_tanh_decomposed() -> Case:
    """nn.GELU(approximate='tanh') through torch.onnx.export(dynamo=False), opset < 20."""
    def build():
        inits = {"c": const(0.044715), "k": const(0.7978846), "one": const(1.0), "half": const(0.5)}
        nodes = [node("Mul", ["x", "x"], "x2"), node("Mul", ["x", "x2"], "x3"), node("Mul", ["c", "x3"], "cx3"),
                 node("Add", ["x", "cx3"], "inner"), node("Mul", ["k", "inner"], "scaled"),
                 node("Tanh", ["scaled"], "t"), node("Add", ["one", "t"], "t1"), node("Mul", ["x", "t1"], "xt"),
                 node("Mul", ["half", "xt"], "y")]
        return make_model(nodes, {"x": [1, TOKENS, WIDTH]}, ["y"], inits)
    return Case("gelu_tanh_decomposed", build, steps=1.1, ops=["lut"])


def _layernorm(prefix: str, x: str, out: str, decomposed: bool) -> list:
    if not decomposed:
        return [node("LayerNormalization", [x, f"{prefix}_gamma", f"{prefix}_beta"], out, axis=-1, epsilon=1e-5)]
    return [node("ReduceMean", [x], f"{prefix}_mean", axes=[-1]), node("Sub", [x, f"{prefix}_mean"], f"{prefix}_c"),
            node("Pow", [f"{prefix}_c", "two"], f"{prefix}_sq"),
            node("ReduceMean", [f"{prefix}_sq"], f"{prefix}_var", axes=[-1]),
            node("Add", [f"{prefix}_var", "eps"], f"{prefix}_ve"), node("Sqrt", [f"{prefix}_ve"], f"{prefix}_std"),
            node("Div", [f"{prefix}_c", f"{prefix}_std"], f"{prefix}_n"),
            node("Mul", [f"{prefix}_n", f"{prefix}_gamma"], f"{prefix}_g"),
            node("Add", [f"{prefix}_g", f"{prefix}_beta"], out)]


def _gelu(x: str, out: str, decomposed: bool) -> list:
    if not decomposed:
        return [node("Gelu", [x], out)]
    return [node("Div", [x, "sqrt2"], f"{out}_d"), node("Erf", [f"{out}_d"], f"{out}_e"),
            node("Add", [f"{out}_e", "one"], f"{out}_a"), node("Mul", [x, f"{out}_a"], f"{out}_m"),
            node("Mul", [f"{out}_m", "half"], out)]


def encoder_block(case_id: str, decomposed: bool, erf_gelu: bool = False) -> Case:
    def build():
        rng = np.random.default_rng(21)
        dh = WIDTH // HEADS
        inits = {f"W{p}": weights(rng, WIDTH, WIDTH) for p in "qkvo"}
        inits.update({f"b{p}": (0.1 * rng.standard_normal(WIDTH)).astype(np.float32) for p in "qkvo"})
        inits.update({"W1": weights(rng, WIDTH, HIDDEN), "b1": (0.1 * rng.standard_normal(HIDDEN)).astype(np.float32),
                      "W2": weights(rng, HIDDEN, WIDTH), "b2": (0.1 * rng.standard_normal(WIDTH)).astype(np.float32),
                      "heads_shape": const([1, TOKENS, HEADS, dh], np.int64),
                      "merged_shape": const([1, TOKENS, WIDTH], np.int64), "scale": const(dh ** -0.5)})
        for ln in ("ln1", "ln2"):
            inits[f"{ln}_gamma"] = (1 + 0.2 * rng.standard_normal(WIDTH)).astype(np.float32)
            inits[f"{ln}_beta"] = (0.1 * rng.standard_normal(WIDTH)).astype(np.float32)
        if decomposed or erf_gelu:
            inits.update({"sqrt2": const(np.sqrt(2.0)), "one": const(1.0), "half": const(0.5)})
        if decomposed:
            inits.update({"two": const(2.0), "eps": const(1e-5)})
        nodes = _layernorm("ln1", "x", "h", decomposed)
        for p, perm in (("q", [0, 2, 1, 3]), ("k", [0, 2, 3, 1]), ("v", [0, 2, 1, 3])):
            nodes += [node("MatMul", ["h", f"W{p}"], f"{p}_mm"), node("Add", [f"{p}_mm", f"b{p}"], f"{p}_proj"),
                      node("Reshape", [f"{p}_proj", "heads_shape"], f"{p}_heads"),
                      node("Transpose", [f"{p}_heads"], f"{p}_t", perm=perm)]
        nodes += [node("MatMul", ["q_t", "k_t"], "scores"), node("Mul", ["scores", "scale"], "scaled"),
                  node("Softmax", ["scaled"], "attn", axis=-1), node("MatMul", ["attn", "v_t"], "context"),
                  node("Transpose", ["context"], "context_t", perm=[0, 2, 1, 3]),
                  node("Reshape", ["context_t", "merged_shape"], "merged"),
                  node("MatMul", ["merged", "Wo"], "o_mm"), node("Add", ["o_mm", "bo"], "attended"),
                  node("Add", ["x", "attended"], "x1")]
        nodes += _layernorm("ln2", "x1", "h2", decomposed)
        nodes += [node("MatMul", ["h2", "W1"], "f1_mm"), node("Add", ["f1_mm", "b1"], "f1")]
        nodes += _gelu("f1", "g", decomposed or erf_gelu)
        nodes += [node("MatMul", ["g", "W2"], "f2_mm"), node("Add", ["f2_mm", "b2"], "f2"),
                  node("Add", ["x1", "f2"], "y")]
        opset = 13 if decomposed else 17 if erf_gelu else 20
        return make_model(nodes, {"x": [1, TOKENS, WIDTH]}, ["y"], inits, opset=opset)
    # the head split and merge fold into the products' strides (passes/fold_matmul_transpose.py)
    ops = (["layer_norm"] * 2 + ["fully_connected"] * 6 + ["batch_matmul"] * 2
           + ["softmax", "lut", "add", "add"])  # the scores' scale joins their product
    return Case(case_id, build, sqnr_db=28.0, ops=ops)


CASES = [
    gelu_tanh_decomposed(),
    encoder_block("kwt_block_opset20", decomposed=False),
    encoder_block("kwt_block_decomposed_opset13", decomposed=True),
]

test_golden_equals_host_c, test_close_to_onnxruntime = standard_tests(CASES)


def test_onnxruntime_qdq_block(tmp_path: Path) -> None:
    """The block (opset 17: LayerNormalization, Erf GELU) quantized by onnxruntime's quantize_static (QDQ,
    per channel), its parameters kept: golden == host C, and its SQNR against the float model no more
    than 1 dB below onnxruntime's own run of the QDQ file."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    onnx.save(encoder_block("qdq", decomposed=False, erf_gelu=True).build(), tmp_path / "float.onnx")
    x = np.random.default_rng(5).standard_normal((24, TOKENS, WIDTH)).astype(np.float32)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.rows = iter([{"x": x[i:i + 1]} for i in range(16)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.rows, None)

    quantize_static(str(tmp_path / "float.onnx"), str(tmp_path / "qdq.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    # onnxruntime leaves GELU's Div and Erf float: their tensors take ranges from the same calibration data.
    np.save(tmp_path / "calib.npy", x[:16])
    model = tinygen.compile(tmp_path / "qdq.onnx", tmp_path / "out", calib=str(tmp_path / "calib.npy"))
    assert {"layer_norm", "batch_matmul", "softmax"} <= set(model.manifest["ops"])
    test = {"x": x[16:]}
    ours = model.run(test["x"])
    assert_identical(model.golden(test["x"]), ours, "golden vs host C")
    (reference,) = onnxruntime_outputs(tmp_path / "float.onnx", test)
    (theirs,) = onnxruntime_outputs(tmp_path / "qdq.onnx", test)
    ours_db, theirs_db = sqnr_db(reference, ours.reshape(reference.shape)), sqnr_db(reference, theirs)
    print(f"QDQ block: tinygen {ours_db:.1f} dB, onnxruntime int8 {theirs_db:.1f} dB against float")
    assert ours_db >= theirs_db - 1.0


# The keyword transformer of tests/fixtures/sequence_models (README_torch.md): file -> (SQNR floor in dB against
# onnxruntime's float run, measured less 0.5; onnxruntime's own int8 of the matching QDQ file, ORT_DISABLE_ALL).
KWT = Path(__file__).parents[1] / "fixtures" / "sequence_models"
KWT_FAST = {"kwt_legacy": (25.8, 26.2), "kwt_dynamo_qdq": (26.1, 26.2), "kwt_legacy_opset14_qdq": (26.4, 25.6)}
KWT_SLOW = {"kwt_dynamo": (25.8, 26.2), "kwt_legacy_opset14": (25.8, 25.6), "kwt_legacy_qdq": (26.1, 26.2)}


@pytest.mark.parametrize("name,floor,baseline", [pytest.param(n, *v, id=n) for n, v in KWT_FAST.items()] + [
    pytest.param(n, *v, id=n, marks=pytest.mark.slow) for n, v in KWT_SLOW.items()])
def test_keyword_transformer(name: str, floor: float, baseline: float, tmp_path: Path) -> None:
    """Each export of the KWT (LayerNormalization or its decomposed form, the class token's Expand and
    Concat, rank-5 head split, q k^T, Softmax, exact GELU; onnxruntime's QDQ files with their constants
    quantized too) compiles with the calibration inputs; golden == host C (ASan/UBSan) on all 32, and the
    SQNR against onnxruntime's float output is no more than 1 dB below onnxruntime's own int8."""
    calib = KWT / "kwt_calib.npy"
    model = tinygen.compile(KWT / f"{name}.onnx", tmp_path / "out", calib=str(calib), warn=lambda _: None)
    assert {"layer_norm", "batch_matmul", "softmax", "concat"} <= set(model.manifest["ops"])
    quantized = model.quantize(model.inputs[0], np.load(calib))
    golden = model.golden(quantized, int8=True)
    host = model.run(quantized, int8=True, sanitize=True)
    assert isinstance(golden, np.ndarray) and isinstance(host, np.ndarray)
    assert_identical(golden, host, f"{name}: golden vs host C")
    expected = np.load(KWT / "kwt_expected.npy")
    sqnr = sqnr_db(expected, model.dequantize(model.outputs[0], host).reshape(expected.shape))
    print(f"{name}: SQNR {sqnr:.2f} dB against onnxruntime float; onnxruntime's int8 {baseline} dB")
    assert sqnr >= max(floor, baseline - 1.0), f"{name}: SQNR {sqnr:.2f} dB"
