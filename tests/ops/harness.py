"""Build small ONNX models with onnx.helper, compile them with tinygen and check them two ways.

Every case is checked
  (a) bit for bit: the numpy golden reference equals the generated C run on the host simulator
      (raw int8 outputs, compared exactly);
  (b) against the float model: the dequantized int8 output is within a quantization bound of
      onnxruntime's float output of the same ONNX file.

The bound in (b). The test inputs are the first samples of the calibration set itself, so with
min/max calibration no activation is ever clipped: every difference between int8 and float
comes from rounding. Each quantized tensor holds its values to within half a step of its scale,
and each requantization (TFLite's MultiplyByQuantizedMultiplier: one rounding in the doubling
high multiply, one in the shift) adds at most half an output step more. Measured in the step s
of the coarsest activation of the compiled model (the largest scale among the input, output and
intermediate tensors: every rounding above is at most half of it), one op y = f(x) gives per
output element
    |y_int8 - y_float| <= 0.5 s (output rounding) + 0.5 s (requantization)
                          + the input's rounding (<= 0.5 s) carried through f:
  * ops that move values (max pool, reshape, transpose, pad, concat of equally quantized inputs)
    share the input's scale and do no arithmetic: at most 0.5 s;
  * a 256-entry table f (relu, sigmoid, tanh, ...), or any op with slope bound L:
    0.5 s + L * 0.5 s (L <= 1.5 for every function here);
  * a weighted sum over K terms (conv, fully connected): the worst case adds
    0.5 s_in * sum|w| + 0.5 s_w * sum|x|, i.e. O(K) steps with every rounding error aligned.
    Rounding errors are independent and uniform, so their sum grows like sqrt(K); with the small
    K used here a handful of steps is a safe bound, far below the ~100 steps a wrong layout,
    padding or channel order produces.
Each case states its bound (`steps`, default 3 of the coarsest step); cases whose bound differs
(products of two run-time operands, average pooling) say why where they set it. As a second, scale-free
check the signal-to-quantization-noise ratio must reach `sqnr_db` (default 30 dB): an 8-bit
quantizer over the min..max range of a Gaussian signal (+-4 sigma) has SQNR =
10 log10(12 * 255^2 / 64) = 40.9 dB; three such independent noise sources (input, weights,
output) cost 4.8 dB, leaving ~36 dB; the floor keeps ~6 dB of margin for heavier-tailed
intermediate distributions. Deeper models (several requantizations in a chain) state their own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper, shape_inference

import tinygen
from tinygen.model import CompiledModel

from ..conftest import assert_identical

CALIB_SAMPLES = 16  # calibration samples per model (random normal, fixed seed)
TEST_SAMPLES = 8  # the first calibration samples, run through golden, host C and onnxruntime


# --- building models ----------------------------------------------------------------------------

def const(array: Any, dtype: Any = np.float32) -> np.ndarray:
    return np.asarray(array, dtype=dtype)


def weights(rng: np.random.Generator, *shape: int, scale: float = 1.0) -> np.ndarray:
    """Random weights of a layer with fan-in shape[1:] (He-like scaling keeps outputs ~N(0, 1))."""
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    return (rng.standard_normal(shape) * scale / np.sqrt(max(fan_in, 1))).astype(np.float32)


def make_model(nodes: list[onnx.NodeProto], inputs: dict[str, list[int]], outputs: list[str],
               initializers: dict[str, np.ndarray] | None = None, opset: int = 13,
               symbolic_batch: bool = True, ir_version: int | None = None,
               input_types: dict[str, int] | None = None) -> onnx.ModelProto:
    """A checked ONNX model. Input shapes give batch 1 as their first dim, which becomes the
    symbolic 'N' (tinygen pins it to 1); output shapes are filled in by ONNX shape inference."""
    graph_inputs = []
    for name, shape in inputs.items():
        dims: list[int | str] = list(shape)
        if symbolic_batch and dims:
            dims[0] = "N"
        elem = (input_types or {}).get(name, TensorProto.FLOAT)
        graph_inputs.append(helper.make_tensor_value_info(name, elem, dims))
    graph_outputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in outputs]
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in (initializers or {}).items()]
    graph = helper.make_graph(nodes, "case", graph_inputs, graph_outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="tinygen-tests")
    if ir_version is not None:
        model.ir_version = ir_version
    elif opset < 13:
        model.ir_version = 6  # what exporters of that era wrote
    model = shape_inference.infer_shapes(model, strict_mode=True)
    onnx.checker.check_model(model, full_check=True)
    return model


def node(op: str, inputs: list[str], outputs: list[str] | str, name: str | None = None, **attrs: Any
         ) -> onnx.NodeProto:
    outs = [outputs] if isinstance(outputs, str) else outputs
    return helper.make_node(op, inputs, outs, name=name or f"{op.lower()}_{outs[0]}", **attrs)


# --- cases ----------------------------------------------------------------------------------------

@dataclass
class Case:
    """One model to compile and check. `build` makes the ONNX model (lazily, at first use)."""

    id: str
    build: Callable[[], onnx.ModelProto]
    steps: float = 3.0  # bound on |int8 - float| in output quantization steps (see module doc)
    sqnr_db: float = 30.0  # floor on the SQNR of the int8 output against the float output
    ops: list[str] | None = None  # expected IR ops after the passes, any order (None: not checked)
    seed: int = 0
    input_scale: dict[str, float] = field(default_factory=dict)  # std of an input's random samples
    input_offset: dict[str, float] = field(default_factory=dict)  # mean of an input's samples

    def __str__(self) -> str:
        return self.id


@dataclass
class Result:
    case: Case
    model: CompiledModel
    inputs: dict[str, np.ndarray]  # float test inputs, model layout
    reference: list[np.ndarray]  # onnxruntime float outputs
    golden: list[np.ndarray]  # int8 outputs of the golden reference
    host: list[np.ndarray]  # int8 outputs of the generated C

    @property
    def ir_ops(self) -> list[str]:
        """The layers' ops, a residual Add fused into its convolution (passes/fuse_residual_add.py) counted
        as the add it computes."""
        nodes = self.model.graph.nodes
        return [n.op for n in nodes] + ["add" for n in nodes if n.attrs.get("fused_add")]


def calibration_inputs(model: onnx.ModelProto, case: Case) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(case.seed + 1000)
    data = {}
    initializers = {i.name for i in model.graph.initializer}
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim][1:]
        sample = rng.standard_normal((CALIB_SAMPLES, *dims)) * case.input_scale.get(value.name, 1.0)
        data[value.name] = (sample + case.input_offset.get(value.name, 0.0)).astype(np.float32)
    return data


def save_calibration(folder: Path, data: dict[str, np.ndarray]) -> Path:
    if len(data) == 1:
        path = folder / "calib.npy"
        np.save(path, next(iter(data.values())))
    else:
        path = folder / "calib.npz"
        np.savez(path, **data)
    return path


def onnxruntime_outputs(path: Path, inputs: dict[str, np.ndarray]) -> list[np.ndarray]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    count = next(iter(inputs.values())).shape[0]
    per_sample = [session.run(names, {k: v[i:i + 1] for k, v in inputs.items()}) for i in range(count)]
    return [np.concatenate([np.asarray(s[k]) for s in per_sample]) for k in range(len(names))]


def _as_list(model: CompiledModel, outputs: Any) -> list[np.ndarray]:
    if isinstance(outputs, dict):
        return [outputs[io["name"]] for io in model.outputs]
    return [outputs]


def compile_case(case: Case, folder: Path, model: onnx.ModelProto | None = None) -> Result:
    model = model if model is not None else case.build()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{re.sub(r'[^0-9A-Za-z_]', '_', case.id)}.onnx"
    onnx.save(model, path)
    return compile_file(case, path, calibration_inputs(model, case), folder)


def compile_file(case: Case, path: Path, data: dict[str, np.ndarray], folder: Path) -> Result:
    """Compile an ONNX file with calibration `data` (saved as .npy/.npz next to the output) and run
    the first TEST_SAMPLES of it through golden, host C and onnxruntime."""
    compiled = tinygen.compile(path, folder / "out", calib=str(save_calibration(folder, data)))
    inputs = {k: v[:TEST_SAMPLES] for k, v in data.items()}
    quantized = {io["name"]: compiled.quantize(io, inputs[io["name"]]) for io in compiled.inputs}
    golden = _as_list(compiled, compiled.golden(quantized, int8=True))
    host = _as_list(compiled, compiled.run(quantized, int8=True))
    return Result(case, compiled, inputs, onnxruntime_outputs(path, inputs), golden, host)


# --- checks ----------------------------------------------------------------------------------------

def check_golden_equals_host(result: Result) -> None:
    for io, golden, host in zip(result.model.outputs, result.golden, result.host, strict=True):
        assert golden.dtype == np.int8 and host.dtype == np.int8
        assert_identical(golden, host, f"{result.case.id}: output '{io['name']}' golden vs host C")


def sqnr_db(reference: np.ndarray, approximation: np.ndarray) -> float:
    from tinygen.verification import sqnr_db as sqnr

    return sqnr(reference, approximation)


def coarsest_step(model: CompiledModel) -> float:
    """The largest scale of any activation (graph input, node output) of the compiled model."""
    graph = model.graph
    names = [*graph.inputs, *(out for n in graph.nodes for out in n.outputs)]
    return max(graph.tensors[name].quant.scale_value for name in names)  # type: ignore[union-attr]


def check_close_to_float(result: Result, steps: float | None = None, floor_db: float | None = None) -> None:
    case = result.case
    steps = case.steps if steps is None else steps
    floor_db = case.sqnr_db if floor_db is None else floor_db
    for io, host, reference in zip(result.model.outputs, result.host, result.reference, strict=True):
        approx = result.model.dequantize(io, host).reshape(reference.shape)
        error = np.abs(approx.astype(np.float64) - reference.astype(np.float64))
        unit = coarsest_step(result.model)
        worst = float(error.max()) / unit
        where = np.unravel_index(int(np.argmax(error)), error.shape)
        assert worst <= steps + 1e-6, (
            f"{case.id}: output '{io['name']}' is {worst:.2f} quantization steps (step {unit:.4g}) "
            f"from onnxruntime at {list(map(int, where))} (float {reference[where]:.5g}, int8 {approx[where]:.5g});"
            f" the bound is {steps} steps")
        sqnr = sqnr_db(reference, approx)
        print(f"{case.id}: output '{io['name']}' max error {worst:.2f} steps, SQNR {sqnr:.1f} dB")
        assert sqnr >= floor_db, f"{case.id}: output '{io['name']}' SQNR {sqnr:.1f} dB < {floor_db} dB"


def check_ops(result: Result) -> None:
    """The IR ops after the passes, as a multiset: the scheduler may reorder independent nodes."""
    if result.case.ops is not None:
        assert sorted(result.ir_ops) == sorted(result.case.ops), f"{result.case.id}: IR ops {result.ir_ops}"


class CaseRunner:
    """Compiles each case once per test session and hands the result to every test that asks."""

    def __init__(self, factory: pytest.TempPathFactory):
        self.factory = factory
        self.results: dict[str, Result] = {}

    def __call__(self, case: Case) -> Result:
        if case.id not in self.results:
            folder = self.factory.mktemp(re.sub(r"[^0-9A-Za-z_]", "_", case.id)[:40])
            self.results[case.id] = compile_case(case, folder)
        return self.results[case.id]


@pytest.fixture(scope="session")
def run_case(tmp_path_factory: pytest.TempPathFactory) -> CaseRunner:
    return CaseRunner(tmp_path_factory)


def standard_tests(cases: list[Case]) -> tuple[Callable[..., None], Callable[..., None]]:
    """The two checks every op module runs over its cases (plus the IR structure when given)."""

    @pytest.mark.parametrize("case", cases, ids=str)
    def test_golden_equals_host_c(case: Case, run_case: CaseRunner) -> None:
        result = run_case(case)
        check_ops(result)
        check_golden_equals_host(result)

    @pytest.mark.parametrize("case", cases, ids=str)
    def test_close_to_onnxruntime(case: Case, run_case: CaseRunner) -> None:
        check_close_to_float(run_case(case))

    return test_golden_equals_host_c, test_close_to_onnxruntime


__all__ = ["Case", "CaseRunner", "Result", "TensorProto", "check_close_to_float", "check_golden_equals_host",
           "check_ops", "compile_case", "compile_file", "const", "make_model", "node", "run_case", "standard_tests",
           "weights"]
