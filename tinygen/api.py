"""The compile pipeline, one step per line, and the Python entry points."""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from . import progress
from .arith import dequantize
from .arith import quantize_float as arith_quantize
from .cnames import model_prefix
from .codegen.render import RenderedModel, render
from .errors import DataError
from .frontend.formats import model_format
from .frontend.importer import import_model
from .frontend.loader import LoadedModel, load_model
from .frontend.tflite import TfliteModel, load_tflite
from .frontend.tflite_import import import_tflite
from .frontend.validate import check_ranges
from .ir import Graph
from .ir import verify as verify_graph
from .model import CompiledModel
from .outdir import MARKER, write_tree
from .passes import int8_pipeline, run_pipeline
from .plan import MemoryPlan, plan_graph
from .plan.patches import patch_plans
from .plan.picture import render_svg
from .plan.planner import plan_record
from .plan.variants import variant_choices
from .plan.wide import choose_wide, wide_summary
from .platformio.project import project_files
from .quantize.calibrate import Calibration, CalibrationData, Calibrator, CalibSpec, calibrate, read_calibration
from .quantize.calibrate_corrections import BIAS_SAMPLES, correct_biases, equalize, float_outputs
from .quantize.calibrate_sanity import batchnorm_hints, data_warnings, range_warnings
from .quantize.precision import LayerPrecision, PrecisionPlan, check_model_wide
from .quantize.precision_auto import AUTO_SAMPLES, AutoTarget, choose_precisions
from .quantize.quantize import quantize_graph, tensors_needing_ranges
from .reporting import Report, make_report
from .serialize import deterministic_npz, graph_to_files
from .stack import measure_files
from .verification import Inputs, VerifyReport, verify_model
from .version import __version__

VERIFY_SAMPLES = 16  # inputs kept in the output folder for `tinygen verify`
HOLDOUT_FROM = 128  # with this many calibration samples or more, VERIFY_SAMPLES are held out for verify


@dataclass
class CompileResult:
    model: CompiledModel
    summary: dict[str, Any]
    timings: dict[str, float] = field(default_factory=dict)


def compile(model_path: str | Path | onnx.ModelProto, out_dir: str | Path | None = None, *,
            calib: CalibSpec | None = None,
            calib_method: str = "minmax", name: str | None = None, debug: bool = False,
            log: Callable[[str], None] | None = None, warn: Callable[[str], None] | None = None,
            force: bool = False, ram_budget: int | None = None, bias_correction: bool = False,
            equalization: bool = False, holdout: int | None = None,
            input_shapes: dict[str, tuple[int, ...]] | None = None, weights: str | None = None,
            activations: str | None = None, precision: str | Path | dict[str, Any] | None = None,
            precision_file: str | Path | dict[str, Any] | None = None, min_sqnr: float | None = None,
            max_flash: int | None = None, **options: Any) -> CompiledModel:
    """Compile an ONNX model (a path, or an `onnx.ModelProto` in memory) or a .tflite file into a C
    project in `out_dir` (a temporary folder if None) and return it as a CompiledModel.

    `calib`: a .npy/.npz path, 'random', or the arrays themselves (one (N, ...) array for a one-input
    model, or a dict keyed by input name), in the model's own layout. calib_method: 'minmax',
    'percentile:<p>', 'mse' or 'entropy'; bias_correction / equalization: the optional corrections
    (quantize/calibrate_corrections.py); holdout: calibration samples kept apart for `verify` (default:
    16 when there are at least 128). `input_shapes` pins dynamic input dimensions ({"image": (1, 3, 96,
    96)}, as `--input-shape image=1,3,96,96`). Precision (quantize/precision.py): `weights` "int8" | "int4"
    and `activations` "int8" | "int16" model-wide, `precision` a precision file's path or its contents
    ({"layer or pattern": {"weights": "int4"}}), or "auto": chosen per layer (quantize/precision_auto.py) under
    `min_sqnr` (dB, output SQNR against the float model) and/or `max_flash` (weight bytes), starting from
    `weights`/`activations` and `precision_file` (layers it names stay as it says). `options` as
    write_compiled takes them (in_place, variants, patches, patch_layers)."""
    if isinstance(model_path, onnx.ModelProto):  # written to a file: the loader and `verify` read files
        with tempfile.TemporaryDirectory(prefix="tinygen-model-") as folder:
            file = Path(folder) / f"{model_prefix(name or model_path.graph.name or 'model')}.onnx"
            file.write_bytes(model_path.SerializeToString())
            return compile(file, out_dir, calib=calib, calib_method=calib_method, name=name, debug=debug, log=log,
                           warn=warn, force=force, ram_budget=ram_budget, bias_correction=bias_correction,
                           equalization=equalization, holdout=holdout, input_shapes=input_shapes, weights=weights,
                           activations=activations, precision=precision, precision_file=precision_file,
                           min_sqnr=min_sqnr, max_flash=max_flash, **options)
    if not isinstance(model_path, str | Path):  # str() of an unknown object could be huge: name its type only
        raise DataError(f"model: expected a path to an .onnx/.tflite file or an onnx.ModelProto; got "
                        f"{type(model_path).__name__}")
    return compile_model(model_path, out_dir, calib=calib, calib_method=calib_method, name=name,
                         debug=debug, log=log, warn=warn, force=force, ram_budget=ram_budget,
                         bias_correction=bias_correction, equalization=equalization, holdout=holdout,
                         input_shapes=input_shapes, weights=weights, activations=activations,
                         precision=precision, precision_file=precision_file, min_sqnr=min_sqnr,
                         max_flash=max_flash, **options).model


