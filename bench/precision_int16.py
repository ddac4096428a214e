"""int8 vs int16 activations (issue 16, TFLite's 16x8 scheme) on the four float MLPerf Tiny models.

Each model is compiled twice from its float ONNX with its calibration data (calib.npz, or samples.npz
where it has none): `--activations int8` and `--activations int16`. For each: the golden reference and the
generated C on the host simulator (built with ASan/UBSan) must agree on every byte of the samples'
outputs, and the output's SQNR against onnxruntime running the float model is printed; with --qemu, the
qemu_m4 firmware's outputs are compared too and the instructions of one inference on the emulated
Cortex-M4 printed (tinygen.bench).

    .venv/bin/python bench/precision_int16.py [--only kws_dscnn] [--qemu]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import tinygen  # noqa: E402
from tinygen.verification import onnxruntime_outputs, sqnr_db  # noqa: E402

MODELS = REPO / "models" / "mlperf_tiny"
NAMES = ["kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder"]


def calibration(folder: Path) -> Path:
    return folder / "calib.npz" if (folder / "calib.npz").exists() else folder / "samples.npz"


def measure(name: str, activations: str, out: Path, qemu: bool) -> dict[str, object]:
    folder = MODELS / name
    model = tinygen.compile(folder / f"{name}_float.onnx", out / f"{name}_{activations}",
                            calib=str(calibration(folder)), activations=activations)
    with np.load(folder / "samples.npz") as data:
        x = data["x"]
    quantized = model.quantize(model.inputs[0], x)
    golden = model.golden(quantized, int8=True)
    host = model.run(quantized, int8=True, sanitize=True)
    assert isinstance(golden, np.ndarray) and isinstance(host, np.ndarray)
    result: dict[str, object] = {"identical": bool(np.array_equal(golden, host)), "dtype": str(golden.dtype)}
    reference = onnxruntime_outputs(model, {model.inputs[0]["name"]: x})[0]
    output = model.dequantize(model.outputs[0], golden)
    result["sqnr"] = sqnr_db(reference.reshape(output.shape), output)
    result["arena"] = model.manifest["arena_bytes"]
    if qemu:
        from tinygen import bench

        firmware = model.run(quantized, int8=True, target="qemu_m4")
        result["qemu_identical"] = bool(np.array_equal(golden, firmware))
        result["instructions"] = bench.run(model.out_dir, "qemu_m4", repeat=1, with_cycles=False).instructions
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=NAMES)
    parser.add_argument("--qemu", action="store_true", help="also run the qemu_m4 firmware")
    args = parser.parse_args()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'model':16} {'activations':12} {'golden==C':10} {'qemu':6} {'SQNR dB':>8} {'arena B':>8} "
              f"{'qemu_m4 instructions':>21}")
        for name in [args.only] if args.only else NAMES:
            for activations in ("int8", "int16"):
                r = measure(name, activations, Path(tmp), args.qemu)
                qemu = ("yes" if r["qemu_identical"] else "NO") if "qemu_identical" in r else "-"
                print(f"{name:16} {activations:12} {'yes' if r['identical'] else 'NO':10} {qemu:6} "
                      f"{r['sqnr']:8.2f} {r['arena']:8} {r.get('instructions', 0):21,}", flush=True)
                failed |= not r["identical"] or r.get("qemu_identical") is False
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
