"""Helpers of the per-kernel tests: building small C drivers under ASan/UBSan, running them, and
exact comparisons that report the first mismatch together with the inputs that produced it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from tinygen import host
from tinygen.resources import firmware_dir

HERE = Path(__file__).resolve().parent
KERNEL_INCLUDE = firmware_dir() / "tinygen_kernels" / "include"


def build_sanitized(source: Path, out_dir: Path, extra_sources: list[Path] | None = None,
                    includes: list[Path] | None = None) -> Path:
    """Compile a test driver with the simulator's strict warnings and its ASan/UBSan flags
    (tinygen.host.SANITIZED: -fsanitize=address,undefined -fno-sanitize-recover=all)."""
    executable = out_dir / source.stem
    command = [host.compiler(), *host.WARNINGS, *host.SANITIZED, f"-I{KERNEL_INCLUDE}",
               *[f"-I{folder}" for folder in includes or []], str(source), *map(str, extra_sources or []),
               "-o", str(executable)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, f"building {source.name} failed:\n{' '.join(command)}\n{result.stderr}"
    return executable


def run_records(executable: Path, mode: str, records: np.ndarray) -> np.ndarray:
    """Feed int32 records (one row each) to a driver; returns its int32 result per record."""
    records = np.ascontiguousarray(records, dtype=np.int32)
    result = subprocess.run([str(executable), mode], input=records.tobytes(), capture_output=True)
    assert result.returncode == 0, (f"{executable.name} {mode} failed (exit {result.returncode}):\n"
                                    f"{result.stderr.decode(errors='replace')[-4000:]}")
    out = np.frombuffer(result.stdout, dtype=np.int32)
    assert out.size == records.shape[0], f"{executable.name} {mode}: {out.size} results for {records.shape[0]}"
    return out


def assert_same_results(expected: np.ndarray, actual: np.ndarray, inputs: dict[str, np.ndarray],
                        label: str) -> None:
    """Exact comparison of two result vectors; a failure names the first differing record and the
    inputs that produced it."""
    expected = np.asarray(expected, dtype=np.int64)
    actual = np.asarray(actual, dtype=np.int64)
    assert expected.shape == actual.shape, f"{label}: shape {actual.shape} != expected {expected.shape}"
    bad = np.flatnonzero(expected != actual)
    if bad.size:
        i = int(bad[0])
        args = ", ".join(f"{name}={int(values[i])}" for name, values in inputs.items())
        raise AssertionError(f"{label}: {bad.size} of {expected.size} results differ; first at record {i} "
                             f"({args}): expected {int(expected[i])}, got {int(actual[i])}")
