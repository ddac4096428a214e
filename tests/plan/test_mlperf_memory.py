"""The planner on the bundled MLPerf Tiny models: arena figures that must not grow.

Each compiled model's arena is checked against today's figure (a threshold: the test fails when
a change makes it grow; lower it when a change makes it shrink) and against what greedy-by-size
alone gives, the planner before scheduling and the other algorithms existed. Run with -s to see
the figures beside TFLM's published arenas.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import tinygen
from tinygen.ir import verify
from tinygen.plan import plan_memory
from tinygen.plan.algorithms import ALGORITHMS, arena_size
from tinygen.plan.liveness import analyze

from ..conftest import MODELS, calibration_file

# model file -> (greedy_by_size before issue 6, arena today, lower bound today), bytes; the bound
# counts what in-place pairs may share (plan/liveness.py), so it is below the whole-tensor live set
FIGURES = {
    "kws_dscnn_float": (16_000, 8_640, 8_640),
    "kws_dscnn_float_matched": (16_000, 8_640, 8_640),
    "vww_mobilenet_float": (64_512, 38_064, 38_016),
    "ic_resnet8_float": (49_152, 33_984, 33_984),
    "ad_autoencoder_float": (768, 768, 768),
    "kws_dscnn_int8_qdq": (16_000, 8_640, 8_640),
    "vww_mobilenet_int8_qdq": (64_512, 38_064, 38_016),
    "ic_resnet8_int8_qdq": (49_152, 33_984, 33_984),
    "ad_autoencoder_int8_qdq": (768, 768, 768),
}
TFLM_ARENA = {"kws_dscnn": 22_820, "vww_mobilenet": 100_708, "ic_resnet8": 54_996, "ad_autoencoder": 2_580}


def folder_of(stem: str) -> str:
    return next(name for name in TFLM_ARENA if stem.startswith(name))


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tinygen.model.CompiledModel]:
    out = tmp_path_factory.mktemp("memory")
    models = {}
    for stem in FIGURES:
        folder = folder_of(stem)
        calib = None if stem.endswith("qdq") else str(calibration_file(folder))
        models[stem] = tinygen.compile(MODELS / folder / f"{stem}.onnx", out / stem, calib=calib)
    return models


@pytest.mark.parametrize("stem", list(FIGURES))
def test_arena_does_not_grow(compiled: dict, stem: str) -> None:
    model = compiled[stem]
    previous, threshold, bound = FIGURES[stem]
    arena = model.manifest["arena_bytes"]
    tflm = TFLM_ARENA[folder_of(stem)]
    print(f"\n{stem}: arena {arena:,} B (lower bound {model.manifest['arena_lower_bound_bytes']:,} B, "
          f"{model.manifest['planner']}); greedy-by-size alone {previous:,} B; TFLM {tflm:,} B")
    assert arena <= threshold, f"{stem}: the arena grew from {threshold:,} to {arena:,} B"
    assert model.manifest["arena_lower_bound_bytes"] == bound
    assert arena <= previous


@pytest.mark.parametrize("stem", list(FIGURES))
def test_planner_beats_or_equals_every_single_algorithm(compiled: dict, stem: str) -> None:
    graph = compiled[stem].graph  # stored in the scheduled order
    verify(graph)
    buffers = analyze(graph).buffers
    plan = plan_memory(graph)
    assert plan.arena_size == compiled[stem].manifest["arena_bytes"]
    for name, algorithm in ALGORITHMS.items():
        assert plan.used_bytes <= arena_size(buffers, algorithm(buffers)), name


def test_compile_fails_over_the_ram_budget_and_writes_nothing(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """30,000 B is below what VWW needs even in row bands (its 27,648-B input exists whole)."""
    from tinygen.cli import main

    model = MODELS / "vww_mobilenet" / "vww_mobilenet_int8_qdq.onnx"
    out = tmp_path / "out"
    assert main(["compile", str(model), "-o", str(out), "--ram-budget", "30000"]) == 2
    assert not out.exists()
    error = capsys.readouterr().err
    assert "the activation arena needs 38,064 B, over the RAM budget of 30,000 B by 8,064 B" in error
    assert "No placement can fit" in error and "What could help" in error
    assert "Patch-based execution was tried too: the first 4 layers in 24 row bands give the smallest arena, " \
           "31,104 B." in error
    assert main(["compile", str(model), "-o", str(out), "--ram-budget", "38064"]) == 0
    assert (out / "lib").is_dir()