def load(out_dir: str | Path) -> CompiledModel:
    """Open a folder written by `tinygen compile`."""
    return CompiledModel(out_dir)


def verify(out_dir: str | Path, inputs: Inputs = None) -> VerifyReport:
    """Check a compiled model as `tinygen verify` does: the numpy golden reference and the generated C
    on the host give identical int8 outputs, and how close int8 is to the float model (onnxruntime; or
    tflite-micro for a .tflite source). `inputs`: a .npy/.npz path, an array (N, ...) or a dict of arrays
    keyed by input name ('y': labels) in the model's own layout; None: the samples kept at compile time.

    Returns a VerifyReport: `.identical` (bit-exact), `.mismatch` (the first differing value),
    `.sqnr_db`, `.top1`, `.accuracy`, `.agrees` and `.lines` (what the command prints)."""
    return verify_model(out_dir, inputs)


def report(out_dir: str | Path, *, inputs: Inputs = None, board: str | None = None, ram_kib: int | None = None,
           flash_kib: int | None = None, sqnr: bool = True) -> Report:
    """The per-layer report of a compiled model, as `tinygen report` builds it: MACs, parameters, constant
    bytes, arena placement, quantization and per-layer int8-vs-float SQNR on `inputs` (as verify takes
    them; sqnr=False skips it), flash and RAM per target, the live bytes per step. `board` (an env name
    or a JSON board file) and/or `ram_kib` + `flash_kib` add the fit verdict (`Report.fits`).

    Returns a Report: `.figures` (the dict), `.lines(width)`, `.html()`, `.to_json()`."""
    return make_report(out_dir, inputs=inputs, board=board, ram_kib=ram_kib, flash_kib=flash_kib, sqnr=sqnr)


