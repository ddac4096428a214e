"""`tinygen export OUT DIR --as cmake|make|zephyr|arduino` (issue 17): the KWS model exported in each
format is built the way a firmware project would build it, and the programs linked against it give
the golden reference's bytes: on the host (gcc) and on an emulated Cortex-M4 (arm-none-eabi-gcc,
QEMU mps2-an386) for CMake and Make; the Arduino library is compiled as the Arduino core would
(sources with arm-none-eabi-gcc, a C++ sketch with arm-none-eabi-g++); the Zephyr module's files
are checked and the sources its CMakeLists lists are built. An export never touches anything of
the user's, and with TINYGEN_NO_STATIC_ARENA a firmware that brings its own arena links none."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

import tinygen
from tinygen.errors import TinygenError
from tinygen.export import export
from tinygen.resources import firmware_dir

from .conftest import assert_identical, model_file, samples

SUPPORT = firmware_dir() / "platforms" / "tinygen-qemu" / "support"
M4 = ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]
needs_arm = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
                               reason="arm-none-eabi-gcc and qemu-system-arm are installed by `make setup`")


@pytest.fixture(scope="module")
def kws(tmp_path_factory: pytest.TempPathFactory) -> tuple[tinygen.model.CompiledModel, np.ndarray, np.ndarray]:
    out = tmp_path_factory.mktemp("export") / "kws_out"
    model = tinygen.compile(model_file("kws_dscnn", "int8_qdq"), out, name="kws")
    x = model.quantize(model.inputs[0], samples("kws_dscnn")["x"][:1])
    golden = model.golden(x, int8=True)
    assert isinstance(golden, np.ndarray)
    # the C API's int8 tensors are channels-last: the bytes a firmware passes and gets back
    return model, model.to_storage(model.inputs[0], x), model.to_storage(model.outputs[0], golden)


def _app(folder: Path, x: np.ndarray, output_size: int, own_arena: bool = False) -> Path:
    """main.c: run the model on the embedded input and print the output bytes as one line."""
    values = ", ".join(str(int(v)) for v in x.reshape(-1))
    run = ("static union { int64_t a; int8_t b[KWS_ARENA_SIZE]; } arena;\n"
           "    kws_run_with_arena(arena.b, input, output);" if own_arena else "kws_run(input, output);")
    source = folder / "main.c"
    source.write_text(f"""#include <stdint.h>
#include <stdio.h>
#include "kws.h"

static const int8_t input[{x.size}] = {{{values}}};
static int8_t output[{output_size}];

int main(void)
{{
    {run}
    for (int i = 0; i < {output_size}; i++) printf("%d ", output[i]);
    printf("\\n");
    return 0;
}}
""")
    return source


def _printed(text: str, expected: np.ndarray, label: str) -> None:
    line = text.strip().splitlines()[-1]
    got = np.array([int(v) for v in line.split()], dtype=np.int8)
    assert_identical(expected.reshape(-1), got, label)


def _qemu(elf: Path) -> str:
    result = subprocess.run(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial",
                             "none", "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


ARM_LINK = [*M4, "-O2", "--specs=rdimon.specs", "-nostartfiles", "-Wl,--gc-sections", f"-L{SUPPORT}",
            f"-T{SUPPORT / 'mps2_flash0.ld'}"]


def _cmake(tmp: Path, lib: Path, x: np.ndarray, output_size: int, toolchain: Path | None) -> Path:
    project = tmp / "cmake_app"
    project.mkdir()
    _app(project, x, output_size)
    startup = f"{SUPPORT / 'startup_mps2.c'}" if toolchain else ""
    link = ("target_link_options(app PRIVATE " + " ".join(ARM_LINK) + ")\n"
            "target_link_libraries(app PRIVATE m)\n") if toolchain else ""
    (project / "CMakeLists.txt").write_text(f"""cmake_minimum_required(VERSION 3.13)
