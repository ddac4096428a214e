"""The host build's shared object cache ($TINYGEN_CACHE/host/objects, tinygen/host.py) and the stack
measurement's cache (tinygen/stack.py): a kernel compiles once for every model that uses it, a second
build compiles nothing, and a changed source or header compiles again exactly what includes it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import tinygen
from tinygen import host, stack

from .conftest import assert_identical, model_file, samples

KERNEL_SOURCES = "lib/tinygen_kernels/src/"


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[list[str]]:
    """A fresh build cache, and the compiler commands run from now on (host `cc -c` and Cortex-M ones)."""
    monkeypatch.setenv("TINYGEN_CACHE", str(tmp_path / "cache"))
    commands: list[list[str]] = []
    real = subprocess.run

    def run(command, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(command, list) and "-c" in command:
            commands.append([str(part) for part in command])
        return real(command, *args, **kwargs)
    monkeypatch.setattr(subprocess, "run", run)
    return commands


def compiled_sources(commands: list[list[str]]) -> list[str]:
    return sorted(command[command.index("-c") + 1] for command in commands)


def check(model: tinygen.model.CompiledModel) -> None:
    x = samples("ad_autoencoder")["x"][:4]
    assert_identical(model.golden(x, int8=False), model.run(x, sanitize=True))


def test_objects_are_shared_between_models_and_reused(compiles: list[list[str]], tmp_path: Path) -> None:
    first = tinygen.compile(model_file("ad_autoencoder", "int8_qdq"), tmp_path / "a", name="first")
    compiles.clear()  # the stack measurement's Cortex-M compiles (test_stack_compiles_each_kernel_once)
    check(first)
    kernels = sorted(f"{KERNEL_SOURCES}{p.name}" for p in (first.out_dir / KERNEL_SOURCES).glob("*.c"))
    model = sorted(f"lib/first/{p.name}" for p in (first.out_dir / "lib" / "first").glob("*.c"))
    assert kernels and compiled_sources(compiles) == sorted(model + kernels)

    # Another model using the same kernels: only its own sources compile.
    second = tinygen.compile(model_file("ad_autoencoder", "int8_qdq"), tmp_path / "b", name="second")
    compiles.clear()
    check(second)
    assert compiled_sources(compiles) == sorted(f"lib/second/{p.name}"
                                                for p in (second.out_dir / "lib" / "second").glob("*.c"))

    # The executable gone, the objects kept: the rebuild links and compiles nothing.
    executable = second.host_executable(sanitize=True)
    shutil.rmtree(executable.parent)
    compiles.clear()
    check(second)
    assert compiles == [] and executable.exists()


def test_a_changed_source_or_header_compiles_again_what_includes_it(compiles: list[list[str]],
                                                                    tmp_path: Path) -> None:
    model = tinygen.compile(model_file("ad_autoencoder", "int8_qdq"), tmp_path / "m", name="m")
    check(model)
    sources = {p.name: p for p in (model.out_dir / KERNEL_SOURCES).glob("*.c")}
    changed = sources["tg_fully_connected_s8.c"]
    changed.write_bytes(changed.read_bytes() + b"\n/* changed */\n")
    compiles.clear()
    check(model)
    assert compiled_sources(compiles) == [f"{KERNEL_SOURCES}{changed.name}"]

    # A header: every source including it (directly or through another header), and only those.
    header = model.out_dir / "lib" / "tinygen_kernels" / "include" / "tg_requant.h"
    files = {p.relative_to(model.out_dir).as_posix(): p.read_bytes()
             for p in model.out_dir.glob("lib/*/**/*") if p.suffix in (".c", ".h")}
    folders = ["lib/tinygen_kernels/include", "lib/m"]
    including = sorted(path for path in files if path.endswith(".c")
                       and "lib/tinygen_kernels/include/tg_requant.h" in host.included_headers(path, files, folders))
    assert including and len(including) < len([p for p in files if p.endswith(".c")])
    header.write_bytes(header.read_bytes() + b"\n/* changed */\n")
    compiles.clear()
    check(model)
    assert compiled_sources(compiles) == including


def test_a_changed_flag_or_compiler_gives_other_objects(compiles: list[list[str]], tmp_path: Path) -> None:
    model = tinygen.compile(model_file("ad_autoencoder", "int8_qdq"), tmp_path / "m", name="m")
    sources, includes = host.model_sources(model.out_dir, "m")
    compiles.clear()
    plain = host.object_files(model.out_dir, sources, includes, host.compiler(), host.WARNINGS + host.OPTIMIZED)
    assert len(compiles) == len(sources)
    again = host.object_files(model.out_dir, sources, includes, host.compiler(), host.WARNINGS + host.OPTIMIZED)
    assert again == plain and len(compiles) == len(sources)
    other = host.object_files(model.out_dir, sources, includes, host.compiler(), [*host.WARNINGS, "-O1"])
    assert not set(other) & set(plain) and len(compiles) == 2 * len(sources)
    if shutil.which("clang") and shutil.which("gcc"):
        objects = {cc: host.object_files(model.out_dir, sources, includes, cc, host.WARNINGS + host.OPTIMIZED)
                   for cc in ("gcc", "clang")}
        assert not set(objects["gcc"]) & set(objects["clang"])


@pytest.mark.skipif(stack.toolchain() is None, reason="arm-none-eabi-gcc is installed by `make setup`")
def test_stack_compiles_each_kernel_once(compiles: list[list[str]], tmp_path: Path) -> None:
    """The stack cache is keyed by what each source includes, not by every header of the output folder:
    the model's own header differs per model, so keying on it compiled every kernel again per model."""
    first = tinygen.compile(model_file("ad_autoencoder", "int8_qdq"), tmp_path / "a", name="first")
    arm = [c for c in compiles if Path(c[0]).name == stack.ARM_GCC]
    assert len(arm) == len(list((first.out_dir / KERNEL_SOURCES).glob("*.c"))) + 1  # kernels and first.c
    compiles.clear()
    second = tinygen.compile(model_file("ad_autoencoder", "int8_qdq"), tmp_path / "b", name="second")
    assert compiled_sources(compiles) == ["lib/second/second.c"]
    kernels = ["tg_fully_connected_s8"]
    reports = [stack.measure(model.out_dir, name, kernels) for model, name in ((first, "first"), (second, "second"))]
    assert compiled_sources(compiles) == ["lib/second/second.c"]  # both from the cache
    assert reports[0] and reports[1] and reports[0].model_bytes == reports[1].model_bytes > 0
    assert reports[0].kernels == reports[1].kernels and reports[0].kernels["tg_fully_connected_s8"] > 0
