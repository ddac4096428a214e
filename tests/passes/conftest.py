"""Helpers of the pass tests: each test builds a small "before" model with onnx.helper, imports it
into tinygen's float IR, runs its one pass alone and checks the "after" IR; then it compiles the
same model through the whole pipeline and checks it against onnxruntime (tests/ops/harness.py)."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from tinygen.frontend.importer import import_model
from tinygen.frontend.loader import load_model
from tinygen.ir import Graph, verify

from ..ops.harness import (
    Case,
    CaseRunner,
    check_close_to_float,
    check_golden_equals_host,
    run_case,  # noqa: F401  (the session fixture, shared)
)


def import_ir(model: onnx.ModelProto, folder: Path) -> Graph:
    """The float IR of `model` straight after import, before any pass."""
    path = folder / "before.onnx"
    onnx.save(model, path)
    return import_model(load_model(path))


def ops(graph: Graph) -> list[str]:
    return [node.op for node in graph.nodes]


def node_of(graph: Graph, op: str) -> object:
    matches = [node for node in graph.nodes if node.op == op]
    assert len(matches) == 1, f"{len(matches)} {op} nodes in {ops(graph)}"
    return matches[0]


def after_pass(run, model: onnx.ModelProto, folder: Path) -> tuple[Graph, Graph, int]:
    """(before, after, number of rewrites) of one pass run alone on the imported model."""
    before = import_ir(model, folder)
    after = import_ir(model, folder)
    rewrites = run(after)
    after.remove_unused_tensors()
    verify(after)
    return before, after, rewrites


def check_numerics(case: Case, runner: CaseRunner) -> None:
    result = runner(case)
    check_golden_equals_host(result)
    check_close_to_float(result)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path