project(app C)
add_subdirectory({lib} kws)
add_executable(app main.c {startup})
target_link_libraries(app PRIVATE kws)
{link}""")
    args = ["cmake", "-S", str(project), "-B", str(project / "build"), "-DCMAKE_BUILD_TYPE=Release"]
    if toolchain:
        args.append(f"-DCMAKE_TOOLCHAIN_FILE={toolchain}")
    subprocess.run(args, check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(project / "build")], check=True, capture_output=True)
    return project / "build" / "app"


def test_cmake_export_builds_on_the_host_and_gives_the_golden_bytes(kws, tmp_path: Path) -> None:
    model, x, golden = kws
    lib = export(model.out_dir, tmp_path / "third_party", "cmake")
    app = _cmake(tmp_path, lib, x, golden.size, None)
    _printed(subprocess.run([str(app)], capture_output=True, text=True, check=True).stdout, golden,
             "CMake host build vs golden")


@needs_arm
def test_cmake_export_cross_compiles_and_gives_the_golden_bytes_in_qemu(kws, tmp_path: Path) -> None:
    model, x, golden = kws
    lib = export(model.out_dir, tmp_path / "third_party", "cmake")
    toolchain = tmp_path / "arm.cmake"
    toolchain.write_text(f"""set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_C_FLAGS_INIT "{' '.join(M4)}")
""")
    _printed(_qemu(_cmake(tmp_path, lib, x, golden.size, toolchain)), golden, "CMake Cortex-M4 build vs golden")


def _make(tmp: Path, lib: Path, x: np.ndarray, output_size: int, arm: bool) -> Path:
    project = tmp / ("make_arm" if arm else "make_host")
    project.mkdir()
    _app(project, x, output_size)
    cc, flags, link = ("arm-none-eabi-gcc", " ".join(M4) + " -O2",
                       " ".join(ARM_LINK) + f" {SUPPORT / 'startup_mps2.c'} -lm") if arm else ("gcc", "-O2", "")
    (project / "Makefile").write_text(f"""include {lib}/tinygen.mk
SRCS := main.c $(KWS_SRCS)
CFLAGS := {flags} $(KWS_CFLAGS)
app: $(SRCS)
\t{cc} $(CFLAGS) $(SRCS) {link} -o $@
""")
    subprocess.run(["make", "-C", str(project)], check=True, capture_output=True)
    return project / "app"


@pytest.mark.parametrize("arm", [False, pytest.param(True, marks=needs_arm)], ids=["host", "cortex-m4"])
def test_make_export_gives_the_golden_bytes(kws, tmp_path: Path, arm: bool) -> None:
    model, x, golden = kws
    lib = export(model.out_dir, tmp_path / "vendor", "make")
    app = _make(tmp_path, lib, x, golden.size, arm)
    text = _qemu(app) if arm else subprocess.run([str(app)], capture_output=True, text=True, check=True).stdout
    _printed(text, golden, f"Make {'Cortex-M4' if arm else 'host'} build vs golden")


def _properties(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


@needs_arm
def test_arduino_library_layout_and_build(kws, tmp_path: Path) -> None:
    """The checks arduino-lint makes of a 1.5-format library, then the build the Arduino core does:
    every source below src/ compiled with src/ on the include path, a C++ sketch including the
    model's header, all linked."""
    model, x, golden = kws
    lib = export(model.out_dir, tmp_path / "libraries", "arduino")
    props = _properties(lib / "library.properties")
    for field in ("name", "version", "author", "maintainer", "sentence", "paragraph", "category", "architectures"):
        assert props.get(field), f"library.properties lacks {field}"
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 _.\-]*", props["name"]) and props["name"] == lib.name
    assert re.fullmatch(r"\d+\.\d+\.\d+", props["version"])
    assert props["category"] in {"Display", "Communication", "Signal Input/Output", "Sensors", "Device Control",
                                 "Timing", "Data Storage", "Data Processing", "Other"}
    assert (lib / "src" / props["includes"]).is_file() and not (lib / "include").exists()
    sketch = tmp_path / "sketch.cpp"
    sketch.write_text(f"""#include "kws.h"
static int8_t input[{x.size}];
static int8_t output[{golden.size}];
int main() {{ return kws_run(input, output); }}
""")
    objects = []
    for source in sorted((lib / "src").rglob("*.c")):
        objects.append(tmp_path / f"{source.stem}.o")
        subprocess.run(["arm-none-eabi-gcc", *M4, "-Os", "-c", f"-I{lib / 'src'}", str(source), "-o",
                        str(objects[-1])], check=True, capture_output=True)
    subprocess.run(["arm-none-eabi-g++", *M4, "-Os", "-fno-exceptions", "-fno-rtti", f"-I{lib / 'src'}",
                    str(sketch), *map(str, objects), "--specs=nosys.specs", "-o", str(tmp_path / "sketch.elf")],
                   check=True, capture_output=True)


