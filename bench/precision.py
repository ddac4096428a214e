"""int4 weights and automatic mixed precision (issue 16) on MLPerf Tiny's KWS and VWW float models.

Each model is compiled from its float ONNX with its calibration data (calib.npz, or samples.npz where it has
none) twice: int8, and `--weights int4`. For each: the weight bytes (weights and biases, as stored: int4
packed two per byte), the output SQNR against onnxruntime's float model and against the int8 model, top-1
agreement with the float model, on the 16 samples of samples.npz; the golden reference, the host C (ASan/
UBSan) and the qemu_m4 firmware must give the same bytes; `tinygen bench` on qemu_m4 gives instructions and
estimated cycles. Also int4 with `--bias-correction` (which recovers most of what int4 loses on VWW), KWS with
`--precision auto --max-flash` 25 % below its int8 weight bytes (the weights must fit; its SQNR and top-1
agreement with float are printed) and VWW with `--precision auto --min-sqnr` 3 dB below int8's SQNR.

    .venv/bin/python bench/precision.py [--only kws_dscnn] [--no-qemu]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import tinygen  # noqa: E402
from tinygen import bench  # noqa: E402
from tinygen.model import CompiledModel  # noqa: E402
from tinygen.verification import onnxruntime_outputs, sqnr_db  # noqa: E402

MODELS = REPO / "models" / "mlperf_tiny"
NAMES = ["kws_dscnn", "vww_mobilenet"]
FLASH_CUT = 0.25  # --max-flash this much below the int8 weight bytes (the KWS acceptance)
SQNR_SLACK = 3.0  # VWW --precision auto --min-sqnr: this many dB below the int8 model's SQNR


def source(name: str) -> Path:
    """The float model: KWS's weight-matched one (the int8 reference's weights, the demo's model)."""
    matched = MODELS / name / f"{name}_float_matched.onnx"
    return matched if matched.exists() else MODELS / name / f"{name}_float.onnx"


def calibration(name: str) -> str:
    folder = MODELS / name
    return str(folder / "calib.npz" if (folder / "calib.npz").exists() else folder / "samples.npz")


def measure(model: CompiledModel, x: np.ndarray, floats: np.ndarray, int8_out: np.ndarray | None,
            qemu: bool) -> dict[str, Any]:
    quantized = model.quantize(model.inputs[0], x)
    golden = model.golden(quantized, int8=True)
    host = model.run(quantized, int8=True, sanitize=True)
    assert isinstance(golden, np.ndarray) and isinstance(host, np.ndarray)
    out = model.dequantize(model.outputs[0], golden).reshape(floats.shape)
    result: dict[str, Any] = {
        "weights_bytes": model.manifest["weights_bytes"],
        "golden_equals_host": bool(np.array_equal(golden, host)),
        "sqnr_vs_float_db": round(sqnr_db(floats, out), 2),
        "top1_vs_float": f"{int(np.sum(out.argmax(-1) == floats.argmax(-1)))}/{len(floats)}",
        "output": out,
    }
    if int8_out is not None:
        result["sqnr_vs_int8_db"] = round(sqnr_db(int8_out, out), 2)
    if qemu:
        firmware = model.run(quantized, int8=True, target="qemu_m4")
        result["golden_equals_qemu_m4"] = bool(np.array_equal(golden, firmware))
        figures = bench.run(model.out_dir, "qemu_m4")
        result["qemu_m4_instructions"] = figures.instructions
        result["qemu_m4_estimated_cycles"] = figures.cycles
        result["firmware_flash_bytes"] = figures.flash_bytes
    return result