def compile_model(model_path: str | Path, out_dir: str | Path | None = None, *, calib: CalibSpec | None = None,
                  calib_method: str = "minmax", name: str | None = None, debug: bool = False,
                  log: Callable[[str], None] | None = None, warn: Callable[[str], None] | None = None,
                  force: bool = False, ram_budget: int | None = None, bias_correction: bool = False,
                  equalization: bool = False, holdout: int | None = None,
                  input_shapes: dict[str, tuple[int, ...]] | None = None, weights: str | None = None,
                  activations: str | None = None, precision: str | Path | dict[str, Any] | None = None,
                  precision_file: str | Path | dict[str, Any] | None = None, min_sqnr: float | None = None,
                  max_flash: int | None = None, **options: Any) -> CompileResult:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def step(label: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[label] = now - clock
        clock = now
        if log:
            log(f"{label}: {1000 * timings[label]:.0f} ms")

    path = str(model_path)
    calibrator = Calibrator.parse(calib_method)
    auto = precision == "auto"
    if precision_file is not None and precision is not None and not auto:
        raise DataError("give the precision file once: as precision=, or as precision_file= with precision='auto'")
    target = AutoTarget(min_sqnr, max_flash) if auto else None  # checks there is a target
    if not auto and (min_sqnr is not None or max_flash is not None):
        raise DataError("--min-sqnr and --max-flash are the targets of --precision auto",
                        hint="Add --precision auto, or drop them.")
    chosen = PrecisionPlan.from_options(weights, activations, precision_file if auto or precision is None
                                        else precision)
    prefix = model_prefix(name or Path(path).stem)
    loaded: LoadedModel | TfliteModel
    data: dict[str, np.ndarray] | None = None
    given: CalibrationData | None = None
    if model_format(path) == "tflite":  # by content (the TFL3 identifier); other formats are refused
        loaded = load_tflite(path)  # the flatbuffer, through the TFLite schema
        step("load")
        if input_shapes:
            raise DataError(f"{path}: a .tflite model has static shapes; --input-shape is not used")
        if calib is not None:
            raise DataError(f"{path}: a .tflite model is already quantized; --calib is not used",
                            hint="Drop --calib; `tinygen verify OUT --input FILE` checks your own inputs.")
        graph = import_tflite(loaded)  # TFLite -> IR with the file's int8 parameters, NHWC as stored
    else:
        loaded = load_model(path, input_shapes)  # read, validate, upgrade the opset, pin the batch, fold
        step("load")
        graph = import_model(loaded)  # ONNX -> float IR, channels-last (QDQ parameters kept)
        given = read_calibration(calib, loaded, warn) if calib is not None else None
        data = given.arrays if given is not None else None
    step("import")
    run_pipeline(graph, debug=debug, log=log)  # BatchNorm folding, activation fusion, ...
    step("passes")
    missing = tensors_needing_ranges(graph)
    ranges: dict[str, tuple[float, float]] = {}
    if missing:
        if data is None:
            raise DataError(f"{path}: calibration data is needed to quantize "
                            + ("a float model" if len(missing) == len(list(graph.activations()))
                               else f"{len(missing)} tensors without quantization parameters "
                                    f"(e.g. '{missing[0]}')"),
                            hint="Pass --calib FILE (.npy (N, ...) or .npz keyed by input name, in the "
                                 "model's layout), or --calib random to try the toolchain without "
                                 "accuracy.")
        assert isinstance(loaded, LoadedModel) and given is not None  # a .tflite model is fully quantized
        held, data = hold_out(given, holdout)
        record, ranges = calibrate_graph(loaded, graph, given, data, calibrator, equalization, warn)
        check_ranges(path, ranges)  # NaN or inf in the float model's activations: a clear error
        record.update({"held_out": 0 if held is None else int(next(iter(held.values())).shape[0])})
        step("calibrate")
    else:
        held, record = None, {}
    start = chosen.apply(graph)  # each layer's precision (node.attrs["precision"]), the names checked
    check_model_wide(chosen, graph)
    auto_record = None
    if target is not None:  # measure each layer's sensitivity, choose under the target
        if data is None or not isinstance(loaded, LoadedModel) or not missing:
            raise DataError(f"{path}: --precision auto measures the layers of a float model on calibration data",
                            hint="Pass a float model and --calib FILE.")
        auto_record = auto_precision(loaded, graph, data, ranges, target, start, chosen.named(graph), log)
        step("precision")
    quantize_graph(graph, ranges)  # int8 activations, weights, biases and kernel parameters
    if bias_correction and missing:
        assert isinstance(loaded, LoadedModel) and data is not None
        record["bias_correction"] = bias_correct(loaded, graph, data, record.get("divisors", {}))
        step("bias correction")
    # the equalized tensors' per-channel divisors, for the per-layer SQNR of `tinygen report`
    record["equalized"] = {name: [float(v) for v in d] for name, d in record.pop("divisors", {}).items()}
    if debug:
        verify_graph(graph)
    step("quantize")
    if data is None:
        data = representative_inputs(graph, loaded)
    samples = held if held is not None else {k: v[:VERIFY_SAMPLES] for k, v in data.items()}
    calibration: dict[str, Any] = {"method": "none: the model is quantized", "source": None, "samples": 0}
    if given is not None:
        used = int(next(iter(data.values())).shape[0])
        calibration = {"method": calib_method, "source": given.source, "samples": used, "held_out": 0, **record}
        calibration["verify_samples"] = ("held-out" if calibration["held_out"] else
                                         "random" if given.source == "random" else "calibration")
        calibration.setdefault("bias_correction", 0)
        calibration.setdefault("equalization", 0)
    if auto_record is not None:
        calibration["precision_auto"] = auto_record
    result = write_compiled(graph, out_dir, prefix, loaded=loaded, samples=samples, calibration=calibration,
                            force=force, step=step, ram_budget=ram_budget, **options)
    result.timings.update(timings)
    return result


def hold_out(given: CalibrationData, holdout: int | None) -> tuple[dict[str, np.ndarray] | None, dict[str, np.ndarray]]:
    """(samples kept apart for `verify`, samples to calibrate on): VERIFY_SAMPLES spread evenly over the
    file when it has HOLDOUT_FROM samples or more (or `holdout` of them when given)."""
    count = given.count
    wanted = (VERIFY_SAMPLES if count >= HOLDOUT_FROM else 0) if holdout is None else holdout
    if wanted <= 0 or given.source == "random":
        return None, given.arrays
    if wanted > count // 2:
        raise DataError(f"{given.source}: cannot hold out {wanted} of {count} calibration samples for verify "
                        "(at most half)", hint="Use a smaller --holdout, or 0 to keep them all for calibration.")
    indices = np.unique(np.linspace(0, count - 1, wanted).round().astype(np.int64))
    return given.split(indices)


def calibrate_graph(loaded: LoadedModel, graph: Graph, given: CalibrationData, data: dict[str, np.ndarray],
                    calibrator: Calibrator, equalization: bool, warn: Callable[[str], None] | None
                    ) -> tuple[dict[str, Any], dict[str, tuple[float, float]]]:
    """Equalize (optionally), calibrate, check the data; returns the manifest record and the ranges."""
    divisors, pairs = equalize(graph) if equalization else ({}, 0)
    hints = batchnorm_hints(loaded)
    result: Calibration = calibrate(loaded, graph, data, calibrator, divisors,
                                    watch=tuple(h.conv_output for h in hints))
    model_dtypes = {name: str(loaded.values[name].dtype) for name in loaded.input_names}
    warnings = data_warnings(given, model_dtypes) + range_warnings(loaded, result, data, hints)
    for text in warnings:
        (warn or (lambda message: None))(f"WARNING: {text}")
    inputs = [name for name in graph.inputs if name in data]
    record = {"inputs": result.record(inputs), "warnings": warnings, "equalization": pairs,
              "divisors": divisors}
    return record, result.ranges


def bias_correct(loaded: LoadedModel, graph: Graph, data: dict[str, np.ndarray],
                 divisors: dict[str, np.ndarray]) -> int:
    """Empirical bias correction on up to BIAS_SAMPLES calibration samples (calibrate_corrections.py)."""
    from . import reference

    subset = {k: v[:BIAS_SAMPLES] for k, v in data.items()}
    names = [n.outputs[0] for n in graph.nodes if n.outputs[0] in loaded.values]
    floats = float_outputs(loaded, names, subset, divisors)
    quantized = quantized_inputs(graph, subset)
    return correct_biases(graph, floats, lambda g: reference.run(g, quantized, keep_all=True)[1])


def quantized_inputs(graph: Graph, data: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Float inputs (model layout, N samples) as the int8 batches the golden reference takes (storage order)."""
    from .ir import Layout

    quantized = []
    for name in graph.inputs:
        tensor = graph.tensors[name]
        assert tensor.quant is not None
        q = arith_quantize(data[name], tensor.quant.scale_value, tensor.quant.zero_point_value, tensor.dtype)
        quantized.append(q.reshape((q.shape[0], *tensor.shape[1:])) if tensor.layout is Layout.PLAIN
                         else tensor.layout.to_physical(q))
    return quantized


def auto_precision(loaded: LoadedModel, graph: Graph, data: dict[str, np.ndarray],
                   ranges: dict[str, tuple[float, float]], target: AutoTarget, start: dict[int, LayerPrecision],
                   fixed: set[int], log: Callable[[str], None] | None) -> dict[str, Any]:
    """--precision auto (quantize/precision_auto.py), each trial measured with the golden reference on up to
    AUTO_SAMPLES calibration samples against the float model's outputs."""
    from . import reference

    subset = {k: v[:AUTO_SAMPLES] for k, v in data.items()}
    names = graph.onnx_outputs or graph.outputs
    floats = float_outputs(loaded, names, subset, {})
    if any(name not in floats for name in names):
        raise DataError(f"{loaded.path}: --precision auto compares the model's outputs with the float model's, "
                        "and onnxruntime does not give them all")
    wanted = [floats[name].reshape(floats[name].shape[0], -1) for name in names]

    def evaluate(trial: Graph) -> list[np.ndarray]:
        outputs = reference.run(trial, quantized_inputs(trial, subset))[0]
        result = []
        for name, out in zip(trial.outputs, outputs, strict=True):
            tensor = trial.tensors[name]
            assert tensor.quant is not None
            logical = tensor.layout.to_onnx(out, tensor.onnx_shape or tensor.shape)
            real = dequantize(logical, tensor.quant.scale_value, tensor.quant.zero_point_value)
            result.append(real.reshape(real.shape[0], -1))
        return result

    return choose_precisions(graph, ranges, target, start, evaluate, wanted, log, fixed)


def representative_inputs(graph: Graph, loaded: LoadedModel | TfliteModel) -> dict[str, np.ndarray]:
    """For a quantized model compiled without data: random int8 inputs (fixed seed), as the real
    values they stand for, kept for `tinygen verify`."""
    rng = np.random.default_rng(1234)
    inputs = {}
    for name in graph.inputs:
        tensor = graph.tensors[name]
        assert tensor.quant is not None
        shape = loaded.values[name].shape
        q = rng.integers(-128, 128, size=(VERIFY_SAMPLES, *shape[1:]), dtype=np.int8)
        inputs[name] = dequantize(q, tensor.quant.scale_value, tensor.quant.zero_point_value)
    return inputs


def write_compiled(graph: Graph, out_dir: str | Path | None, prefix: str, *,
                   loaded: LoadedModel | TfliteModel | None = None,
                   samples: dict[str, np.ndarray] | None = None, calibration: dict[str, Any] | None = None,
                   force: bool = False, step: Callable[[str], None] | None = None,
                   ram_budget: int | None = None, in_place: bool = True, variants: str = "ram",
                   patches: int | None = None, patch_layers: int | None = None,
                   wide_flash: int | None = None) -> CompileResult:
    """Plan, render and write a quantized graph (the back half of the pipeline).

    Also the entry point for graphs built directly in Python (kernel tests): without `loaded`
    no source model is stored, and `verify` skips the float comparison. `in_place=False` gives the
    plain plan: no fused residual Add, no output overlapping an input. `variants`: how each layer's
    kernel variant is chosen (plan/variants.py: "ram" first, "speed", or as "given" in node.attrs).
    `patches` forces patch-based execution of the first layers in that many row bands (over
    `patch_layers` layers); without it, it is chosen when nothing else fits `ram_budget`. `wide_flash`:
    the flash bytes pre-widened convolution weights may add (plan/wide.py; None: its default share).
    """
    step = step or (lambda label: None)
    # constant channels removed; a residual Add joins the convolution feeding it (with in-place execution)
    run_pipeline(graph, pipeline=int8_pipeline(in_place))
    # The node order with the smallest peak, each layer's kernel variant (RAM first, then speed where it
    # costs no RAM or fits the budget), row bands if nothing else fits, and the arena offsets; fails when
    # nothing fits the budget.
    plan = plan_graph(graph, ram_budget, in_place=in_place, rule=variants, patches=patches,
                      patch_layers=patch_layers)
    choose_wide(graph, wide_flash)  # convolutions that get pre-widened weights, within a flash allowance
    step("plan")
    model_file = Path(loaded.path).name if loaded else f"{graph.name} (built in Python)"
    rendered = render(graph, plan, prefix, model_file)  # C sources
    step("codegen")
    files = dict(rendered.files)
    summary = summarize(graph, plan, rendered, loaded)
    summary["wide"] = wide_summary(graph)
    # The worst-case call stack beside the arena: measured on a Cortex-M4 build of these sources (stack.py).
    with progress.task("measuring the worst-case stack (arm-none-eabi-gcc -fstack-usage)", 1) as advance:
        stack = measure_files(files, prefix, rendered.kernel_functions)
        advance(1)
    summary["stack"] = stack.to_json() if stack else None
    step("stack")
    files.update(metadata_files(graph, plan, rendered, loaded, prefix, model_file, samples or {}, summary,
                                calibration or {}, in_place))
    # platformio.ini, src/, test/
    files.update(project_files(graph, (rendered.inputs, rendered.outputs), prefix, samples or {}, model_file))
    files[".tinygen/memory.svg"] = render_svg(plan, graph, prefix).encode()  # the arena picture (tinygen report)
    target = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="tinygen-"))
    write_tree(target, files, force=force or out_dir is None)
    step("write")
    return CompileResult(CompiledModel(target), summary)