def test_zephyr_module_files_and_sources(kws, tmp_path: Path) -> None:
    model, _, _ = kws
    lib = export(model.out_dir, tmp_path / "modules", "zephyr")
    module = yaml.safe_load((lib / "zephyr" / "module.yml").read_text())
    assert module["name"] == "kws"
    assert (lib / module["build"]["cmake"] / "CMakeLists.txt").is_file()
    assert (lib / module["build"]["kconfig"]).is_file()
    kconfig = (lib / "Kconfig").read_text()
    assert "config KWS\n" in kconfig and "config KWS_NO_STATIC_ARENA\n" in kconfig
    cmake = (lib / "CMakeLists.txt").read_text()
    assert "if(CONFIG_KWS)" in cmake and "zephyr_library()" in cmake
    sources = re.search(r"zephyr_library_sources\((.*?)\)", cmake, re.S)
    assert sources is not None
    listed = sources.group(1).split()
    assert sorted(listed) == sorted(str(p.relative_to(lib)) for p in lib.rglob("*.c"))
    # Zephyr itself is not installed here: build what its CMake would, the listed sources.
    for source in listed:
        subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-c", f"-I{lib / 'include'}",
                        f"-I{lib / 'src'}", str(lib / source), "-o", str(tmp_path / "x.o")], check=True)


def test_export_only_writes_its_own_folder(kws, tmp_path: Path) -> None:
    model, _, _ = kws
    project = tmp_path / "fw"
    (project / "kws").mkdir(parents=True)
    (project / "kws" / "main.c").write_text("user code\n")
    (project / "main.c").write_text("user code\n")
    with pytest.raises(TinygenError, match="not a tinygen export"):
        export(model.out_dir, project, "cmake")
    assert (project / "kws" / "main.c").read_text() == "user code\n"
    shutil.rmtree(project / "kws")
    first = export(model.out_dir, project, "cmake")
    second = export(model.out_dir, project, "make")  # an earlier export is replaced as a whole
    assert first == second and (second / "tinygen.mk").is_file() and not (second / "CMakeLists.txt").exists()
    assert (project / "main.c").read_text() == "user code\n"
    assert sorted(p.name for p in project.iterdir()) == ["kws", "main.c"]  # no staging leftovers


