"""The generated PlatformIO project without building it: files, determinism, `tinygen project`,
and the parsers of link maps and harness output."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest

from tinygen.platformio import core, envs, project
from tinygen.platformio.qemu import parse_harness
from tinygen.platformio.size import parse_map

from .conftest import compile_case


@pytest.fixture(scope="module")
def kws(tmp_path_factory: pytest.TempPathFactory):
    return compile_case(tmp_path_factory.mktemp("project"), "kws_dscnn", "kws_dscnn_float", True)


def ini_envs(out: Path) -> list[str]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(out / "platformio.ini")
    return [s[4:] for s in parser.sections() if s.startswith("env:")]


def test_compile_writes_a_complete_platformio_project(kws) -> None:
    out, name = kws.out_dir, kws.name
    for path in ["platformio.ini", "src/main.c", f"src/{name}_vectors.c", f"src/{name}_vectors.h",
                 "test/test_custom_runner.py", f"test/test_{name}/test_main.c", f"lib/{name}/library.json",
                 "lib/tinygen_kernels/library.json", "lib/tinygen_harness/library.json"]:
        assert (out / path).is_file(), path
    assert ini_envs(out) == list(envs.ENVS)
    ini = (out / "platformio.ini").read_text()
    assert "platform = symlink://platforms/tinygen-qemu" in ini and str(Path.cwd()) not in ini
    assert (out / "platforms" / "tinygen-qemu" / "platform.json").is_file()
    assert "board = mps2_an386" in ini and "platform = ststm32" in ini and "framework = arduino" in ini
    assert f"#define {name.upper()}_TEST_VECTORS 4" in (out / f"src/{name}_vectors.h").read_text()


def test_project_files_are_deterministic(kws) -> None:
    with kws.samples() as data:
        samples = {key: data[key] for key in data.files}
    first = project.project_files(kws.graph, (kws.inputs, kws.outputs), kws.name, samples, "kws_dscnn_float.onnx")
    second = project.project_files(kws.graph, (kws.inputs, kws.outputs), kws.name, samples, "kws_dscnn_float.onnx")
    assert first == second
    assert first["platformio.ini"] == (kws.out_dir / "platformio.ini").read_bytes()


def test_project_command_rewrites_the_chosen_envs(kws, tinygen_cli) -> None:
    model_c = (kws.out_dir / f"lib/{kws.name}/{kws.name}.c").read_bytes()
    result = tinygen_cli("project", kws.out_dir, "--board", "qemu_m4", "--board", "host", "--vectors", "2")
    assert result.code == 0, result.err
    assert ini_envs(kws.out_dir) == ["host", "qemu_m4"]
    assert f"{kws.name.upper()}_TEST_VECTORS 2" in (kws.out_dir / f"src/{kws.name}_vectors.h").read_text()
    assert (kws.out_dir / f"lib/{kws.name}/{kws.name}.c").read_bytes() == model_c
    assert not list(kws.out_dir.parent.glob(".*.project.*")) and not list(kws.out_dir.parent.glob(".*.retired.*"))
    assert tinygen_cli("project", kws.out_dir).code == 0  # back to every env, 4 vectors
    assert ini_envs(kws.out_dir) == list(envs.ENVS)
    assert tinygen_cli("project", kws.out_dir, "--board", "no_such_board").code == 2


def test_vectors_are_capped_by_size() -> None:
    assert project.vector_count(16, 490 + 12) == 4
    assert project.vector_count(16, 27648 + 2) == 1  # vww: one 96x96x3 input fits the 32 KiB budget
    assert project.vector_count(16, 3072 + 10) == 4
    assert project.vector_count(2, 100) == 2


def test_boards_lists_every_env_with_ram_and_flash(tinygen_cli) -> None:
    result = tinygen_cli("boards")
    assert result.code == 0
    for name in envs.ENVS:
        assert name in result.out
    assert "128 KiB  512 KiB" in result.out  # nucleo_f446re
    assert "-mfloat-abi=hard" in result.out


def test_env_table_flags() -> None:
    assert envs.ENVS["qemu_m4"].instructions_per_tick == 40 and envs.ENVS["qemu_m33"].instructions_per_tick == 50
    assert not envs.ENVS["pico"].dsp and envs.ENVS["nucleo_h743zi"].dsp
    assert envs.local_twin(envs.ENVS["pico"]) == ("mps2_an385", "")
    assert envs.local_twin(envs.ENVS["nano33ble"]) == ("mps2_an386", "-mfpu=fpv4-sp-d16 -mfloat-abi=softfp")


def test_tool_scons_version_matches_platformio() -> None:
    import SCons
    import semantic_version

    assert core.scons_tool_version("4.11.1") == "4.41101.0"
    version = core.scons_tool_version(SCons.__version__)
    assert semantic_version.SimpleSpec(core.required_scons()).match(semantic_version.Version(version))


def test_platformio_runs_quietly_in_tinygen_core(pio_core: Path) -> None:
    env = core.pio_environment()
    assert env["PLATFORMIO_CORE_DIR"] == str(pio_core)
    assert env["PLATFORMIO_DISABLE_UPGRADE_CHECK"] == "true"
    assert env["PLATFORMIO_SETTING_ENABLE_TELEMETRY"] == "no"


MAP = """
Memory Configuration
Linker script and memory map

