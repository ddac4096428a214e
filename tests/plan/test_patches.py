"""Patch-based execution (issue 6, plan/patches.py): the first layers run in row bands, bit-exact
with the unpatched model, on the host (ASan/UBSan) and on the emulated Cortex-M4."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import onnx
import pytest

import tinygen
from tinygen import progress
from tinygen.model import CompiledModel

from ..conftest import MODELS, assert_identical, samples
from ..ops.harness import make_model, node, weights

SHAPE = [1, 3, 23, 20]  # an odd height: bands of unequal rows, a last band with bottom padding


def stem_model(path: Path) -> None:
    """A MobileNet-like stem: conv 3x3 stride 2, depthwise 3x3, pointwise, then a 3x3 conv and the
    head (global pool, 1x1 conv)."""
    rng = np.random.default_rng(3)
    inits: dict[str, np.ndarray] = {}
    nodes: list[onnx.NodeProto] = []

    def conv(name: str, source: str, out: str, cin: int, cout: int, k: int, stride: int = 1, group: int = 1,
             relu: bool = True) -> None:
        inits[f"{name}_w"] = weights(rng, cout, cin // group, k, k)
        inits[f"{name}_b"] = rng.normal(0, 0.2, cout).astype(np.float32)
        nodes.append(node("Conv", [source, f"{name}_w", f"{name}_b"], f"{out}_pre" if relu else out, name=name,
                          kernel_shape=[k, k], strides=[stride, stride], pads=[k // 2] * 4, group=group))
        if relu:
            nodes.append(node("Relu", [f"{out}_pre"], out, name=f"{name}_relu"))

    conv("stem", "x", "a", 3, 8, 3, stride=2)
    conv("dw", "a", "b", 8, 8, 3, group=8)
    conv("pw", "b", "c", 8, 16, 1)
    conv("body", "c", "d", 16, 16, 3, stride=2)
    nodes.append(node("GlobalAveragePool", ["d"], "g", name="pool"))
    conv("head", "g", "y", 16, 4, 1, relu=False)
    onnx.save(make_model(nodes, {"x": SHAPE}, ["y"], inits), path)


@pytest.fixture(scope="module")
def stem(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("stem")
    stem_model(folder / "stem.onnx")
    np.save(folder / "calib.npy", np.random.default_rng(4).normal(0, 1, (16, *SHAPE[1:])).astype(np.float32))
    return folder / "stem.onnx", folder / "calib.npy"


@pytest.fixture(scope="module")
def unpatched(stem: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> CompiledModel:
    return tinygen.compile(stem[0], tmp_path_factory.mktemp("unpatched") / "out", calib=str(stem[1]))


def int8_batch() -> np.ndarray:
    x = np.random.default_rng(8).integers(-128, 128, (6, *SHAPE[1:]), dtype=np.int8)
    x[0], x[1] = -128, 127
    return x


@pytest.mark.parametrize(("layers", "bands"), [(1, 2), (2, 3), (3, 4), (4, 5), (3, 11)])
def test_forced_patches_equal_the_unpatched_model(stem: tuple[Path, Path], unpatched: CompiledModel, tmp_path: Path,
                                                  layers: int, bands: int) -> None:
    model = tinygen.compile(stem[0], tmp_path / "out", calib=str(stem[1]), patches=bands, patch_layers=layers)
    [patch] = model.manifest["patches"]
    print(f"\n{layers} layer(s) in {bands} bands: arena {model.manifest['arena_bytes']:,} B "
          f"(unpatched {unpatched.manifest['arena_bytes']:,} B), {patch['extra_macs']:,} extra MACs")
    assert len(patch["layers"]) == layers and patch["bands"] == bands
    assert patch["patched_macs"] == patch["macs"] + patch["extra_macs"]
    # from the second layer on, the halo rows a 3x3 layer reads are computed by two bands
    assert (patch["extra_macs"] > 0) == (layers > 1)
    assert model.manifest["macs"] == unpatched.manifest["macs"] + patch["extra_macs"]
    # the bands' output rows tile the stage output, in order
    concat = next(n for n in model.graph.nodes if n.op == "row_concat")
    rows = [model.graph.tensors[name].shape[1] for name in concat.inputs]
    assert len(rows) == bands and sum(rows) == model.graph.tensors[concat.outputs[0]].shape[1]
    x = int8_batch()
    expected = unpatched.run(x, int8=True)
    assert_identical(expected, model.golden(x, int8=True), "unpatched host C vs patched golden")
    assert_identical(expected, model.run(x, int8=True, sanitize=True), "unpatched vs patched (host C, ASan/UBSan)")


def test_patched_stem_on_qemu_m4(stem: tuple[Path, Path], unpatched: CompiledModel, tmp_path: Path) -> None:
    model = tinygen.compile(stem[0], tmp_path / "out", calib=str(stem[1]), patches=4, patch_layers=3)
    x = int8_batch()
    assert_identical(unpatched.run(x, int8=True), model.run(x, int8=True, target="qemu_m4"),
                     "unpatched host C vs patched qemu_m4")


@pytest.fixture(scope="module")
def vww_patched(tmp_path_factory: pytest.TempPathFactory) -> CompiledModel:
    """VWW under a 32,000-B budget: even the smallest kernel variants need 38,064 B whole, so the
    compiler patches its first layers (the 27,648-B input itself must exist whole)."""
    source = MODELS / "vww_mobilenet" / "vww_mobilenet_int8_qdq.onnx"
    with progress.reporting(_record):  # what a terminal would see as progress bars (tinygen/progress.py)
        return tinygen.compile(source, tmp_path_factory.mktemp("vww") / "out", ram_budget=32_000)


PROGRESS: list[list] = []  # [label, total, steps advanced] of each task reported


@contextmanager
def _record(label: str, total: int) -> Iterator[Callable[[int], None]]:
    entry = [label, total, 0]
    PROGRESS.append(entry)

    def advance(steps: int) -> None:
        entry[2] += steps

    yield advance


def test_the_patch_search_reports_progress(vww_patched: CompiledModel) -> None:
    """The seconds spent searching band splits are shown (issue 17: no silent waits)."""
    [search] = [entry for entry in PROGRESS if "row-band splits" in entry[0]]
    assert search[1] > 1 and 1 <= search[2] <= search[1]


def test_planning_and_variant_search_report_progress(vww_patched: CompiledModel) -> None:
    """Not only the patch search: scheduling, placement (one step per algorithm, the exact search
    included), the kernel variant search and the stack measurement each report their progress."""
    labels = [entry[0] for entry in PROGRESS]
    for wanted in ("planning: scheduling", "planning: placing", "planning: kernel variant search",
                   "measuring the worst-case stack"):
        entries = [entry for entry in PROGRESS if entry[0].startswith(wanted)]
        assert entries, (wanted, labels)
        assert all(entry[2] <= entry[1] for entry in entries), entries
    # in the order they run: the whole-tensor plan, over budget; the band search; the patched plan
    placing = [i for i, label in enumerate(labels) if label.startswith("planning: placing")]
    search = next(i for i, label in enumerate(labels) if "row-band" in label)
    assert placing[0] < search < placing[-1]
    print(f"\nprogress tasks of the VWW compile under 32,000 B: {labels}")


def test_a_ram_budget_below_the_whole_tensor_plan_chooses_patches(vww_patched: CompiledModel) -> None:
    manifest = vww_patched.manifest
    [patch] = manifest["patches"]
    print(f"\nvww under 32,000 B: arena {manifest['arena_bytes']:,} B, the first {len(patch['layers'])} layers "
          f"in {patch['bands']} bands, {patch['extra_macs']:,} extra MACs ({patch['macs']:,} unpatched)")
    assert manifest["arena_bytes"] <= 32_000
    assert patch["source"] == vww_patched.inputs[0]["name"]
    data = samples("vww_mobilenet")
    ours = vww_patched.run(data["x_int8"], int8=True, sanitize=True)
    assert_identical(data["y_int8"], ours, "vww: TFLite's int8 outputs vs patched host C")


def test_patched_vww_on_qemu_m4(vww_patched: CompiledModel) -> None:
    data = samples("vww_mobilenet")
    assert_identical(data["y_int8"], vww_patched.run(data["x_int8"], int8=True, target="qemu_m4"),
                     "vww: TFLite's int8 outputs vs patched qemu_m4")


def test_report_and_cli_show_the_extra_macs(vww_patched: CompiledModel, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    from tinygen.cli import main

    assert main(["report", str(vww_patched.out_dir), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "patches: the first 4 layer(s) run in" in out and "MACs more than unpatched" in out


def test_forced_patches_on_a_model_without_a_conv_stem_is_a_clear_error(tmp_path: Path,
                                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from tinygen.cli import main

    out = tmp_path / "out"
    model = MODELS / "ad_autoencoder" / "ad_autoencoder_int8_qdq.onnx"
    assert main(["compile", str(model), "-o", str(out), "--patches", "4"]) == 2
    assert not out.exists()
    error = capsys.readouterr().err
    assert "does not start with a chain of convolutions that can run in row bands" in error
    assert "Traceback" not in error
