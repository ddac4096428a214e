"""Estimated Cortex-M4 cycles of the four MLPerf Tiny int8 QDQ models (tinygen's own estimate,
tinygen/platformio/cycles.py), per inference and per layer type (MAC/cycle), at the default arena
and at TFLM's arena as --ram-budget; beside the issue-18 targets. When the shared cm4cycles QEMU
plugin is built (CM4_PLUGIN, default ~/.cache/cyclemodel/libcm4cycles.so), the whole run of each
benchmark firmware is also measured with it and the two estimates compared (they must agree within 1 %).

    .venv/bin/python bench/cycle_estimate.py [--models kws_dscnn ...] [--no-budget]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.mlperf_speed import ANCHOR, MODELS, NAMES  # noqa: E402
from tinygen import compile as compile_model  # noqa: E402
from tinygen.bench import run  # noqa: E402
from tinygen.platformio import cycles, qemu  # noqa: E402
from tinygen.platformio.envs import env_named  # noqa: E402

# issue 18: 0.9 x the best published time at 120 MHz, in cycles
TARGET_CYCLES = {"kws_dscnn": 4_670_000, "vww_mobilenet": 9_600_000, "ic_resnet8": 17_800_000,
                 "ad_autoencoder": 437_000}


def plugin_total(elf: Path) -> tuple[int, int] | None:
    """(instructions, cycles) of the whole run by the shared cm4cycles plugin, if it is built."""
    plugin = Path(os.environ.get("CM4_PLUGIN", Path.home() / ".cache" / "cyclemodel" / "libcm4cycles.so"))
    if not plugin.is_file():
        return None
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "cm4.log"
        command = qemu.command(env_named("qemu_m4"), elf)
        subprocess.run([*command[:-2], "-plugin", f"{plugin},out={log}", *command[-2:]], capture_output=True,
                       check=True)
        total = next(line for line in log.read_text().splitlines() if line.startswith("T total")).split()
        return int(total[2]), int(total[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=NAMES)
    parser.add_argument("--no-budget", action="store_true", help="only the default arena")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tinygen-cycles-") as work:
        for name in args.models:
            budgets = [None] if args.no_budget else [None, ANCHOR[name]["arena"]]
            for budget in budgets:
                out = Path(work) / f"{name}_{budget}"
                model = compile_model(MODELS / name / f"{name}_int8_qdq.onnx", out, name="m", ram_budget=budget)
                result = run(model.out_dir, "qemu_m4", repeat=1)
                assert result.cycles is not None
                label = "default arena" if budget is None else f"--ram-budget {budget:,}"
                print(f"{name} ({label}, arena {result.arena_bytes:,} B): {result.instructions:,} instructions, "
                      f"{result.cycles:,} estimated cycles ({result.cycles_per_instruction:.2f} per instruction, "
                      f"{result.macs / result.cycles:.3f} MAC/cycle); target <= {TARGET_CYCLES[name]:,} "
                      f"({result.cycles / TARGET_CYCLES[name]:.2f}x)")
                by_op: dict[str, list[int]] = defaultdict(lambda: [0, 0])
                for layer in result.layers:
                    if layer.cycles:
                        by_op[layer.op][0] += layer.macs
                        by_op[layer.op][1] += layer.cycles
                for op, (macs, spent) in sorted(by_op.items(), key=lambda item: -item[1][1]):
                    print(f"    {op:<20} {spent:>12,} cycles {100 * spent / result.cycles:5.1f}%  "
                          f"{macs / spent if spent else 0:.3f} MAC/cycle")
                elf = out / ".tinygen" / "bench" / "qemu_m4-deploy" / ".pio" / "build" / "qemu_m4" / "firmware.elf"
                shared = plugin_total(elf)
                if shared is not None:
                    own = cycles.trace_firmware(qemu.command(env_named("qemu_m4"), elf), elf, []).total
                    print(f"    whole firmware run: tinygen {own.instructions:,} instructions / {own.cycles:,} cycles;"
                          f" cm4cycles plugin {shared[0]:,} / {shared[1]:,} "
                          f"({100 * (own.cycles - shared[1]) / shared[1]:+.3f} % cycles)")


if __name__ == "__main__":
    main()
