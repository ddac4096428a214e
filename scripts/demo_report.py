"""The closing report of `make demo` (scripts/demo.sh): figures of a compiled model and how its
int8 outputs on the host simulator compare with the float model and the TFLite int8 model.

Usage: python scripts/demo_report.py OUT SAMPLES.npz Y_HOST.npy

SAMPLES.npz is a bundled model's samples file (models/mlperf_tiny/<model>/samples.npz): `x`, the
float model's outputs `y_float` (and `y_float_matched` for kws), and `y_int8`, the outputs of the
original int8 TFLite model. Y_HOST.npy is what `tinygen run OUT --input x.npy` wrote.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import tinygen

# models/mlperf_tiny/kws_dscnn/README.md, "Output" (word_labels of MLPerf Tiny's get_dataset.py).
KWS_LABELS = ["Down", "Go", "Left", "No", "Off", "On", "Right", "Stop", "Up", "Yes", "Silence", "Unknown"]


def main(out_dir: str, samples_path: str, host_path: str) -> int:
    model = tinygen.load(out_dir)
    m = model.manifest
    with np.load(samples_path) as data:
        samples = {key: data[key] for key in data.files}
    y_host = np.load(host_path)
    # The float model this demo compiled: the "matched" kws model has its own reference outputs.
    float_key = "y_float_matched" if "matched" in m["model_file"] and "y_float_matched" in samples else "y_float"
    y_float = samples[float_key]
    count = y_host.shape[0]

    def agree(reference: np.ndarray) -> str:
        same = int(np.sum(np.argmax(reference.reshape(count, -1), 1) == np.argmax(y_host.reshape(count, -1), 1)))
        return f"{same}/{count}"

    print(f"model            {m['model_file']} -> C prefix '{m['name']}' ({m['layers']} layers)")
    print(f"arena (RAM)      {m['arena_bytes']:,} B  (lower bound for this schedule "
          f"{m['arena_lower_bound_bytes']:,} B)")
    print(f"weights (flash)  {m['weights_bytes']:,} B  (all constants {m['constants_bytes']:,} B)")
    print(f"parameters       {m['params']:,}")
    print(f"MACs             {m['macs']:,} per inference")
    print(f"calibration      {m['calibration'].get('method')} on {m['calibration'].get('samples')} input(s) "
          f"from {m['calibration'].get('source')}")
    print()
    print(f"host simulator on {count} bundled sample(s) (real MFCC windows; no labels, so this is agreement, "
          "not accuracy):")
    print(f"  top-1 vs the float model (onnxruntime)        {agree(y_float)}")
    if "y_int8" in samples:
        print(f"  top-1 vs the original int8 TFLite model       {agree(samples['y_int8'].astype(np.float32))}")
    diff = np.abs(y_host.reshape(count, -1) - y_float.reshape(count, -1))
    print(f"  max |int8 - float| output difference          {float(diff.max()):.4f} "
          f"(mean {float(diff.mean()):.4f})")

    if y_host.reshape(count, -1).shape[1] == len(KWS_LABELS) and "kws" in m["model_file"]:
        print()
        print("  sample  float model       tinygen int8 (host C)")
        for i in range(count):
            f, q = y_float.reshape(count, -1)[i], y_host.reshape(count, -1)[i]
            print(f"  {i:6d}  {KWS_LABELS[int(np.argmax(f))]:8s} {float(f.max()):5.2f}   "
                  f"{KWS_LABELS[int(np.argmax(q))]:8s} {float(q.max()):5.2f}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        sys.exit(2)
    sys.exit(main(*(str(Path(arg)) for arg in sys.argv[1:])))
