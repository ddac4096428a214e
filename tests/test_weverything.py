"""Generated C is clean under clang -Weverything minus the short list in tinygen/host.py
(WEVERYTHING_EXCEPT): the model library (weights non-static, so each has an extern declaration
first), the kernels it uses, the harness and the firmware's main.c."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tinygen.host import WEVERYTHING_EXCEPT


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang is not installed (apt-get install clang)")
@pytest.mark.parametrize("name", ["kws_dscnn", "ic_resnet8"])
def test_generated_c_is_clean_under_weverything(mlperf_compiled, tmp_path: Path, name: str) -> None:
    model = mlperf_compiled(name)
    out = model.out_dir
    includes = [f"-I{out / d}" for d in ("lib/tinygen_kernels/include", "lib/tinygen_kernels/src", f"lib/{model.name}",
                                        "lib/tinygen_harness/include", "src")]
    sources = sorted([*(out / "lib").rglob("*.c"), *(out / "src").glob("*.c")])
    assert any(s.name.endswith("_weights.c") for s in sources)
    problems = []
    for source in sources:
        run = subprocess.run(["clang", "-std=c99", "-Weverything", "-Werror", *WEVERYTHING_EXCEPT, *includes, "-c",
                              str(source), "-o", str(tmp_path / "unit.o")], capture_output=True, text=True)
        if run.returncode:
            problems.append(run.stderr)
    assert not problems, "\n".join(problems)[:4000]