@needs_arm
def test_own_arena_links_no_static_arena(kws, tmp_path: Path) -> None:
    """A --gc-sections Cortex-M4 link that calls only kws_run_with_arena: with TINYGEN_NO_STATIC_ARENA
    its .bss holds the firmware's own arena and not the model's static one as well."""
    model, x, golden = kws
    lib = export(model.out_dir, tmp_path / "vendor", "make")
    arena = model.manifest["arena_bytes"]
    sizes = {}
    for macro in ("", "-DTINYGEN_NO_STATIC_ARENA"):
        folder = tmp_path / f"own{len(macro)}"
        folder.mkdir()
        main = _app(folder, x, golden.size, own_arena=True)
        sources = [str(main), *sorted(str(p) for p in (lib / "src").glob("*.c")), str(SUPPORT / "startup_mps2.c")]
        elf = folder / "app.elf"
        defines = [macro] if macro else []
        subprocess.run(["arm-none-eabi-gcc", *M4, "-O2", "-ffunction-sections", "-fdata-sections", *defines,
                        f"-I{lib / 'include'}", f"-I{lib / 'src'}", *sources, *ARM_LINK[5:], "-lm", "-o", str(elf)],
                       check=True, capture_output=True)
        _printed(_qemu(elf), golden, f"own arena {macro or '(static arena present)'}")
        out = subprocess.run(["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True, check=True).stdout
        sizes[macro] = int(re.search(r"^\.bss\s+(\d+)", out, re.M).group(1))  # type: ignore[union-attr]
    print(f".bss with the static arena linked: {sizes['']} B; with TINYGEN_NO_STATIC_ARENA: "
          f"{sizes['-DTINYGEN_NO_STATIC_ARENA']} B (arena {arena} B)")
    assert sizes[""] - sizes["-DTINYGEN_NO_STATIC_ARENA"] >= arena


def test_compile_as_writes_the_same_library_as_export(kws, tmp_path: Path, tinygen_cli) -> None:
    """`compile --as FMT -o DIR` takes the export's path: DIR/<name>/ as `tinygen export` writes it (same
    files, byte for byte), nothing of the user's touched, with or without --force."""
    from tinygen.commands.common import EXPORT_FORMATS
    from tinygen.export import FORMATS

    assert tuple(EXPORT_FORMATS) == FORMATS
    model, _, _ = kws
    project = tmp_path / "fw"
    project.mkdir()
    (project / "main.c").write_text("user code\n")
    source = model_file("kws_dscnn", "int8_qdq")
    for fmt in FORMATS:
        result = tinygen_cli("compile", source, "-o", project, "--name", "kws", "--as", fmt, "--force")
        assert result.code == 0, result.err
        assert f"exported      {fmt} library in {project / 'kws'}" in result.out
        assert "--force does not apply with --as" in result.err
        reference = export(model.out_dir, tmp_path / f"reference_{fmt}", fmt)
        ours = {p.relative_to(project / "kws"): p.read_bytes() for p in (project / "kws").rglob("*") if p.is_file()}
        theirs = {p.relative_to(reference): p.read_bytes() for p in reference.rglob("*") if p.is_file()}
        assert ours.keys() == theirs.keys()
        differing = [str(path) for path in ours if ours[path] != theirs[path]]
        assert differing == [], differing  # same model, same bytes (the marker names the same source file)
        assert sorted(p.name for p in project.iterdir()) == ["kws", "main.c"]
        assert (project / "main.c").read_text() == "user code\n"
    (project / "other").mkdir()
    (project / "other" / "mine.c").write_text("mine\n")
    refused = tinygen_cli("compile", source, "-o", project, "--name", "other", "--as", "cmake", "--force")
    assert refused.code == 2 and "not a tinygen export; nothing was written" in refused.err
    assert (project / "other" / "mine.c").read_text() == "mine\n"


def test_run_float_with_arena_links_no_static_arena(kws, tmp_path: Path) -> None:
    """<name>_run_float_with_arena on the firmware's own arena, built with TINYGEN_NO_STATIC_ARENA (host gcc,
    -Wall -Werror): no static arena symbol is linked, and the float outputs equal those of <name>_run_float
    through the host simulator, bit for bit."""
    model, _, _ = kws
    lib = export(model.out_dir, tmp_path / "vendor", "make")
    x = samples("kws_dscnn")["x"][:1].astype(np.float32)
    values = ", ".join(float(v).hex() for v in x.reshape(-1))
    main = tmp_path / "main.c"
    main.write_text(f"""#include <stdint.h>
#include <stdio.h>
#include "kws.h"

static const float input[{x.size}] = {{{values}}};
static float output[12];
static union {{ int64_t align; int8_t bytes[KWS_ARENA_SIZE]; }} arena;

int main(void)
{{
    if (kws_run_float_with_arena(arena.bytes, input, output) != 0) return 1;
    for (int i = 0; i < 12; i++) printf("%a ", (double)output[i]);
    printf("\\n");
    return 0;
}}
""")
    app = tmp_path / "app"
    sources = [str(main), *sorted(str(p) for p in (lib / "src").glob("*.c"))]
    subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-DTINYGEN_NO_STATIC_ARENA",
                    f"-I{lib / 'include'}", f"-I{lib / 'src'}", *sources, "-lm", "-o", str(app)],
                   check=True, capture_output=True)
    symbols = subprocess.run(["nm", str(app)], capture_output=True, text=True, check=True).stdout
    assert "static_arena" not in symbols
    printed = subprocess.run([str(app)], capture_output=True, text=True, check=True).stdout.split()
    ours = np.array([float.fromhex(v) for v in printed], np.float32)
    expected = np.asarray(model.run_float_api(x), np.float32).reshape(-1)
    assert_identical(expected, ours, "kws_run_float_with_arena (own arena) vs kws_run_float")
