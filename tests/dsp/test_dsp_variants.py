"""Bit-exactness of the Cortex-M DSP kernel variants: the firmware on emulated Cortex-M cores (QEMU)
must produce exactly the outputs of the plain C kernels (the host simulator) and of the numpy golden
reference, for the layers of tests/dsp/cases.py (every variant, its fast paths and its fallbacks).

Each case is one graph of independent layers, so one firmware build covers many shapes; the
firmwares are built in a thread pool up front. Every case runs on qemu_m4 (Cortex-M4F); the
Cortex-M7 and M33 machines run them too (same DSP code, other cores and memory maps), and qemu_m3
(no DSP extension) checks that the variants fall back to the plain kernels there.
"""

from __future__ import annotations

import os
import re
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from tinygen.api import write_compiled
from tinygen.model import CompiledModel

from ..conftest import assert_identical
from ..kernels.builder import random_batch
from .cases import CASES, Case

SAMPLES = 6
SEED = 1
TARGETS = ["qemu_m4", "qemu_m7", "qemu_m33", "qemu_m3"]
RUNS = [(name, target) for name in CASES for target in TARGETS]

Built = tuple[Case, CompiledModel, dict[str, np.ndarray], dict[str, np.ndarray]]


def _as_dict(result: np.ndarray | dict[str, np.ndarray], case: Case) -> dict[str, np.ndarray]:
    return result if isinstance(result, dict) else {case.graph.outputs[0]: result}


def _build(name: str, out_dir: Path) -> Built:
    case = CASES[name](SEED)
    # The variants of most scratch (8-pixel blocks, the widened-input FC: what the cases aim at; "speed"
    # would take the fewest estimated cycles, plan/costs.py). The least-scratch ones run in
    # tests/plan/test_in_place.py, whose mode layer sets the arena size (RAM first keeps it there).
    model = write_compiled(case.graph, out_dir / name, f"dsp_{name}", variants=case.variants).model
    batch = random_batch(np.random.default_rng(100 + SEED), case.graph, SAMPLES)
    x = batch if len(batch) > 1 else next(iter(batch.values()))
    golden = _as_dict(model.golden(x, int8=True), case)
    host = _as_dict(model.run(x, int8=True), case)
    return case, model, batch, {"golden": golden, "host": host}  # type: ignore[return-value]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Future[Built]]:
    out_dir = tmp_path_factory.mktemp("dsp")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        futures = {name: pool.submit(_build, name, out_dir) for name in CASES}
        for future in futures.values():
            future.exception()
    return futures


@pytest.fixture(scope="module")
def firmware_outputs(built: dict[str, Future[Built]]) -> dict[tuple[str, str], Future[dict[str, np.ndarray]]]:
    """Every case on every target, built and run in parallel (each in its own output folder)."""

    def run(name: str, target: str) -> dict[str, np.ndarray]:
        case, model, batch, _ = built[name].result()
        x = batch if len(batch) > 1 else next(iter(batch.values()))
        return _as_dict(model.run(x, int8=True, target=target), case)

    # PlatformIO builds of one project must not overlap: one worker per case, targets in turn.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        chains: dict[tuple[str, str], Future[dict[str, np.ndarray]]] = {}

        def chain(name: str) -> None:
            for target in TARGETS:
                try:
                    chains[(name, target)].set_result(run(name, target))
                except BaseException as exc:  # reported by the test of that target
                    chains[(name, target)].set_exception(exc)

        for name in CASES:
            chains.update({(name, target): Future() for target in TARGETS})
        jobs = [pool.submit(chain, name) for name in CASES]
        for job in jobs:
            job.result()
    return chains


CALL = re.compile(r"^\s+(tg_\w+)\(&ctx,")
LAYER_BEGIN = re.compile(r"TG_LAYER_BEGIN\((\d+)\);")


def kernel_calls(model_source: str) -> dict[int, str]:
    """Layer index -> the kernel function its code calls, read from the generated <name>.c (what the
    firmware really calls, whatever the manifest says)."""
    calls: dict[int, str] = {}
    current: int | None = None
    for line in model_source.splitlines():
        begin = LAYER_BEGIN.search(line)
        if begin:
            current = int(begin.group(1))
            continue
        call = CALL.match(line)
        if call and current is not None:
            calls[current] = call.group(1)
            current = None
    return calls




@pytest.mark.parametrize("name", list(CASES))
def test_generator_picks_the_variant(built: dict[str, Future[Built]], name: str) -> None:
    case, model, _, _ = built[name].result()
    calls = kernel_calls((model.out_dir / "lib" / model.name / f"{model.name}.c").read_text())
    picked = {node.outputs[0]: calls.get(index, "") for index, node in enumerate(model.graph.nodes)}
    assert [layer["function"] for layer in model.manifest["layer_list"]] == [
        calls.get(index, "") for index in range(len(model.graph.nodes))], "the manifest names other kernels"
    for output, expected in case.expected.items():
        assert picked[output] == expected, f"{name}: layer {output} calls {picked[output]}, expected {expected}"