def line(label: str, r: dict[str, Any]) -> str:
    vs_int8 = f"{r['sqnr_vs_int8_db']:8.2f}" if "sqnr_vs_int8_db" in r else f"{'-':>8}"
    qemu = ("yes" if r["golden_equals_qemu_m4"] else "NO") if "golden_equals_qemu_m4" in r else "-"
    instr = f"{r['qemu_m4_instructions']:>13,}" if "qemu_m4_instructions" in r else f"{'-':>13}"
    cycles = f"{r['qemu_m4_estimated_cycles']:>13,}" if r.get("qemu_m4_estimated_cycles") else f"{'-':>13}"
    return (f"{label:36} {r['weights_bytes']:>9,} {r['sqnr_vs_float_db']:8.2f} {vs_int8} {r['top1_vs_float']:>6} "
            f"{'yes' if r['golden_equals_host'] else 'NO':>7} {qemu:>7} {instr} {cycles}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=NAMES)
    parser.add_argument("--no-qemu", action="store_true", help="skip the qemu_m4 runs and instruction counts")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    qemu = not args.no_qemu
    figures: dict[str, Any] = {}
    failed = False
    print(f"{'model / precision':36} {'weights B':>9} {'SQNR/fp':>8} {'SQNR/i8':>8} {'top-1':>6} {'gold==C':>7} "
          f"{'==qemu':>7} {'instr m4':>13} {'est. cycles':>13}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in [args.only] if args.only else NAMES:
            with np.load(MODELS / name / "samples.npz") as data:
                x = data["x"].astype(np.float32)
            work = Path(tmp) / name
            int8 = tinygen.compile(source(name), work / "int8", calib=calibration(name), holdout=0)
            floats = onnxruntime_outputs(int8, {int8.inputs[0]["name"]: x})[0].reshape(len(x), -1)
            runs = {"int8": measure(int8, x, floats, None, qemu)}
            int4 = tinygen.compile(source(name), work / "int4", calib=calibration(name), holdout=0, weights="int4")
            runs["int4 weights"] = measure(int4, x, floats, runs["int8"]["output"], qemu)
            corrected = tinygen.compile(source(name), work / "int4bc", calib=calibration(name), holdout=0,
                                        weights="int4", bias_correction=True)
            runs["int4 + bias correction"] = measure(corrected, x, floats, runs["int8"]["output"], qemu)
            if name == "vww_mobilenet":  # at most SQNR_SLACK dB below int8's SQNR (measured on the same samples)
                floor = round(runs["int8"]["sqnr_vs_float_db"] - SQNR_SLACK, 1)
                auto = tinygen.compile(source(name), work / "auto", calib=calibration(name), holdout=0,
                                       precision="auto", min_sqnr=floor)
                runs[f"auto, min-sqnr {floor:g}"] = result = measure(auto, x, floats, runs["int8"]["output"], qemu)
                result["auto"] = auto.manifest["calibration"]["precision_auto"]
            if name == "kws_dscnn":
                ceiling = int(runs["int8"]["weights_bytes"] * (1 - FLASH_CUT))
                auto = tinygen.compile(source(name), work / "auto", calib=calibration(name), holdout=0,
                                       precision="auto", max_flash=ceiling)
                runs[f"auto, max-flash {ceiling:,}"] = result = measure(auto, x, floats, runs["int8"]["output"], qemu)
                result["auto"] = auto.manifest["calibration"]["precision_auto"]
                result["fits"] = result["weights_bytes"] <= ceiling
                failed |= not result["fits"]
            for label, r in runs.items():
                print(line(f"{name} {label}", r), flush=True)
                failed |= not r["golden_equals_host"] or r.get("golden_equals_qemu_m4") is False
                r.pop("output")
            figures[name] = runs
            for label, r in runs.items():
                if "auto" in r:
                    chosen = sum(c["chosen"] for c in r["auto"]["candidates"])
                    fit = f"weights fit: {'yes' if r['fits'] else 'NO'}; " if "fits" in r else ""
                    print(f"  {label}: {fit}{chosen} layer(s) int4 of {len(r['auto']['candidates'])}; top-1 "
                          f"agreement with float {r['top1_vs_float']}; search: {r['auto']['result']}", flush=True)
    print("SQNR/fp: output SQNR (dB) against onnxruntime's float model on the 16 samples; SQNR/i8: against the int8 "
          "model; instr m4: instructions executed on the emulated Cortex-M4 (qemu_m4), est. cycles: tinygen bench's "
          "Cortex-M4 estimate")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
