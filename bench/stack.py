"""Worst-case call stack of the four MLPerf Tiny models, beside their arenas (issue 14).

Compiles each model (the int8 QDQ file) and measures, with arm-none-eabi-gcc's -fstack-usage and
-fcallgraph-info on each Cortex-M env's flags (tinygen/stack.py), the worst-case stack of the model's
entry points and of every kernel function it calls. The stack is RAM the model needs beside the
static arena.

    .venv/bin/python bench/stack.py [--envs qemu_m4,qemu_m33,qemu_m3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import tinygen  # noqa: E402
from tinygen.platformio.envs import env_named  # noqa: E402
from tinygen.stack import measure, toolchain  # noqa: E402

MODELS = ["kws_dscnn", "vww_mobilenet", "ic_resnet8", "ad_autoencoder"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", default="qemu_m4,qemu_m33,qemu_m3")
    args = parser.parse_args()
    if toolchain() is None:
        print("bench/stack.py: arm-none-eabi-gcc is not on PATH (apt-get install gcc-arm-none-eabi)")
        return 0
    envs = [env_named(name) for name in args.envs.split(",")]
    print(f"{'model':<16}{'arena B':>9}" + "".join(f"{env.name + ' stack B':>18}" for env in envs)
          + "  deepest chain (first env)")
    with tempfile.TemporaryDirectory() as work:
        for name in MODELS:
            source = REPO / "models" / "mlperf_tiny" / name / f"{name}_int8_qdq.onnx"
            model = tinygen.compile(source, Path(work) / name, name=name)
            manifest = model.manifest
            reports = [measure(model.out_dir, model.name, manifest["kernel_functions"], env) for env in envs]
            figures = "".join(f"{(r.model_bytes if r else 0):>18,}" for r in reports)
            chain = " > ".join(reports[0].deepest) if reports[0] else "-"
            print(f"{name:<16}{manifest['arena_bytes']:>9,}{figures}  {chain}")
            if reports[0]:
                kernels = ", ".join(f"{k} {v}" for k, v in sorted(reports[0].kernels.items(), key=lambda kv: -kv[1]))
                print(f"{'':<16}kernels ({envs[0].name}): {kernels}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
