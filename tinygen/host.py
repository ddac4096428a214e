"""The host simulator: the generated C compiled for this PC and driven from Python.

The generated model, the kernels and a small driver (templates/host_main.c.j2) are compiled
into one executable that runs a whole batch per process: inputs on stdin, outputs on stdout.
Executables are cached by the hash of everything that goes into them, so a rebuild happens only
when the code (or compiler, or flags) changed; the object of each source is cached by its own content
(source, the headers it includes, flags, compiler), so a kernel compiles once for every model that
uses it. `sanitize=True` builds with AddressSanitizer and UndefinedBehaviorSanitizer, as the test
suite does.
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import os
import posixpath
import re
import shutil
import struct
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .errors import BuildError, os_error_text

WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"]
# The generated C and the kernels are clean under clang's -Weverything except for these warnings, which
# do not apply to C99 firmware (tests/test_weverything.py checks it; docs/DESIGN.md lists them):
#   -Wpadded              the parameter structs are ordered for reading, and padding them is harmless;
#   -Wunsafe-buffer-usage clang 16+ flags every pointer offset (a C++ hardening aid), i.e. every kernel loop;
#   -Wunknown-warning-option  so that the list also works with clangs that lack the warning above.
WEVERYTHING_EXCEPT = ["-Wno-padded", "-Wno-unsafe-buffer-usage", "-Wno-unknown-warning-option"]
OPTIMIZED = ["-O2"]
SANITIZED = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
             "-fno-sanitize-recover=all"]


def cache_root() -> Path:
    """The build cache ($TINYGEN_CACHE, else ~/.cache/tinygen); an unusable one is a clear error."""
    root = Path(os.environ.get("TINYGEN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tinygen"))
    try:
        root.mkdir(parents=True, exist_ok=True)
        if not os.access(root, os.W_OK | os.X_OK):
            raise PermissionError(13, "Permission denied", str(root))
    except OSError as exc:
        raise BuildError(f"the build cache folder is not usable: {os_error_text(exc, root)}",
                         hint="Set TINYGEN_CACHE to a writable folder.") from None
    return root


def compiler() -> str:
    cc = os.environ.get("CC", "cc")
    if shutil.which(cc) is None:
        raise BuildError(f"no C compiler: '{cc}' is not on PATH",
                         hint="Install gcc or clang (e.g. apt-get install gcc), or set CC.")
    return cc


def model_sources(out_dir: Path, name: str) -> tuple[list[Path], list[Path]]:
    """(C sources, include folders) of a generated model and its kernel library."""
    model_lib = out_dir / "lib" / name
    kernels = out_dir / "lib" / "tinygen_kernels"
    sources = sorted(model_lib.glob("*.c")) + sorted((kernels / "src").glob("*.c"))
    return sources, [model_lib, kernels / "include"]


def build_executable(out_dir: Path, name: str, driver_source: str, sanitize: bool = False,
                     extra_flags: list[str] | None = None, cc: str | None = None) -> Path:
    cc = cc or compiler()
    sources, includes = model_sources(out_dir, name)
    flags = WARNINGS + (SANITIZED if sanitize else OPTIMIZED) + list(extra_flags or [])
    digest = hashlib.sha256()
    for item in [cc, *flags, driver_source]:
        digest.update(item.encode() + b"\0")
    private = out_dir / "lib" / "tinygen_kernels" / "src"  # the kernels' private headers, src/internal/
    headers = sorted(p for folder in includes for p in folder.glob("*.h")) + sorted(private.rglob("*.h"))
    for source in sources + headers:
        digest.update(source.relative_to(out_dir).as_posix().encode() + b"\0" + source.read_bytes() + b"\0")
    target_dir = cache_root() / "host" / digest.hexdigest()[:24]
    executable = target_dir / f"{name}_host"
    if executable.exists():
        return executable
    # The sources compile to objects shared by every executable (object_files); only the driver is
    # compiled here, at the link.
    objects = object_files(out_dir, sources, includes, cc, flags)
    target_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target_dir) as work:
        driver = Path(work) / "host_main.c"
        driver.write_text(driver_source)
        built = Path(work) / executable.name
        command = [cc, *flags, *[f"-I{inc}" for inc in includes], *map(str, objects), str(driver),
                   "-o", str(built)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(f"compiling the generated C for the host failed:\n{result.stderr.strip()}")
        os.replace(built, executable)
    return executable


_PENDING: dict[Path, concurrent.futures.Future[str | None]] = {}  # objects being compiled, by cache path
_PENDING_LOCK = threading.Lock()
_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)


def included_headers(source: str, files: Mapping[str, bytes], folders: list[str]) -> list[str]:
    """Every header `source` includes with #include "...", transitively, found the way the compiler
    looks: the including file's folder, then `folders` (the -I folders) in order. Paths are POSIX
    paths relative to one root, `files` maps them to their bytes. Conditional includes count too: an
    extra header in a cache key costs at most a needless rebuild."""
    found: list[str] = []
    pending = [source]
    while pending:
        current = pending.pop()
        for include in _INCLUDE.findall(files[current]):
            name = include.decode(errors="replace")
            candidates = (posixpath.normpath(posixpath.join(folder, name))
                          for folder in [posixpath.dirname(current), *folders])
            header = next((c for c in candidates if c in files), None)
            if header is not None and header not in found:
                found.append(header)
                pending.append(header)
    return sorted(found)


@functools.cache
def compiler_identity(cc: str) -> str:
    """The compiler as a cache key: its resolved path, size, mtime and `--version` line (a compiler
    upgraded in place, or a CC pointing elsewhere, gives other objects)."""
    path = os.path.realpath(shutil.which(cc) or cc)
    stat = os.stat(path)
    version = subprocess.run([path, "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    return f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{version}"


def object_files(out_dir: Path, sources: list[Path], includes: list[Path], cc: str, flags: list[str]) -> list[Path]:
    """The objects of `sources` (under out_dir), from the content-keyed object cache
    $TINYGEN_CACHE/host/objects, compiling only the missing ones (in parallel).

    The key is the compiler, the flags, the source's path in the output folder and bytes, and the path and
    bytes of every header it includes: a kernel compiles once for all the models and tests that use the
    same kernel sources, not once per model. Sources compile with paths relative to the output folder, so
    an object does not name the folder that happened to build it first. Each object is written to a
    temporary name and renamed into place, so concurrent builds (pytest workers, two shells) never read
    half an object; two builders of the same key write identical files.
    """
    cache = cache_root() / "host" / "objects"
    cache.mkdir(parents=True, exist_ok=True)
    folders = [inc.relative_to(out_dir).as_posix() for inc in includes]
    files = {path.relative_to(out_dir).as_posix(): path.read_bytes()
             for path in out_dir.glob("lib/*/**/*") if path.suffix in (".c", ".h")}
    identity = compiler_identity(cc)
    objects, missing = [], []
    for source in sources:
        relative = source.relative_to(out_dir).as_posix()
        digest = hashlib.sha256()
        for item in [identity, *flags]:  # the -I folders matter only through the headers found below
            digest.update(item.encode() + b"\0")
        for path in [relative, *included_headers(relative, files, folders)]:
            digest.update(path.encode() + b"\0" + files[path] + b"\0")
        cached = cache / f"{digest.hexdigest()[:32]}.o"
        objects.append(cached)
        if not cached.exists():
            missing.append((source, cached))

    def compile_one(job: tuple[Path, Path]) -> str | None:
        source, cached = job
        # Threads of this process that miss the same object (the kernel tests build dozens of models at
        # once) wait for the one compiling it instead of compiling it again.
        with _PENDING_LOCK:
            pending = _PENDING.get(cached)
            if pending is None:
                mine: concurrent.futures.Future[str | None] = concurrent.futures.Future()
                _PENDING[cached] = mine
        if pending is not None:
            return pending.result()
        try:
            error = None if cached.exists() else compile_object(source, cached)
            mine.set_result(error)
        except BaseException as exc:
            mine.set_exception(exc)
            raise
        finally:
            with _PENDING_LOCK:
                del _PENDING[cached]
        return error

    def compile_object(source: Path, cached: Path) -> str | None:
        staged = cached.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        command = [cc, *flags, *[f"-I{folder}" for folder in folders], "-c", source.relative_to(out_dir).as_posix(),
                   "-o", str(staged)]
        result = subprocess.run(command, cwd=out_dir, capture_output=True, text=True)
        if result.returncode != 0:
            staged.unlink(missing_ok=True)
            return result.stderr.strip()
        os.replace(staged, cached)
        return None

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(len(missing), os.cpu_count() or 1))) as pool:
        errors = [error for error in pool.map(compile_one, missing) if error]
    if errors:
        raise BuildError("compiling the generated C for the host failed:\n" + "\n".join(errors))
    return objects


def run_batch(executable: Path, inputs: list[np.ndarray], outputs: list[dict[str, Any]],
              mode: str = "int8") -> list[np.ndarray]:
    """Run N samples; `inputs[k]` is (N, ...) of the model's k-th input, already in the byte
    layout the mode expects (int8 channels-last, or float32 in the model's layout)."""
    count = inputs[0].shape[0]
    dtype = np.int8 if mode == "int8" else np.float32
    # In int8 mode each tensor moves in its own type: int8, or int16 (16x8 activations).
    per_sample = [np.ascontiguousarray(x, dtype=dtype if mode != "int8" else x.dtype).reshape(count, -1)
                  for x in inputs]
    payload = struct.pack("<I", count) + b"".join(
        b"".join(x[i].tobytes() for x in per_sample) for i in range(count))
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    result = subprocess.run([str(executable), mode], input=payload, capture_output=True, env=env)
    if result.returncode != 0:
        raise BuildError(f"the host simulator failed (exit {result.returncode}):\n"
                         f"{result.stderr.decode(errors='replace').strip()}")
    types = [np.dtype(dtype if mode != "int8" else o.get("dtype", "int8")) for o in outputs]
    sizes = [int(o["size"]) * t.itemsize for o, t in zip(outputs, types, strict=True)]
    expected = count * sum(sizes)
    if len(result.stdout) != expected:
        raise BuildError(f"the host simulator wrote {len(result.stdout)} bytes, expected {expected}")
    flat = np.frombuffer(result.stdout, dtype=np.uint8).reshape(count, sum(sizes))
    results, start = [], 0
    for size, kind in zip(sizes, types, strict=True):
        results.append(flat[:, start:start + size].copy().view(kind))
        start += size
    return results
