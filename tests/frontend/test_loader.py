"""The loader's constant folding turns exporter shape/constant arithmetic into constants:
CastLike of a constant "like" a run-time tensor (the torch.export-based exporter's Clip bounds and
biases), Expand of a folded shape, Shape -> Gather -> Concat, ConstantOfShape."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

from tinygen.frontend.loader import load_model

from ..ops.harness import Case, CaseRunner, check_close_to_float, check_golden_equals_host, const, make_model, node
from ..ops.harness import weights as random_weights


def castlike_clip_and_expanded_bias() -> onnx.ModelProto:
    """As torch.onnx.export(dynamo=True, optimize=False) writes Conv2d(bias=False) + ReLU6."""
    rng = np.random.default_rng(91)
    inits = {"W": random_weights(rng, 4, 3, 3, 3), "zero": const(0.0), "channels": const([4], np.int64)}
    nodes = [node("CastLike", ["zero", "x"], "zero_like"),
             node("Expand", ["zero_like", "channels"], "bias"),
             node("Conv", ["x", "W", "bias"], "c", pads=[1, 1, 1, 1]),
             helper.make_node("Constant", [], ["lo"], value_float=0.0, name="n0"),
             helper.make_node("Constant", [], ["hi"], value_float=6.0, name="n1"),
             node("CastLike", ["lo", "c"], "lo_cast"), node("CastLike", ["hi", "c"], "hi_cast"),
             node("Clip", ["c", "lo_cast", "hi_cast"], "y")]
    return make_model(nodes, {"x": [1, 3, 6, 6]}, ["y"], inits, opset=18)


CASTLIKE = Case("castlike_clip_expand_bias", castlike_clip_and_expanded_bias, ops=["conv2d"])


def test_castlike_of_constants_is_folded(tmp_path) -> None:
    path = tmp_path / "m.onnx"
    onnx.save(castlike_clip_and_expanded_bias(), path)
    loaded = load_model(path)
    assert [n.op_type for n in loaded.graph.node] == ["Conv", "Clip"]
    clip = loaded.graph.node[1]
    assert loaded.constants[clip.input[1]].dtype == np.float32
    assert float(loaded.constants[clip.input[2]]) == 6.0


def test_castlike_folded_model_compiles(run_case: CaseRunner) -> None:
    result = run_case(CASTLIKE)
    assert result.ir_ops == ["conv2d"]  # bias constant, ReLU6 fused
    check_golden_equals_host(result)
    check_close_to_float(result)


def test_castlike_changes_the_type(tmp_path) -> None:
    """CastLike to an integer type casts (the fold uses the target's element type)."""
    nodes = [node("Shape", ["x"], "s"), node("CastLike", ["half", "s"], "h"), node("Add", ["s", "h"], "t"),
             node("Reshape", ["x", "t"], "y")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])],
                              [onnx.numpy_helper.from_array(const([0.0, 0.5]), "half")])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    loaded = load_model(path)
    assert [n.op_type for n in loaded.graph.node] == ["Reshape"]
    assert loaded.constants[loaded.graph.node[0].input[1]].tolist() == [1, 6]
    assert loaded.constants["h"].dtype == np.int64


def test_run_time_castlike_is_reported(tmp_path) -> None:
    """CastLike of a run-time tensor is not folded; the importer names it."""
    import pytest

    from tinygen.errors import UnsupportedModelError
    from tinygen.frontend.importer import import_model

    graph = helper.make_graph([node("CastLike", ["x", "like"], "y", name="cast_me")], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
                              [onnx.numpy_helper.from_array(const([1.0]), "like")])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)]), path)
    with pytest.raises(UnsupportedModelError) as info:
        import_model(load_model(path))
    assert "node 'cast_me' (CastLike)" in str(info.value)