.text           0x00000000      0x200
 .vectors       0x00000000       0x40 .pio/build/qemu_m4/tinygen_support/startup_mps2.o
 .text.main     0x00000040       0x20 .pio/build/qemu_m4/src/main.o
 .text.a_really_long_section_name_that_wraps
                0x00000060      0x100 .pio/build/qemu_m4/lib972/libkws.a(kws.o)
 .rodata        0x00000160       0x80 .pio/build/qemu_m4/lib90a/libtinygen_kernels.a(tg_conv_s8.o)
 *fill*         0x000001e0       0x20
.data           0x20000000       0x10 load address 0x00000200
 .data          0x20000000       0x10 .pio/build/qemu_m4/lib5f2/libtinygen_harness.a(tg_harness.o)
.bss            0x20000010      0x410
 .bss.arena     0x20000010      0x400 .pio/build/qemu_m4/lib972/libkws.a(kws.o)
 COMMON         0x20000410       0x10 /usr/lib/libc.a(lib_a-impure.o)
.debug_info     0x00000000     0x9999
 .debug_info    0x00000000     0x9999 .pio/build/qemu_m4/src/main.o
"""


def test_link_map_is_split_by_component() -> None:
    report = parse_map(MAP, "kws", "qemu_m4")
    assert report.flash == {"model": 0x100, "kernels": 0x80, "harness": 0x20 + 0x10, "system": 0x40 + 0x20}
    assert report.ram == {"model": 0x400, "kernels": 0, "harness": 0x10, "system": 0x10}
    assert report.flash_total == 0x200 + 0x10 and report.ram_total == 0x10 + 0x410


def test_harness_output_is_parsed() -> None:
    text = ("TG_BEGIN model=m samples=2 layers=2 counter=instructions\n"
            "TG_SAMPLE index=0 status=PASS instructions=1000\nTG_SAMPLE index=1 status=PASS instructions=1040\n"
            "TG_LAYER index=0 instructions=600\nTG_LAYER index=1 instructions=400\n"
            "TG_RESULT status=PASS samples=2 failed=0 instructions=1020\nPASS\n")
    result = parse_harness(text)
    assert result.passed and result.per_inference == 1020 and result.sample_counts == [1000, 1040]
    assert result.layers == {0: 600, 1: 400}
    assert not parse_harness("TG_BEGIN model=m samples=1 layers=1 counter=none\n"
                             "TG_MISMATCH sample=0 output=output index=3 expected=1 got=2\n"
                             "TG_RESULT status=FAIL samples=1 failed=1\nFAIL\n").passed


def test_a_moved_project_builds(kws, tinygen_cli, tmp_path: Path) -> None:
    """No absolute path in the project: a copy moved elsewhere (its .pio build folder left behind,
    as `git clone` would) builds its host environment and passes its unit tests there."""
    import shutil

    moved = tmp_path / "elsewhere" / "project"
    shutil.copytree(kws.out_dir, moved, ignore=shutil.ignore_patterns(".pio"))
    result = tinygen_cli("test", moved, "-e", "host")
    assert result.code == 0, result.out + result.err
