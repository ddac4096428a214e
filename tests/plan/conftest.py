"""Helpers for the planner tests: buffer sets and small graphs written by hand."""

from __future__ import annotations

import numpy as np

from tinygen.ir import Graph, Node, Tensor
from tinygen.plan.liveness import Buffer


def buffers(*specs: tuple[str, int, int, int] | tuple[str, int, int, int, int]) -> list[Buffer]:
    """Buffers from (name, size, first, last[, alignment]) tuples."""
    return [Buffer(*spec) for spec in specs]


def graph(nodes: list[tuple[str, str, list[str], list[str]]], sizes: dict[str, int], inputs: list[str],
          outputs: list[str], constants: dict[str, int] | None = None) -> Graph:
    """A graph of int8 tensors: nodes as (name, op, inputs, outputs); sizes in bytes per activation.

    Only what the planner reads is filled in (op names, tensor sizes), so the ops never run.
    """
    g = Graph("handmade")
    for name, size in sizes.items():
        g.add_tensor(Tensor(name, (1, size), "int8"))
    for name, size in (constants or {}).items():
        g.add_tensor(Tensor(name, (size,), "int8", data=np.zeros(size, np.int8)))
    g.nodes = [Node(name, op, list(ins), list(outs)) for name, op, ins, outs in nodes]
    g.inputs, g.outputs = list(inputs), list(outputs)
    return g


def two_branches() -> Graph:
    """x -> a, then two branches that each blow a up to 64 bytes and shrink it to 4, then a concat.

    Listed breadth-first (both 64-byte tensors live at once: 144 bytes); depth-first needs 84.
    """
    sizes = {"x": 16, "a": 16, "l1": 64, "l2": 4, "r1": 64, "r2": 4, "y": 8}
    return graph([("n0", "add", ["x"], ["a"]),
                  ("n1", "add", ["a"], ["l1"]),
                  ("n3", "add", ["a"], ["r1"]),
                  ("n2", "add", ["l1"], ["l2"]),
                  ("n4", "add", ["r1"], ["r2"]),
                  ("n5", "concat", ["l2", "r2"], ["y"])], sizes, ["x"], ["y"])
