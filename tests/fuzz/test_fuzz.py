"""The seeded ONNX mutator fuzz test (issue 14): every mutated model either compiles into C that builds
with the strict flags and equals the golden reference, or is refused with a clean error (exit 2, an
`error:` line, no traceback). Never an internal error, a traceback, a hang or a crash.

`make test` runs a bounded number of cases (every mutation kind four times, about a minute); `make
bench` runs 3,000 (`-m slow`). A failure prints each bad case with its number: `make_case(SEED, n)`
rebuilds it, `python -m tests.fuzz.runner` runs it alone.
"""

from __future__ import annotations

import random
from pathlib import Path

import onnx
import pytest

from .mutator import KINDS, MUTATIONS, Case, make_case
from .runner import GOOD, run_cases, summary
from .seeds import seed_models

SEED = 1


def test_every_mutation_kind_changes_a_model() -> None:
    seeds = seed_models()
    for kind in KINDS:
        changed = 0
        for trial in range(6):
            original = seeds[sorted(seeds)[trial % len(seeds)]]
            model = onnx.ModelProto()
            model.CopyFrom(original)
            case = Case(trial, "", [kind], model)
            MUTATIONS[kind](model, random.Random(trial), case)
            changed += (model.SerializeToString() != original.SerializeToString() or case.external_data
                        or case.calib != "random" or case.file_name != "model")
        assert changed >= 3, f"mutation {kind} changed only {changed} of 6 models"


def test_cases_are_reproducible_and_cover_every_kind() -> None:
    first = [make_case(SEED, i) for i in range(len(KINDS))]
    again = [make_case(SEED, i) for i in range(len(KINDS))]
    assert [c.model.SerializeToString() for c in first] == [c.model.SerializeToString() for c in again]
    assert {c.kinds[0] for c in first} == set(KINDS)


def check(results: list, count: int) -> None:
    text = summary(results)
    print(text)
    assert len(results) == count
    assert all(r.outcome in GOOD for r in results), text
    outcomes = {r.outcome for r in results}
    assert outcomes == GOOD, f"expected both accepted and refused models: {text}"


def test_fuzz_bounded(tmp_path: Path) -> None:
    count = 4 * len(KINDS)
    check(run_cases(SEED, count, tmp_path, build=True, timeout=120), count)


@pytest.mark.slow
def test_fuzz_thousands(tmp_path: Path) -> None:
    count = 3000
    check(run_cases(SEED, count, tmp_path, build=True, timeout=300), count)
