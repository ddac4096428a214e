"""The PlatformIO project around a compiled model: platformio.ini, the harness (src/), the
embedded test vectors, the unit tests (test/) and the harness support library.

`project_files()` returns relative path -> bytes, like codegen.render; `tinygen compile` adds
them to the output folder (api.write_compiled) and `tinygen project OUT` rewrites them for an
existing folder (`write_project`). The model and kernel libraries (lib/<name>/,
lib/tinygen_kernels/) come from codegen and are not touched here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .. import arith, reference
from ..errors import TinygenError
from ..ir import Graph, Layout
from ..resources import firmware_dir, templates_dir
from .envs import select

HARNESS_LIBRARY = "tinygen_harness"
MAX_VECTORS = 4  # test vectors embedded in src/ (each is run on every `tinygen flash`)
VECTOR_BYTES = 32 * 1024  # cap on their total size (flash of small boards), at least one sample
FLOAT_TEST_ELEMENTS = 4096  # the float-API unit test embeds sample 0 as float up to this size
RANDOM_SEED = 20240601  # test vectors of a model compiled without samples
GENERATED = ("platformio.ini", "src", "test", f"lib/{HARNESS_LIBRARY}", "platforms")  # what write_project replaces
# tinygen's local dev-platforms travel inside the project (platforms/<name>/), referenced from
# platformio.ini by a path relative to the project (`symlink://platforms/<name>`), so the folder
# still builds after `mv`, `git clone` or on another machine: no absolute path is written.
PLATFORMS = {"host": "tinygen-host", "qemu": "tinygen-qemu"}


def platforms_dir() -> Path:
    return (firmware_dir() / "platforms").resolve()


def platform_files(kinds: set[str]) -> dict[str, bytes]:
    """platforms/<name>/... of the local dev-platforms the project's environments use."""
    files = {}
    for kind in sorted(kinds & PLATFORMS.keys()):
        root = platforms_dir() / PLATFORMS[kind]
        files.update({f"platforms/{PLATFORMS[kind]}/{path.relative_to(root).as_posix()}": path.read_bytes()
                      for path in sorted(root.rglob("*")) if path.is_file() and "__pycache__" not in path.parts})
    return files


def vector_count(available: int, bytes_per_sample: int, limit: int = MAX_VECTORS) -> int:
    count = max(1, min(available, limit))
    while count > 1 and count * bytes_per_sample > VECTOR_BYTES:
        count -= 1
    return count


def quantized_inputs(inputs: list[dict[str, Any]], samples: Mapping[str, np.ndarray],
                     limit: int) -> tuple[list[np.ndarray], str]:
    """int8 inputs (N, size) in tinygen's layout, from the samples kept at compile time (float
    in the model's layout, or already int8), or seeded random int8 data without samples."""
    per_sample = sum(io.get("nbytes", io["size"]) for io in inputs)
    if samples and all(io["name"] in samples for io in inputs):
        available = min(int(np.asarray(samples[io["name"]]).shape[0]) for io in inputs)
        count = vector_count(available, per_sample, limit)
        result = []
        for io in inputs:
            batch = np.asarray(samples[io["name"]])[:count]
            batch = batch.reshape((count, *io["onnx_shape"][1:]))
            dtype = io.get("dtype", "int8")  # int8, or int16 (16x8 activations)
            if batch.dtype.kind == "f":
                batch = arith.quantize_float(batch, io["scale"], io["zero_point"], dtype)
            physical = Layout(io["layout"]).to_physical(batch)
            result.append(np.ascontiguousarray(physical, dtype=dtype).reshape(count, -1))
        return result, f"the first {count} of the samples kept at compile time"
    count = vector_count(limit, per_sample, limit)
    rng = np.random.default_rng(RANDOM_SEED)
    return ([rng.integers(*arith.DTYPE_RANGES[io.get("dtype", "int8")], size=(count, io["size"]), endpoint=True,
                          dtype=io.get("dtype", "int8")) for io in inputs],
            f"seeded random int8 inputs (seed {RANDOM_SEED}), no samples were kept")


def golden_outputs(graph: Graph, inputs: list[dict[str, Any]], quantized: list[np.ndarray]) -> list[np.ndarray]:
    batches = [x.reshape((x.shape[0], *io["shape"][1:])) for io, x in zip(inputs, quantized, strict=True)]
    raw, _ = reference.run(graph, batches)
    return [np.ascontiguousarray(y).reshape(y.shape[0], -1) for y in raw]


def float_vectors(ios: list[dict[str, Any]], sample: list[np.ndarray]) -> list[dict[str, Any]]:
    """Sample 0 dequantized into the model's layout, for the float-API unit test."""
    result = []
    for io, flat in zip(ios, sample, strict=True):
        model_layout = Layout(io["layout"]).to_onnx(flat.reshape(1, -1), tuple(io["onnx_shape"]))
        values = arith.dequantize(model_layout, io["scale"], io["zero_point"]).astype(np.float32)
        result.append({"cname": io["cname"], "size": io["size"], "data": values.ravel()})
    return result


def offsets(buffer: str, ios: list[dict[str, Any]]) -> list[str]:
    """C arguments pointing at each tensor of a sample's tensors stored back to back."""
    result, start = [], 0
    for io in ios:
        ctype = io.get("ctype", "int8_t")
        pointer = f"{buffer} + {start}"
        qualifier = "const " if buffer == "in" else ""
        result.append(pointer if ctype == "int8_t" else  # int16 (16x8 activations): the bytes as int16
                      f"({qualifier}{ctype} *)({qualifier}void *)({pointer})")
        start += io.get("nbytes", io["size"])
    return result


