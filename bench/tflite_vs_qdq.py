"""The four MLPerf Tiny int8 models compiled two ways -- directly from the original .tflite and from its QDQ
ONNX conversion -- side by side on the emulated Cortex-M4 (`tinygen bench`, qemu_m4): arena, firmware flash
and instructions per inference must be equal (issue 13's acceptance). Exit status 1 when any differs.

Figures are guest instructions executed on QEMU 7.2 with -icount shift=0 (bench/mlperf_speed.py explains the
recipe), for the default compile (the smallest arena).

    .venv/bin/python bench/tflite_vs_qdq.py [--models kws_dscnn ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models" / "mlperf_tiny"
NAMES = ["kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder"]
ROUTES = {".tflite": "{name}_int8.tflite", "QDQ ONNX": "{name}_int8_qdq.onnx"}


def measure(name: str, work: Path) -> dict[str, tuple[int, int, int]]:
    """Per route: (arena bytes, flash bytes, instructions per inference) on qemu_m4."""
    import tinygen
    from tinygen import bench

    figures = {}
    for route, pattern in ROUTES.items():
        out = work / f"{name}_{route.split()[0].strip('.').lower()}"
        tinygen.compile(MODELS / name / pattern.format(name=name), out, name="m", force=True)
        result = bench.run(out, "qemu_m4")
        figures[route] = (result.arena_bytes, result.flash_bytes, result.instructions)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=NAMES, choices=NAMES)
    args = parser.parse_args()
    differ = False
    print(f"{'model':16} {'route':9} {'arena B':>9} {'flash B':>9} {'instructions':>13}")
    with tempfile.TemporaryDirectory() as work:
        for name in args.models:
            figures = measure(name, Path(work))
            for route, (arena, flash, instructions) in figures.items():
                print(f"{name:16} {route:9} {arena:9,} {flash:9,} {instructions:13,}", flush=True)
            same = len(set(figures.values())) == 1
            differ |= not same
            print(f"{'':16} {'equal' if same else 'DIFFERENT'}", flush=True)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
