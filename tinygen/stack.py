"""Worst-case stack of a compiled model and of each kernel it calls, measured on a Cortex-M build.

The static arena holds the activations; the call stack is the other RAM a model needs, and it is
not in the arena. It is measured, not estimated: the model's C and the kernel sources in OUT are
compiled with the system arm-none-eabi-gcc and the flags of tinygen's Cortex-M builds (the qemu
platform's -O2 -ffunction-sections, the env's -mcpu/-mfpu), with `-fstack-usage` (each function's
own frame) and `-fcallgraph-info=su` (who calls whom, with those frames). The worst case of a function
is its frame plus the deepest worst case among its callees. Calls through a function pointer (the
fused-Add stages of the convolution blocks) count as the deepest function whose address the sources
take; functions without stack information (memcpy/memset of the C library) count 0 and are listed.
A frame GCC marks "dynamic" (a variable-length array) makes the figure a lower bound, and says so.
GCC gives naked functions (the kernels' whole-loop assembly: tg_conv_pairs, tg_fc_direct_layer) a frame
of 0 bytes, though their own prologue pushes registers and reserves locals; for those the frame is read
from the object's disassembly (naked_frames: the deepest the pushes and `sub sp` of its prologue reach).

Each source's call graph is cached under the build cache by its digest (with the compiler's, the flags'
and that of every header it includes): the kernels compile once for all models (a few seconds), after that only
the model's own .c (0.1 s).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .host import cache_root, compiler_identity, included_headers
from .platformio.envs import Env, env_named

ARM_GCC = "arm-none-eabi-gcc"
BUILD_FLAGS = ["-O2", "-ffunction-sections", "-fdata-sections", "-std=c99"]  # tinygen-qemu's builder
DEFAULT_ENV = "qemu_m4"
INDIRECT = "__indirect_call"
_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "([^"]*)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
_COMMENTS = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"', re.S)
_FRAME = re.compile(r"\\n(\d+) bytes \((\w+(?:,\w+)*)\)")


@dataclass
class StackReport:
    cpu: str
    env: str
    model_bytes: int  # worst case of <name>_run (or the deepest public entry point)
    deepest: list[str]  # the call chain giving it
    kernels: dict[str, int]  # worst case of each kernel function the model calls
    unknown_calls: list[str] = field(default_factory=list)  # callees without stack information
    dynamic: bool = False  # some frame on a path is dynamic: the figures are lower bounds

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def toolchain() -> str | None:
    return shutil.which(ARM_GCC)


def measure(out_dir: Path, name: str, kernel_functions: list[str], env: Env | None = None) -> StackReport | None:
    """The stack figures of a compiled output folder, for `env` (default qemu_m4)."""
    root = Path(out_dir)
    files = {path.relative_to(root).as_posix(): path.read_bytes()
             for folder in (root / "lib" / name, root / "lib" / "tinygen_kernels")
             for path in folder.rglob("*") if path.suffix in (".c", ".h")}
    return measure_files(files, name, kernel_functions, env)


def measure_files(files: dict[str, bytes], name: str, kernel_functions: list[str],
                  env: Env | None = None) -> StackReport | None:
    """The model's and its kernels' worst-case stack from the files of an output folder (relative path ->
    bytes, as the code generator makes them); None without a Cortex-M toolchain or for a non-Arm env."""
    env = env or env_named(DEFAULT_ENV)
    gcc = toolchain()
    if gcc is None or env.cpu is None:
        return None
    model_lib, kernels = f"lib/{name}", "lib/tinygen_kernels"
    sources = sorted(p for p in files
                     if p.endswith(".c") and (p.startswith(f"{kernels}/src/") or p == f"{model_lib}/{name}.c"))
    headers = sorted(p for p in files if p.endswith(".h") and p.startswith((f"{kernels}/", f"{model_lib}/")))
    folders = [f"{kernels}/include", f"{kernels}/src", model_lib]  # the -I folders, in order
    common = hashlib.sha256(json.dumps([compiler_identity(gcc), list(env.flags), BUILD_FLAGS,
                                        "naked frames from the disassembly"]).encode())
    cache = cache_root() / "stack"
    graphs = []
    with tempfile.TemporaryDirectory(prefix="tinygen-stack-") as work:
        for relative in [*sources, *headers]:
            target = Path(work) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(files[relative])
        flags = [*env.flags, *BUILD_FLAGS, *[f"-I{work}/{folder}" for folder in folders]]
        # One compile per source, cached by the digest of the flags, the source and the headers it includes
        # (not every header of the folder: the model's own header differs per model, the kernels do not).
        for relative in sources:
            digest = common.copy()
            for path in [relative, *included_headers(relative, files, folders)]:
                digest.update(path.encode() + b"\0" + files[path] + b"\0")
            cached = cache / f"{digest.hexdigest()[:32]}.ci"
            if not cached.exists():
                run = subprocess.run([gcc, *flags, "-fstack-usage", "-fcallgraph-info=su", "-c", relative,
                                      "-o", "unit.o"], cwd=work, capture_output=True, text=True)
                produced = Path(work) / "unit.ci"
                if run.returncode != 0 or not produced.exists():
                    return None  # the host build reports C errors; the stack figure is informative
                graph = produced.read_text()
                if _ZERO_FRAME.search(graph):
                    disassembly = subprocess.run([objdump_for(gcc), "-d", "unit.o"], cwd=work, capture_output=True,
                                                 text=True).stdout
                    graph = with_frames(graph, naked_frames(disassembly))
                cache.mkdir(parents=True, exist_ok=True)
                staged = cached.with_suffix(f".{os.getpid()}.tmp")
                staged.write_text(graph)
                os.replace(staged, cached)
            graphs.append(cached.read_text())
    texts = [files[path].decode(errors="replace") for path in sources]
    return analyze(graphs, texts, name, kernel_functions, env)


_ZERO_FRAME = re.compile(r'title: "(?:[^"]*:)?([^":]+)" label: "[^"]*\\n0 bytes \(static\)"')
_FUNCTION = re.compile(r"^[0-9a-f]+ <([^>]+)>:$")
_PUSH = re.compile(r"\b(?:push(?:\.w)?|stmdb(?:\.w)?\s+sp!,|vpush)\s*\{([^}]*)\}")
_SUB_SP = re.compile(r"\bsub(?:\.w)?\s+sp,\s*(?:sp,\s*)?#(\d+)")


def objdump_for(gcc: str) -> str:
    """arm-none-eabi-objdump beside arm-none-eabi-gcc."""
    return gcc[: -len("gcc")] + "objdump" if gcc.endswith("gcc") else "arm-none-eabi-objdump"


def _register_count(registers: str) -> int:
    """'r4, r5, r6, lr' -> 4; 'd8-d15' -> 8 (each d register is 2 words: counted in naked_frames)."""
    count = 0
    for part in registers.replace(" ", "").split(","):
        first, _, last = part.partition("-")
        count += int(last[1:]) - int(first[1:]) + 1 if last else 1
    return count


def naked_frames(disassembly: str) -> dict[str, int]:
    """Each function's stack depth reached by its prologue: the bytes pushed (4 per core register, 8 per
    double register) and reserved by `sub sp, #N`, summed up to the first instruction that gives some back
    (a pop, `add sp`, `ldmia sp!`). For functions GCC sees a 0-byte frame in (naked ones)."""
    frames: dict[str, int] = {}
    function, depth, open_ = "", 0, False
    for line in disassembly.splitlines():
        start = _FUNCTION.match(line.strip())
        if start:
            function, depth, open_ = start.group(1), 0, True
            frames[function] = 0
            continue
        if not function or not open_:
            continue
        push, sub = _PUSH.search(line), _SUB_SP.search(line)
        if push:
            depth += _register_count(push.group(1)) * (8 if "{d" in line else 4)
        elif sub:
            depth += int(sub.group(1))
        elif re.search(r"\b(pop|ldmia(\.w)?\s+sp!|add(\.w)?\s+sp,|vpop)", line):
            open_ = False
        frames[function] = max(frames[function], depth)
    return frames


def with_frames(graph: str, frames: dict[str, int]) -> str:
    """The call-graph text with each 0-byte static frame replaced by the disassembly's figure, if larger."""
    def frame(match: re.Match[str]) -> str:
        found = frames.get(match.group(1), 0)
        return match.group(0).replace("\\n0 bytes (static)", f"\\n{found} bytes (static)") if found else match.group(0)
    return _ZERO_FRAME.sub(frame, graph)