def project_files(graph: Graph, ios: tuple[list[dict[str, Any]], list[dict[str, Any]]], name: str,
                  samples: Mapping[str, np.ndarray] | None, model_file: str, *,
                  boards: Sequence[str] | None = None, vectors: int = MAX_VECTORS) -> dict[str, bytes]:
    """The PlatformIO project files of a compiled model (relative path -> bytes).

    graph: the planned int8 IR; ios: its inputs and outputs as the code generator described them (the
    manifest's "inputs" and "outputs", codegen.render.io_facts); name: the C prefix; samples: inputs kept
    at compile time
    (float in the model's layout, or int8), keyed by input name; boards: env names to emit
    (default: all of envs.ENVS); vectors: how many test vectors to embed at most.
    """
    from ..codegen.render import banner, template_environment

    envs = select(list(boards) if boards else None)
    # Own copies of the descriptions: the test vectors are added to them.
    inputs, outputs = [dict(entry) for entry in ios[0]], [dict(entry) for entry in ios[1]]
    quantized, sources = quantized_inputs(inputs, samples or {}, max(1, vectors))
    golden = golden_outputs(graph, inputs, quantized)
    for io, values in zip(inputs, quantized, strict=True):
        io["vectors"] = values
    for io, values in zip(outputs, golden, strict=True):
        io["vectors"] = values
    count = quantized[0].shape[0]
    small = all(io["size"] <= FLOAT_TEST_ELEMENTS for io in inputs + outputs)
    float_inputs = float_vectors(inputs, [x[0] for x in quantized]) if small else []
    float_outputs = float_vectors(outputs, [y[0] for y in golden]) if small else []
    test_file = f"test/test_{name}/test_main.c"
    context = {
        "banner": banner(model_file),
        "name": name,
        "NAME": name.upper(),
        "inputs": inputs,
        "outputs": outputs,
        "vector_count": count,
        "sources": sources,
        "envs": envs,
        "default_envs": "host" if any(env.name == "host" for env in envs) else envs[0].name,
        "platforms": PLATFORMS,
        "qemu": os.environ.get("TINYGEN_QEMU", "qemu-system-arm"),
        "run_args": ", ".join([f"{name}_test_{io['cname']}[i]" for io in inputs]
                              + [f"output_{io['cname']}" for io in outputs]),
        "inputs_bytes": sum(io.get("nbytes", io["size"]) for io in inputs),
        "outputs_bytes": sum(io.get("nbytes", io["size"]) for io in outputs),
        "batch_args": ", ".join(offsets("in", inputs) + offsets("out", outputs)),
        "float_inputs": float_inputs,
        "float_outputs": float_outputs,
        "float_args": ", ".join([f"float_{io['cname']}" for io in float_inputs]
                                + [f"float_result_{io['cname']}" for io in float_outputs]),
        "test_file": test_file,
    }
    env = template_environment()

    def render(template: str) -> bytes:
        return env.get_template(f"platformio/{template}").render(context).encode()

    files = {
        "platformio.ini": render("platformio.ini.j2"),
        "src/main.c": render("main.c.j2"),
        f"src/{name}_vectors.h": render("vectors.h.j2"),
        f"src/{name}_vectors.c": render("vectors.c.j2"),
        test_file: render("test_main.c.j2"),
        "test/test_custom_runner.py": (templates_dir() / "platformio" / "test_custom_runner.py").read_bytes(),
    }
    files.update(harness_library_files())
    files.update(platform_files({env.kind for env in envs}))
    return files


def harness_library_files() -> dict[str, bytes]:
    root = firmware_dir() / HARNESS_LIBRARY
    return {f"lib/{HARNESS_LIBRARY}/{path.relative_to(root).as_posix()}": path.read_bytes()
            for path in sorted(root.rglob("*")) if path.is_file() and "__pycache__" not in path.parts}


def write_project(out_dir: str | Path, *, boards: Sequence[str] | None = None, vectors: int = MAX_VECTORS) -> list[str]:
    """(Re)write the PlatformIO project files of an existing output folder, atomically: the new
    files are staged beside the folder, then each generated path is swapped in by rename."""
    from ..model import CompiledModel

    model = CompiledModel(out_dir)
    with model.samples() as arrays:
        samples = {key: arrays[key] for key in arrays.files}
    files = project_files(model.graph, (model.inputs, model.outputs), model.name, samples, model.manifest["model_file"],
                          boards=boards,
                          vectors=vectors)
    out = model.out_dir
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.project.", dir=out.resolve().parent))
    retired = Path(tempfile.mkdtemp(prefix=f".{out.name}.retired.", dir=out.resolve().parent))
    swapped: list[str] = []
    try:
        for relative, data in files.items():
            path = staging / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        for top in GENERATED:
            if (out / top).exists():
                (retired / top).parent.mkdir(parents=True, exist_ok=True)
                os.rename(out / top, retired / top)
            swapped.append(top)
            (out / top).parent.mkdir(parents=True, exist_ok=True)
            os.rename(staging / top, out / top)
    except OSError as exc:
        for top in reversed(swapped):  # put the old files back
            if (out / top).exists() and (retired / top).exists():
                shutil.rmtree(out / top) if (out / top).is_dir() else os.remove(out / top)
            if (retired / top).exists():
                os.rename(retired / top, out / top)
        raise TinygenError(f"{out}: could not write the PlatformIO project ({exc})") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(retired, ignore_errors=True)
    return sorted(files)