@pytest.mark.parametrize("name", ["add", "conv_wide"])
def test_large_adds_take_the_rescale_table(built: dict[str, Future[Built]], name: str) -> None:
    """Adds of 1,024 elements or more whose rescale tg_add_rows_s8 runs get the compiler's table
    (tg_add_params.rescaled), so the firmware tests run that loop too; smaller ones do not."""
    _, model, _, _ = built[name].result()
    code = (model.out_dir / "lib" / model.name / f"{model.name}.c").read_text()
    tables = code.count(".rescaled = ")
    assert tables == (2 if name == "add" else 1), tables


def test_depthwise_channel_tails_run_in_place_and_not(built: dict[str, Future[Built]]) -> None:
    """tg_depthwise_conv_3x3_s8's last group of 1-3 channels has two paths (into its own row of lanes when the
    output is in the input's place, straight into the output otherwise): the depthwise case reaches both."""
    _, model, _, _ = built["depthwise"].result()
    in_place = {entry["layer"] for entry in model.manifest["in_place"]}
    tails = [node.name for node in model.graph.nodes
             if node.op == "depthwise_conv2d" and node.attrs["kernel"] == [3, 3]
             and model.graph.tensors[node.outputs[0]].shape[3] % 4 != 0
             and model.graph.tensors[node.outputs[0]].shape[3] > 4]
    assert {name in in_place for name in tails} == {True, False}, (tails, in_place)


@pytest.mark.parametrize("name", list(CASES))
def test_plain_kernels_equal_golden(built: dict[str, Future[Built]], name: str) -> None:
    case, _, _, outputs = built[name].result()
    for out in case.graph.outputs:
        assert_identical(outputs["golden"][out], outputs["host"][out], f"{name}: host C, layer {out}")


@pytest.mark.parametrize("name,target", RUNS, ids=[f"{n}-{t}" for n, t in RUNS])
def test_firmware_equals_plain_and_golden(built: dict[str, Future[Built]],
                                          firmware_outputs: dict[tuple[str, str], Future[dict[str, np.ndarray]]],
                                          name: str, target: str) -> None:
    case, _, _, outputs = built[name].result()
    got = firmware_outputs[(name, target)].result()
    for out in case.graph.outputs:
        assert_identical(outputs["golden"][out], got[out], f"{name} on {target}: layer {out} ({case.expected[out]})")
        assert_identical(outputs["host"][out], got[out], f"{name} on {target} vs host C: layer {out}")
    values = np.unique(np.concatenate([v.ravel() for v in outputs["golden"].values()]))
    assert values.size >= 16, f"{name}: outputs take only {values.size} distinct values"


@pytest.mark.parametrize("graph,target", [("dsp_cases", "qemu_m4"), ("kernel_cases", "qemu_m4"),
                                          ("dsp_cases", "qemu_m7"), ("dsp_cases", "qemu_m33")])
def test_fully_connected_least_scratch(graph: str, target: str, tmp_path: Path) -> None:
    """The fully connected layers with the least-scratch variant (tg_fully_connected_direct_s8 where K % 4 == 0,
    per tensor and per channel, entering its unrolled loop at any group) and tests/kernels' fully_connected_dsp
    graph (K multiples of 8 / 16 / 128, odd outputs): firmware == host C == golden."""
    from ..kernels.cases import fully_connected_dsp_graph

    source = CASES["fully_connected"](SEED).graph if graph == "dsp_cases" else fully_connected_dsp_graph(2)
    model = write_compiled(source, tmp_path / graph, f"dsp_fc_{graph}", variants="smallest").model
    called = kernel_calls((model.out_dir / "lib" / model.name / f"{model.name}.c").read_text())
    assert "tg_fully_connected_direct_s8" in called.values(), called
    batch = random_batch(np.random.default_rng(200 + SEED), source, SAMPLES)
    x = batch if len(batch) > 1 else next(iter(batch.values()))
    golden, host = model.golden(x, int8=True), model.run(x, int8=True)
    firmware = model.run(x, int8=True, target=target)
    for out in source.outputs:
        assert_identical(golden[out], host[out], f"{graph}: host C, layer {out}")
        assert_identical(golden[out], firmware[out], f"{graph} on {target}: layer {out}")


@pytest.mark.parametrize("target", ["qemu_m4", "qemu_m33"])
def test_few_channels_least_scratch(target: str, tmp_path: Path) -> None:
    """tg_conv_few_channels_s8 with the least scratch (its "pair" mode: one pixel pair's block, pixel pairs
    outer) on the few_channels layers: firmware == host C == golden."""
    source = CASES["few_channels"](SEED).graph
    for node in source.nodes:
        node.attrs["variant"] = "tg_conv_few_channels_s8/pair"
    model = write_compiled(source, tmp_path / "few", "dsp_few_smallest", variants="given").model
    kernels = [layer["kernel"] for layer in model.manifest["layer_list"]]
    assert kernels.count("tg_conv_few_channels_s8/pair") == len(kernels) - 1, kernels  # and the 17-channel im2col
    batch = random_batch(np.random.default_rng(300 + SEED), source, SAMPLES)
    x = batch if len(batch) > 1 else next(iter(batch.values()))
    golden, host = model.golden(x, int8=True), model.run(x, int8=True)
    firmware = model.run(x, int8=True, target=target)
    for out in source.outputs:
        assert_identical(golden[out], host[out], f"few channels: host C, layer {out}")
        assert_identical(golden[out], firmware[out], f"few channels on {target}: layer {out}")