def summarize(graph: Graph, plan: MemoryPlan, rendered: RenderedModel,
              loaded: LoadedModel | TfliteModel | None) -> dict[str, Any]:
    ops: dict[str, int] = {}
    for node in graph.nodes:
        ops[node.op] = ops.get(node.op, 0) + 1
    return {
        "ops": dict(sorted(ops.items())),
        "layers": len(graph.nodes),
        "params": sum(fact["params"] for fact in rendered.layer_facts),
        "macs": sum(fact["macs"] for fact in rendered.layer_facts),
        # Bytes the data-movement layers (slice, transpose, gather, ... copies) copy per inference, and how many.
        "moved_bytes": sum(fact["moved_bytes"] for fact in rendered.layer_facts),
        "movement_layers": sum(1 for fact in rendered.layer_facts if fact["moved_bytes"]),
        "weights_bytes": rendered.weights_bytes,
        "constants_bytes": rendered.constants_bytes,
        "arena_bytes": plan.arena_size,
        "arena_lower_bound_bytes": plan.lower_bound,
        "planner": plan.algorithm,
        # In-place pairs the plan uses, kernel variants chosen below the fastest, patched stages.
        "in_place": [{"layer": graph.nodes[o.step].name, "input": o.source, "output": o.target, "delta": o.delta,
                      "exact": o.exact} for o in plan.shared()],
        "variants": [{"layer": c.node, "variant": c.kernel.key, "note": c.kernel.note, "fastest": c.fastest.key,
                      "scratch_bytes": c.scratch, "extra_instructions": c.extra_instructions,
                      "extra_cycles": c.extra_cycles}
                     for c in variant_choices(graph) if c.kernel != c.fastest],
        "patches": patch_plans(graph),
        "opset": loaded.opset if loaded else None,
        # What the loader changed to compile the model (a fixed batch compiled as batch 1, ...).
        "notes": list(loaded.notes) if loaded else [],
        "upgraded_from_opset": loaded.upgraded_from if loaded else None,
    }


