"""A compiled model on disk (an output folder), usable from Python: run it on the host
simulator, run its golden reference, convert between the model's layout and tinygen's."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from . import arith, host, progress, reference
from .errors import DataError, TinygenError
from .ir import Graph, Layout
from .outdir import MARKER
from .quantize.calibrate import validate_batch
from .serialize import graph_from_files

Arrays = np.ndarray | dict[str, np.ndarray]
HOST_CHUNK = 256  # samples per host-simulator process (a progress step)
GOLDEN_CHUNK = 16  # samples per golden-reference progress step


def _in_chunks(label: str, inputs: list[np.ndarray], run: Callable[[list[np.ndarray]], list[np.ndarray]],
               chunk: int = HOST_CHUNK) -> list[np.ndarray]:
    """run() over the batch in chunks of samples, reporting progress (tinygen/progress.py)."""
    count = inputs[0].shape[0]
    if count <= chunk or not progress.active():
        return run(inputs)
    parts: list[list[np.ndarray]] = []
    with progress.task(label, count) as advance:
        for start in range(0, count, chunk):
            parts.append(run([x[start:start + chunk] for x in inputs]))
            advance(min(chunk, count - start))
    return [np.concatenate(outputs) for outputs in zip(*parts, strict=True)]


class CompiledModel:
    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        manifest = self.out_dir / MARKER
        if not manifest.exists():
            raise TinygenError(f"{self.out_dir}: not a tinygen output folder (no {MARKER})",
                               hint="Create one with `tinygen compile MODEL.onnx -o OUT`.")
        self.manifest: dict[str, Any] = json.loads(manifest.read_text())
        self.name: str = self.manifest["name"]

    # --- description --------------------------------------------------------------------------
    @property
    def inputs(self) -> list[dict[str, Any]]:
        return self.manifest["inputs"]

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return self.manifest["outputs"]

    @cached_property
    def graph(self) -> Graph:
        meta = self.out_dir / ".tinygen"
        return graph_from_files((meta / "graph.json").read_bytes(), (meta / "arrays.npz").read_bytes())

    def samples(self) -> np.lib.npyio.NpzFile:
        """The inputs kept at compile time (float, model layout), keyed by input name."""
        return np.load(self.out_dir / ".tinygen" / "samples.npz", allow_pickle=False)

    # --- layout and quantization at the boundary ------------------------------------------------
    def to_storage(self, io: dict[str, Any], batch: np.ndarray) -> np.ndarray:
        """(N, *onnx_shape[1:]) in the model's layout -> (N, *shape[1:]) in tinygen's layout."""
        layout = Layout(io["layout"])
        if layout is Layout.PLAIN:
            return batch.reshape((batch.shape[0], *io["shape"][1:]))
        return layout.to_physical(batch)

    def from_storage(self, io: dict[str, Any], batch: np.ndarray) -> np.ndarray:
        return Layout(io["layout"]).to_onnx(batch, tuple(io["onnx_shape"]))

    def quantize(self, io: dict[str, Any], batch: np.ndarray) -> np.ndarray:
        return arith.quantize_float(batch, io["scale"], io["zero_point"], io.get("dtype", "int8"))

    def dequantize(self, io: dict[str, Any], batch: np.ndarray) -> np.ndarray:
        return arith.dequantize(batch, io["scale"], io["zero_point"])

    def _as_list(self, x: Arrays, int8: bool, source: str = "input") -> list[np.ndarray]:
        names = [io["name"] for io in self.inputs]
        if isinstance(x, dict) or (hasattr(x, "files") and not isinstance(x, np.ndarray)):
            if len(names) == 1 and names[0] not in x:  # one input: the `x` of a samples file, or its only array
                keys = list(x.keys()) if isinstance(x, dict) else list(x.files)
                only = "x" if "x" in keys else (keys[0] if len(keys) == 1 else None)
                if only is not None:
                    x = {names[0]: x[only]}
            missing = [n for n in names if n not in x]
            if missing:
                raise DataError(f"{source}: no array for model input(s) {missing}")
            arrays = [np.asarray(x[n]) for n in names]
        else:
            if len(names) != 1:
                raise DataError(f"{source}: the model has inputs {names}; pass a dict / .npz keyed by name")
            arrays = [np.asarray(x)]
        return [validate_batch(source, io["name"], a, tuple(io["onnx_shape"]), integer=int8,
                               integer_type=io.get("dtype", "int8"))
                for io, a in zip(self.inputs, arrays, strict=True)]

    def _result(self, outputs: list[np.ndarray]) -> Arrays:
        if len(outputs) == 1:
            return outputs[0]
        return {io["name"]: y for io, y in zip(self.outputs, outputs, strict=True)}

    # --- running ------------------------------------------------------------------------------
    def run(self, x: Arrays, int8: bool = False, sanitize: bool = False, source: str = "input",
            target: str | None = None) -> Arrays:
        """Batch inference on the host simulator. x: (N, ...) in the model's layout, float (it is
        quantized with the input parameters) or, with int8=True, already quantized. Returns
        dequantized float outputs, or raw int8 with int8=True, in the model's layout.
        target: a PlatformIO env of the output folder (e.g. "qemu_m4") runs the batch through
        that env's firmware instead (tinygen/platformio/firmware.py)."""
        inputs = self._as_list(x, int8, source)
        quantized = [self.to_storage(io, a if int8 else self.quantize(io, a))
                     for io, a in zip(self.inputs, inputs, strict=True)]
        if target is not None:
            from .platformio.firmware import run_batch

            return self._result(self._finish(run_batch(self.out_dir, target, quantized, self.outputs), int8))
        executable = self.host_executable(sanitize)
        raw = _in_chunks("running on the host simulator", quantized,
                         lambda part: host.run_batch(executable, part, self.outputs))
        return self._result(self._finish(raw, int8))

    def run_float_api(self, x: Arrays, sanitize: bool = False) -> Arrays:
        """Run through the generated <name>_run_float() (quantization done by the C code)."""
        inputs = self._as_list(x, False)
        raw = host.run_batch(self.host_executable(sanitize), inputs, self.outputs, mode="float")
        return self._result([y.reshape((y.shape[0], *io["onnx_shape"][1:]))
                             for io, y in zip(self.outputs, raw, strict=True)])

    def golden(self, x: Arrays, int8: bool = False, source: str = "input") -> Arrays:
        """The numpy golden reference on the same contract as run()."""
        inputs = self._as_list(x, int8, source)
        quantized = [self.to_storage(io, a if int8 else self.quantize(io, a))
                     for io, a in zip(self.inputs, inputs, strict=True)]
        raw = _in_chunks("running the golden reference", quantized,
                         lambda part: reference.run(self.graph, part)[0], chunk=GOLDEN_CHUNK)
        return self._result(self._finish([y.reshape(y.shape[0], -1) for y in raw], int8))

    def _finish(self, raw: list[np.ndarray], int8: bool) -> list[np.ndarray]:
        results = []
        for io, flat in zip(self.outputs, raw, strict=True):
            y = self.from_storage(io, flat.reshape(flat.shape[0], -1))
            results.append(y if int8 else self.dequantize(io, y))
        return results

    def host_executable(self, sanitize: bool = False) -> Path:
        from .codegen.render import banner, template_environment

        context = {
            "banner": banner(self.manifest["model_file"]),
            "name": self.name,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "inputs_and_outputs_q": ", ".join(f"q_{io['cname']}" for io in self.inputs + self.outputs),
            "inputs_and_outputs_f": ", ".join(f"f_{io['cname']}" for io in self.inputs + self.outputs),
        }
        driver = template_environment().get_template("host_main.c.j2").render(context)
        return host.build_executable(self.out_dir, self.name, driver, sanitize=sanitize)
