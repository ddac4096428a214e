"""Exporting a compiled model into a firmware project of the user's: CMake, Make, Zephyr or Arduino.

`export(OUT, DIR, fmt)` writes one folder, DIR/<name>/, holding the model's C (header, code,
weights) and only the kernel sources it calls, plus the build glue of the chosen format and a short
README with the integration snippet:

    DIR/<name>/include/    <name>.h and the kernel headers (the public include directory)
    DIR/<name>/src/        <name>.c, <name>_weights.c, the kernel sources and src/internal/
    cmake:    CMakeLists.txt          an add_subdirectory()-able static library target <name>
    make:     tinygen.mk              variables to include: <NAME>_SRCS, <NAME>_INCLUDES, <NAME>_CFLAGS
    zephyr:   zephyr/module.yml, CMakeLists.txt, Kconfig   a Zephyr module (CONFIG_<NAME>)
    arduino:  library.properties, src/ holding everything (Arduino compiles src/ recursively and
              puts only src/ on the include path)

Nothing else in DIR is touched: the subfolder is replaced as a whole, and only when it is missing
or carries the marker file of an earlier export (tinygen_export.json); a folder of the user's at
that path is refused. The target CPU flags (-mcpu, -mfpu, DSP) are left to the enclosing project:
the kernels pick their DSP variants from the compiler's predefined macros (__ARM_FEATURE_DSP).
"""

from __future__ import annotations

import json
from pathlib import Path

from .codegen.render import template_environment
from .errors import TinygenError
from .outdir import write_tree
from .version import __version__

# format -> its build files (templates/export/<format>/<file>.j2)
GLUE = {"cmake": ["CMakeLists.txt"], "make": ["tinygen.mk"],
        "zephyr": ["zephyr/module.yml", "CMakeLists.txt", "Kconfig"], "arduino": ["library.properties"]}
FORMATS = tuple(GLUE)
EXPORT_MARKER = "tinygen_export.json"


def _model_files(out_dir: Path, name: str) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """(headers, sources) of OUT's model and kernel libraries, keyed by path below include/ or src/."""
    model_lib, kernels = out_dir / "lib" / name, out_dir / "lib" / "tinygen_kernels"
    if not model_lib.is_dir() or not kernels.is_dir():
        raise TinygenError(f"{out_dir}: lib/{name}/ or lib/tinygen_kernels/ is missing",
                           hint="Recompile the model with `tinygen compile`.")
    headers = {p.name: p.read_bytes() for p in sorted(model_lib.glob("*.h"))}
    headers.update({p.name: p.read_bytes() for p in sorted((kernels / "include").glob("*.h"))})
    sources = {p.name: p.read_bytes() for p in sorted(model_lib.glob("*.c"))}
    sources.update({str(p.relative_to(kernels / "src")): p.read_bytes()
                    for p in sorted((kernels / "src").rglob("*")) if p.is_file()})
    return headers, sources


def export(out_dir: Path, dest: Path, fmt: str) -> Path:
    """Write OUT's model as a `fmt` library into dest/<name>/; returns that folder."""
    if fmt not in FORMATS:
        raise TinygenError(f"unknown export format '{fmt}'", hint=f"Choose one of: {', '.join(FORMATS)}.")
    manifest_path = out_dir / ".tinygen" / "manifest.json"
    if not manifest_path.is_file():
        raise TinygenError(f"{out_dir}: not a tinygen output folder (no .tinygen/manifest.json)",
                           hint="Pass the folder `tinygen compile -o` wrote.")
    manifest = json.loads(manifest_path.read_text())
    name = manifest["name"]
    headers, sources = _model_files(out_dir, name)
    target = dest / name
    if target.exists() and not (target / EXPORT_MARKER).is_file():
        raise TinygenError(f"{target}: exists and is not a tinygen export; nothing was written",
                           hint="Remove or rename that folder, or export into another folder.")
    if dest.exists() and not dest.is_dir():
        raise TinygenError(f"{dest}: exists and is not a folder")

    arduino = fmt == "arduino"
    files: dict[str, bytes] = {}
    for relative, data in headers.items():
        files[f"src/{relative}" if arduino else f"include/{relative}"] = data
    for relative, data in sources.items():
        files[f"src/{relative}"] = data
    facts = {"name": name, "NAME": name.upper(), "version": __version__, "format": fmt,
             "model_file": manifest.get("model_file", ""), "arena_bytes": manifest.get("arena_bytes"),
             "weights_bytes": manifest.get("weights_bytes"),
             "c_sources": sorted(path for path in files if path.endswith(".c"))}
    env = template_environment()
    for relative in GLUE[fmt]:
        files[relative] = env.get_template(f"export/{fmt}/{relative}.j2").render(**facts).encode()
    files["README.md"] = env.get_template("export/README.md.j2").render(**facts).encode()
    files[EXPORT_MARKER] = (json.dumps({"tinygen_version": __version__, "format": fmt, "model": name,
                                        "model_file": facts["model_file"]}, indent=2) + "\n").encode()
    write_tree(target, files, marker=EXPORT_MARKER)
    return target