def analyze(graphs: list[str], sources: list[str], name: str, kernel_functions: list[str], env: Env) -> StackReport:
    """Worst-case stacks from GCC's call-graph files (.ci, one per source)."""
    frames: dict[str, int] = {}
    dynamic: set[str] = set()
    calls: dict[str, set[str]] = {}
    for text in graphs:
        for title, label in _NODE.findall(text):
            frame = _FRAME.search(label)
            if frame:
                frames[title] = max(frames.get(title, 0), int(frame.group(1)))
                if "dynamic" in frame.group(2):
                    dynamic.add(title)
        for source, target in _EDGE.findall(text):
            calls.setdefault(source, set()).add(target)
    code = _COMMENTS.sub(" ", "\n".join(sources))
    # Functions whose address is taken (named without a call): what a function pointer may reach.
    pointer_targets = {f for f in frames if re.search(rf"\b{re.escape(f)}\b(?!\s*\()", code)}
    unknown: set[str] = set()
    memo: dict[str, tuple[int, list[str], bool]] = {}

    def worst(function: str, active: frozenset[str]) -> tuple[int, list[str], bool]:
        if function in memo:
            return memo[function]
        if function in active:  # recursion: no static bound; the kernels have none
            return 0, [function, "(recursion)"], True
        targets = calls.get(function, set())
        if INDIRECT in targets:
            targets = (targets - {INDIRECT}) | pointer_targets
        best: tuple[int, list[str], bool] = (0, [], False)
        for target in sorted(targets):
            if target not in frames:
                unknown.add(target)
                continue
            candidate = worst(target, active | {function})
            if candidate[0] > best[0]:
                best = candidate
        result = (frames.get(function, 0) + best[0], [function, *best[1]],
                  function in dynamic or best[2])
        memo[function] = result
        return result

    entries = [f for f in (f"{name}_run", f"{name}_run_float", f"{name}_invoke") if f in frames]
    model = max((worst(f, frozenset()) for f in entries), key=lambda r: r[0], default=(0, [], False))
    kernels = {f: worst(f, frozenset())[0] for f in kernel_functions if f in frames}
    return StackReport(env.cpu or "", env.name, model[0], model[1], dict(sorted(kernels.items())),
                       sorted(unknown - {INDIRECT}), model[2] or any(worst(f, frozenset())[2] for f in kernels))


def stack_line(stack: dict[str, Any] | None) -> str | None:
    """'stack  632 B worst case on cortex-m4 (qemu_m4, -O2): tg_conv_im2col_s8 592 B deepest'."""
    if not stack:
        return None
    deepest = max(stack["kernels"].items(), key=lambda item: item[1], default=None)
    bound = " at least" if stack.get("dynamic") else ""
    text = f"{bound} {stack['model_bytes']:,} B worst case on {stack['cpu']} ({stack['env']} flags, -O2)".strip()
    if deepest:
        text += f"; deepest kernel {deepest[0]} {deepest[1]:,} B"
    return text
