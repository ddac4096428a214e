"""Automatic mixed precision (`--precision auto`): choose each layer's precision under a target.

The target is a floor on the output SQNR against the float model (`--min-sqnr DB`, on calibration samples),
a ceiling on the weight bytes (`--max-flash BYTES`: weights and biases, the compile summary's "weights"
figure), or both. The search:

1. Candidates: per layer, each precision change its op takes from the starting plan (the model-wide options
   and the precision file, which stay fixed): int8 -> int4 weights (saves flash, costs accuracy) and, where
   the op takes them, int8 -> int16 activations (costs RAM and cycles, buys accuracy).
2. Sensitivity: the output SQNR with only that one change, against the starting plan's SQNR, measured by
   quantizing a copy of the float graph and running the golden reference on up to AUTO_SAMPLES calibration
   samples (the caller supplies that run: `Evaluator`).
3. Greedy: while the SQNR floor is not met, apply the raising candidate that gains the most; then apply the
   shrinking candidates in order of SQNR lost per byte saved, each kept only if the floor still holds
   (measured again with all choices so far, since losses do not simply add), until the flash ceiling is met
   (with only a ceiling) or every candidate was tried (with a floor: the smallest flash that keeps it).
Each chosen layer records why (node.attrs["precision_why"]); the whole search goes into the manifest
(calibration["precision_auto"]) for `tinygen report`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import TinygenError
from ..ir import Graph
from ..ops import op_of
from .precision import INT8, LayerPrecision, set_precisions, takes
from .quantize import quantize_graph

AUTO_SAMPLES = 16  # calibration samples each candidate is measured on


@dataclass(frozen=True)
class AutoTarget:
    min_sqnr: float | None = None  # dB, output SQNR against the float model
    max_flash: int | None = None  # weight bytes (weights + biases)

    def __post_init__(self) -> None:
        if self.min_sqnr is None and self.max_flash is None:
            raise TinygenError("--precision auto needs a target: --min-sqnr DB and/or --max-flash BYTES")

    def describe(self) -> str:
        parts = ([f"output SQNR >= {self.min_sqnr:g} dB"] if self.min_sqnr is not None else []) + (
            [f"weights <= {self.max_flash:,} B"] if self.max_flash is not None else [])
        return " and ".join(parts)


# A quantized graph -> its outputs as float arrays in the model's layout (N samples each), and the reference.
Evaluator = Callable[[Graph], list[np.ndarray]]


@dataclass
class Measured:
    sqnr_db: float
    weights_bytes: int


@dataclass
class Candidate:
    index: int  # position in graph.nodes
    name: str
    precision: LayerPrecision  # the layer's precision with this change
    kind: str  # "shrink" (int4 weights) or "raise" (int16 activations)
    alone: Measured | None = None  # the starting plan with only this change
    chosen: bool = False
    note: str = ""

    def record(self, start: Measured) -> dict[str, Any]:
        assert self.alone is not None
        return {"index": self.index, "name": self.name, "precision": self.precision.to_json(), "kind": self.kind,
                "sqnr_db": _rounded(self.alone.sqnr_db), "delta_db": _rounded(self.alone.sqnr_db - start.sqnr_db),
                "bytes_saved": start.weights_bytes - self.alone.weights_bytes, "chosen": self.chosen,
                "note": self.note}


@dataclass
class Search:
    graph: Graph  # the float graph (with node.attrs["precision"] of the starting plan)
    ranges: dict[str, tuple[float, float]]
    evaluate: Evaluator
    reference: list[np.ndarray]  # the float model's outputs
    log: Callable[[str], None] = lambda text: None
    runs: int = field(default=0)

    def measure(self, precisions: dict[int, LayerPrecision]) -> Measured:
        trial = copy.deepcopy(self.graph)
        set_precisions(trial, precisions)
        quantize_graph(trial, self.ranges)
        self.runs += 1
        return Measured(output_sqnr(self.reference, self.evaluate(trial)), weights_bytes(trial))


def choose_precisions(graph: Graph, ranges: dict[str, tuple[float, float]], target: AutoTarget,
                      start: dict[int, LayerPrecision], evaluate: Evaluator, reference: list[np.ndarray],
                      log: Callable[[str], None] | None = None, fixed: set[int] | None = None) -> dict[str, Any]:
    """Choose, write node.attrs["precision"] / ["precision_why"] on `graph` (still float), return the record.
    `fixed`: layers whose precision the user set per layer (never candidates)."""
    search = Search(graph, ranges, evaluate, reference, log or (lambda text: None))
    int8_only = search.measure(dict.fromkeys(start, INT8))
    base = search.measure(start)
    candidates = [c for c in _candidates(graph, start) if c.index not in (fixed or set())]
    for candidate in candidates:
        candidate.alone = search.measure({**start, candidate.index: candidate.precision})
        search.log(f"precision auto: {candidate.name} {candidate.kind}: SQNR {candidate.alone.sqnr_db:.1f} dB alone")
    chosen = dict(start)
    current = base
    floor, ceiling = target.min_sqnr, target.max_flash
    # Raise the most sensitive layers while the floor is not met (int16 activations, where ops take them).
    raising = sorted((c for c in candidates if c.kind == "raise"), key=lambda c: -_gain(c, base))
    for candidate in raising:
        if floor is None or current.sqnr_db >= floor:
            candidate.note = "not needed: the output SQNR already holds"
            continue
        trial = search.measure({**chosen, candidate.index: candidate.precision})
        if trial.sqnr_db > current.sqnr_db:
            chosen[candidate.index], current = candidate.precision, trial
            candidate.chosen = True
            candidate.note = f"raises the output SQNR to {trial.sqnr_db:.1f} dB"
        else:
            candidate.note = f"with int16 activations the output SQNR would be {trial.sqnr_db:.1f} dB, no gain"
    # Shrink the least sensitive layers, cheapest loss per byte first.
    shrinking = sorted((c for c in candidates if c.kind == "shrink"),
                       key=lambda c: (_loss_per_byte(c, base), -_saved(c, base)))  # free ones: biggest first
    for candidate in shrinking:
        if floor is None and ceiling is not None and current.weights_bytes <= ceiling:
            candidate.note = "not needed: the weights already fit"
            continue
        wanted = replace_weights(chosen[candidate.index], candidate.precision)
        if not takes(graph.nodes[candidate.index], wanted):  # e.g. int16 activations chosen above: no int4 kernel
            candidate.note = f"kept int8 weights: no kernel for {wanted}"
            continue
        trial = search.measure({**chosen, candidate.index: wanted})
        if floor is not None and trial.sqnr_db < floor:
            candidate.note = f"with int4 weights the output SQNR would fall to {trial.sqnr_db:.1f} dB"
            continue
        chosen[candidate.index] = wanted
        candidate.chosen = True
        assert candidate.alone is not None
        candidate.note = (f"alone it moves the output SQNR {base.sqnr_db:.1f} -> {candidate.alone.sqnr_db:.1f} dB "
                          f"and saves {base.weights_bytes - candidate.alone.weights_bytes:,} B")
        current = trial
    fits = ceiling is None or current.weights_bytes <= ceiling
    holds = floor is None or current.sqnr_db >= floor
    result = (f"output SQNR {current.sqnr_db:.1f} dB (int8 {int8_only.sqnr_db:.1f} dB) on "
              f"{reference[0].shape[0]} calibration sample(s), weights {current.weights_bytes:,} B (int8 "
              f"{int8_only.weights_bytes:,} B); {search.runs} trial quantizations")
    if not (fits and holds):
        raise TinygenError(f"--precision auto cannot meet {target.describe()}: the best found is {result}",
                           hint=_advice(fits, holds, candidates))
    set_precisions(graph, chosen, {c.index: c.note for c in candidates if c.chosen})
    return {"target": target.describe(), "result": result, "sqnr_db": _rounded(current.sqnr_db),
            "weights_bytes": current.weights_bytes, "int8_sqnr_db": _rounded(int8_only.sqnr_db),
            "int8_weights_bytes": int8_only.weights_bytes, "start_sqnr_db": _rounded(base.sqnr_db),
            "candidates": [c.record(base) for c in candidates]}


def replace_weights(current: LayerPrecision, wanted: LayerPrecision) -> LayerPrecision:
    return LayerPrecision(current.activations, wanted.weights)


def _candidates(graph: Graph, start: dict[int, LayerPrecision]) -> list[Candidate]:
    result = []
    for index, precision in start.items():
        node = graph.nodes[index]
        shrink, raise_ = LayerPrecision(precision.activations, "int4"), LayerPrecision("int16", precision.weights)
        if precision.weights == "int8" and takes(node, shrink):
            result.append(Candidate(index, node.name, shrink, "shrink"))
        if precision.activations == "int8" and takes(node, raise_):
            result.append(Candidate(index, node.name, raise_, "raise"))
    return result


def _gain(candidate: Candidate, base: Measured) -> float:
    assert candidate.alone is not None
    return candidate.alone.sqnr_db - base.sqnr_db


def _saved(candidate: Candidate, base: Measured) -> int:
    assert candidate.alone is not None
    return base.weights_bytes - candidate.alone.weights_bytes


def _loss_per_byte(candidate: Candidate, base: Measured) -> float:
    """dB lost per byte saved (0 for a change that does not lower the SQNR, measured alone)."""
    assert candidate.alone is not None
    return max(0.0, base.sqnr_db - candidate.alone.sqnr_db) / max(1, _saved(candidate, base))


def _advice(fits: bool, holds: bool, candidates: list[Candidate]) -> str:
    if not holds and not any(c.kind == "raise" for c in candidates):
        return ("Even int8 does not reach the SQNR floor, and no layer of this model takes int16 activations yet: "
                "lower --min-sqnr, or try another --calib-method.")
    if not holds:
        return ("Even with int16 activations on every layer that raised the SQNR, the floor is not reached (the "
                "int8 weights and the calibration limit it): lower --min-sqnr, or try another --calib-method.")
    return ("Raise --max-flash (or lower --min-sqnr): even with int4 weights on every layer the floor allows, "
            "the weights do not fit.")


def output_sqnr(reference: list[np.ndarray], approximation: list[np.ndarray]) -> float:
    """10 log10(signal / noise) over all outputs and samples together; inf when identical."""
    signal = sum(float(np.sum(np.square(r.astype(np.float64)))) for r in reference)
    noise = sum(float(np.sum(np.square(r.astype(np.float64) - a.astype(np.float64))))
                for r, a in zip(reference, approximation, strict=True))
    if noise == 0:
        return math.inf
    return 10 * math.log10(max(signal, 1e-30) / noise)


def weights_bytes(graph: Graph) -> int:
    """The weight and bias bytes of a quantized graph, each constant counted once (as the manifest does)."""
    seen: set[str] = set()
    total = 0
    for node in graph.nodes:
        for name in op_of(node).parameter_inputs(node):
            tensor = graph.tensors.get(name) if name else None
            if tensor is not None and tensor.data is not None and name not in seen:
                seen.add(name)
                total += tensor.nbytes
    return total


def _rounded(value: float) -> float | None:
    return None if math.isinf(value) else round(value, 2)
