"""passes/fuse_matmul_scale.py: attention's scores scaled by a positive constant (Mul, or Div imported as
one) become one batch matmul with the factor in its requantization; a negative factor, or a product read
elsewhere too, stays a Mul. Numerics of the fused form: golden == host C, close to onnxruntime."""

from __future__ import annotations

import pytest

from tinygen.passes import fuse_matmul_scale

from ..ops.harness import Case, const, make_model, node
from .conftest import after_pass, check_numerics, ops


def scaled_scores(op: str = "Mul", factor: float = 0.25, extra_reader: bool = False):
    def build():
        nodes = [node("MatMul", ["q", "k"], "scores"), node(op, ["scores", "s"], "scaled"),
                 node("Softmax", ["scaled"], "y", axis=-1)]
        outputs = ["y"]
        if extra_reader:
            nodes.append(node("Relu", ["scores"], "r"))
            outputs.append("r")
        return make_model(nodes, {"q": [1, 2, 6, 8], "k": [1, 2, 8, 6]}, outputs, {"s": const(factor)})
    return build


@pytest.mark.parametrize("op,factor,expected", [("Mul", 0.25, 0.25), ("Div", 4.0, 0.25)])
def test_positive_factor_joins_the_product(op: str, factor: float, expected: float, folder, run_case) -> None:
    _, after, rewrites = after_pass(fuse_matmul_scale.run, scaled_scores(op, factor)(), folder)
    assert rewrites == 1 and ops(after) == ["batch_matmul", "softmax"]
    product = next(n for n in after.nodes if n.op == "batch_matmul")
    assert product.attrs["scale"] == pytest.approx(expected) and product.outputs == ["scaled"]
    if op == "Mul":
        check_numerics(Case("pass_fuse_matmul_scale", scaled_scores(op, factor), ops=["batch_matmul", "softmax"],
                            steps=2.0), run_case)


@pytest.mark.parametrize("factor,extra_reader", [(-0.5, False), (0.25, True)])
def test_stays_a_mul(factor: float, extra_reader: bool, folder) -> None:
    _, after, rewrites = after_pass(fuse_matmul_scale.run, scaled_scores("Mul", factor, extra_reader)(), folder)
    assert rewrites == 0 and "mul" in ops(after)