def metadata_files(graph: Graph, plan: MemoryPlan, rendered: RenderedModel, loaded: LoadedModel | TfliteModel | None,
                   prefix: str, model_file: str, samples: dict[str, np.ndarray], summary: dict[str, Any],
                   calibration: dict[str, Any], in_place: bool = True) -> dict[str, bytes]:
    if isinstance(loaded, LoadedModel):  # self-contained (external data embedded), see frontend/loaded.py
        model_bytes, sha256 = loaded.source, loaded.sha256
    else:
        model_bytes = Path(loaded.path).read_bytes() if loaded else b""
        sha256 = hashlib.sha256(model_bytes).hexdigest()
    graph_json, arrays = graph_to_files(graph)
    manifest = {
        "tinygen_version": __version__,
        "name": prefix,
        "model_file": model_file,
        "model_sha256": sha256 if loaded else None,
        "inputs": rendered.inputs,
        "outputs": rendered.outputs,
        **summary,
        "calibration": calibration,
        "kernel_sources": rendered.kernel_sources,
        "kernel_functions": rendered.kernel_functions,
        "layer_list": rendered.layer_facts,
        "plan": plan_record(plan, in_place),  # the placement itself (plan.planner.stored_plan)
    }
    files = {
        MARKER: json.dumps(manifest, indent=1, sort_keys=True).encode(),
        ".tinygen/graph.json": graph_json,
        ".tinygen/arrays.npz": arrays,
        ".tinygen/samples.npz": deterministic_npz(samples),
    }
    if loaded:  # the source model, for verify and report (a .tflite under its own name)
        files[".tinygen/model.tflite" if isinstance(loaded, TfliteModel) else ".tinygen/model.onnx"] = model_bytes
    return files
