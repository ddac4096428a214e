"""Every ONNX operator tinygen imports has cases in tests/ops (this guards the rule "adding an op
means adding its tests"). Operators registered only to explain a refusal are exempt, and so are
the quantization operators, whose tests are the QDQ model tests (tests/test_qdq*.py)."""

from __future__ import annotations

from pathlib import Path

from tinygen.ops import ONNX_IMPORTERS

TESTED_ELSEWHERE = {"QuantizeLinear": "tests/test_qdq_ops.py", "DequantizeLinear": "tests/test_qdq_ops.py"}
# onnxruntime's QOperator forms, expanded into QDQ at load time (tinygen/ops/qoperator.py).
TESTED_ELSEWHERE.update({op: "tests/test_qoperator.py" for (_, op), importer in ONNX_IMPORTERS.items()
                         if importer.expands})


def test_every_supported_operator_has_op_tests() -> None:
    text = "".join(path.read_text() for path in Path(__file__).parent.glob("test_*.py"))
    supported = sorted({op for (_, op), importer in ONNX_IMPORTERS.items() if not getattr(importer, "refuses", False)})
    untested = [op for op in supported if f'"{op}"' not in text and op not in TESTED_ELSEWHERE]
    assert not untested, f"ONNX operators without a case in tests/ops: {untested}"
