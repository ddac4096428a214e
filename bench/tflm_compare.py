"""Memory of the four MLPerf Tiny int8 models: tinygen beside TensorFlow Lite Micro.

For each QDQ model: tinygen's arena (every activation byte, input, output and scratch) beside
the arena the `tflite-micro` package's interpreter allocates for the original .tflite (its
RecordingMicroAllocator report: head = tensors, tail = persistent interpreter data), and
tinygen's weight bytes (int8 weights + int32 biases; and all constants incl. requantization
parameters) beside the size of the .tflite file.

    .venv/bin/python bench/tflm_compare.py
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models" / "mlperf_tiny"
NAMES = ["kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder"]


def tflm_allocations(tflite: Path) -> dict[str, int]:
    """Invoke once and parse the interpreter's allocation report. The report is printed by the
    interpreter's C++ code through its own buffered stdout, so it runs in a child process."""
    script = (
        "import numpy as np\n"
        "from tflite_micro.python.tflite_micro import runtime\n"
        f"interpreter = runtime.Interpreter.from_file({str(tflite)!r})\n"
        "details = interpreter.get_input_details(0)\n"
        "interpreter.set_input(np.zeros(details['shape'], np.int8), 0)\n"
        "interpreter.invoke()\n"
        "interpreter.print_allocations()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    report = result.stdout + result.stderr
    figures = {}
    for key in ("total", "head", "tail"):
        match = re.search(rf"Arena allocation {key} (\d+) bytes", report)
        figures[key] = int(match.group(1)) if match else -1
    return figures


def main() -> None:
    import tinygen

    rows = []
    with tempfile.TemporaryDirectory() as work:
        for name in NAMES:
            model = tinygen.compile(MODELS / name / f"{name}_int8_qdq.onnx", Path(work) / name)
            manifest = model.manifest
            tflm = tflm_allocations(MODELS / name / f"{name}_int8.tflite")
            tflite_size = (MODELS / name / f"{name}_int8.tflite").stat().st_size
            rows.append((name, manifest["arena_bytes"], manifest["arena_lower_bound_bytes"], tflm["total"],
                         tflm["head"], manifest["weights_bytes"], manifest["constants_bytes"], tflite_size))
    header = ("model", "tinygen arena", "lower bound", "TFLM arena total", "TFLM tensors (head)",
              "tinygen weights", "tinygen constants", ".tflite size")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join([row[0], *(f"{v:,}" for v in row[1:])]) + " |")


if __name__ == "__main__":
    main()
