#!/usr/bin/env bash
# `make demo`: the main job of tinygen on the bundled default model, step by step, as a user
# would type it.
#
# Default model: MLPerf Tiny keyword spotting DS-CNN, `kws_dscnn_float_matched.onnx` -- the float
# parent of MLPerf Tiny's int8 reference model (models/mlperf_tiny/kws_dscnn/README.md explains
# why it is preferred over kws_dscnn_float.onnx), calibrated on the 74 real MFCC inputs of its
# calib.npz and checked on the 16 inputs of its samples.npz (real MFCC windows, also among the
# calibration inputs). It is small (2.7 M MACs, an 8,640-byte arena) so the demo takes seconds.
#
# Steps: compile -> verify (golden reference == generated C on the host, bit for bit) -> run the
# host simulator on the samples -> report (arena, weights, MACs, top-1 vs float) -> emulated
# Cortex-M: build the PlatformIO project for QEMU's Cortex-M4F and run its test firmware there.
#
# Expects `make setup` to have run (the Makefile's demo target does that). Override the model
# with DEMO_MODEL, DEMO_CALIB, DEMO_SAMPLES, DEMO_NAME; the output folder with DEMO_OUT.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$(pwd)
export PATH="$REPO/${VENV:-.venv}/bin:$PATH"
export PLATFORMIO_DISABLE_UPGRADE_CHECK=true

MODEL_DIR=models/mlperf_tiny/kws_dscnn
MODEL=${DEMO_MODEL:-$MODEL_DIR/kws_dscnn_float_matched.onnx}
CALIB=${DEMO_CALIB:-$MODEL_DIR/calib.npz}
SAMPLES=${DEMO_SAMPLES:-$MODEL_DIR/samples.npz}
NAME=${DEMO_NAME:-kws}
WORK=${DEMO_OUT:-out/demo}
OUT=$WORK/$NAME

section() { printf '\n==== %s ====\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }

if ! command -v tinygen >/dev/null 2>&1; then
    echo "error: no 'tinygen' command; run 'make setup' first (or 'make demo', which does)." >&2
    exit 2
fi
mkdir -p "$WORK"
start=$SECONDS

section "1. Compile: ONNX -> IR -> passes -> calibrate + quantize (int8) -> memory plan -> C"
show tinygen compile "$MODEL" -o "$OUT" --calib "$CALIB" --name "$NAME"
echo
echo "Generated C project in $OUT:"
(cd "$OUT" && find "lib/$NAME" -type f | sort | sed 's/^/  /')
echo "  lib/tinygen_kernels/: $(find "$OUT/lib/tinygen_kernels/include" -name '*.h' | wc -l) headers," \
    "$(find "$OUT/lib/tinygen_kernels/src" -name '*.c' | wc -l) kernel sources (the ones this model calls)"
echo "  .tinygen/: metadata (manifest, int8 IR, samples, source model) for tinygen run/verify"
if [ -f "$OUT/platformio.ini" ]; then
    echo "  platformio.ini, src/, test/, lib/tinygen_harness/: the PlatformIO project (step 5)"
fi
echo
echo "Its API ($OUT/lib/$NAME/$NAME.h):"
grep -E "^(int|int8_t \*)" "$OUT/lib/$NAME/$NAME.h" | sed 's/^/  /'

section "2. Verify: golden reference (numpy) vs the generated C on the host, bit for bit"
show tinygen verify "$OUT" --input "$SAMPLES"

section "3. Run: the host simulator (the generated C compiled for this PC) on the samples"
python -c "import numpy as np, sys; np.save(sys.argv[2], np.load(sys.argv[1])['x'])" "$SAMPLES" "$WORK/samples_x.npy"
show tinygen run "$OUT" --input "$WORK/samples_x.npy" --output "$WORK/${NAME}_outputs.npy"

section "4. Report"
python scripts/demo_report.py "$OUT" "$SAMPLES" "$WORK/${NAME}_outputs.npy"

section "5. Emulated Cortex-M (QEMU mps2-an386, Cortex-M4F)"
# Hook for the PlatformIO/QEMU targets: when this tinygen has `tinygen build`, build the firmware
# for the emulated Cortex-M4F and "flash" it, i.e. run it under QEMU on the embedded test vectors.
if tinygen build --help >/dev/null 2>&1; then
    show tinygen build "$OUT" -e qemu_m4
    show tinygen flash "$OUT" -e qemu_m4
else
    echo "skipped: 'tinygen build' is not available (PlatformIO is missing from this Python: run"
    echo "'make setup'); the emulated Cortex-M step needs it."
fi

section "Done in $((SECONDS - start)) s"
echo "Output folder: $OUT  (try: tinygen run $OUT --input x.npy --output y.npy)"
