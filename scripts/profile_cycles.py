"""Where a firmware's estimated Cortex-M4 cycles go: per function and per translated block, from the same
traced QEMU run and timing rules as `tinygen bench` (tinygen/platformio/cycles.py).

    .venv/bin/python scripts/profile_cycles.py OUT/.tinygen/bench/qemu_m4/.pio/build/qemu_m4/firmware.elf [--top 25]

(`tinygen bench OUT` builds that firmware.) A block's line gives its address, instructions, cycles per
execution and executions: `arm-none-eabi-objdump -d --start-address=...` shows its code.
"""

from __future__ import annotations

import argparse
import bisect
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tinygen.platformio import cycles, qemu  # noqa: E402
from tinygen.platformio.envs import env_named  # noqa: E402


def functions(elf: Path) -> tuple[list[int], list[str]]:
    """Start addresses (sorted, Thumb bit cleared) and names of the ELF's functions."""
    listing = subprocess.run(["arm-none-eabi-nm", "-n", str(elf)], capture_output=True, text=True, check=True).stdout
    symbols = sorted((int(parts[0], 16) & ~1, parts[2]) for parts in map(str.split, listing.splitlines())
                     if len(parts) == 3 and parts[1] in "tT")
    return [address for address, _ in symbols], [name for _, name in symbols]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("elf", type=Path)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    if not args.elf.is_file():
        parser.error(f"{args.elf}: no such firmware (`tinygen bench OUT` builds it)")
    starts, names = functions(args.elf)

    def function_of(pc: int) -> str:
        index = bisect.bisect_right(starts, pc) - 1
        return names[index] if index >= 0 else "?"

    per_block: Counter[int] = Counter()
    per_function: Counter[str] = Counter()
    executions: Counter[int] = Counter()
    blocks: dict[int, cycles.Block] = {}
    command = qemu.command(env_named("qemu_m4"), args.elf)
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "trace.log"
        subprocess.run([*command[:-2], "-d", "in_asm,exec,nochain", "-D", str(log), *command[-2:]],
                       capture_output=True, check=True)
        previous = None
        with open(log, errors="replace") as lines:
            for block in cycles.trace_blocks(lines):
                taken = previous is not None and previous.ends_in_branch and block.pc != previous.fallthrough
                cost = block.cycles + (cycles.CORTEX_M4.refill if taken else 0)
                per_block[block.pc] += cost
                per_function[function_of(block.pc)] += cost
                executions[block.pc] += 1
                blocks[block.pc] = block
                previous = block
    total = sum(per_function.values())
    print(f"{total:,} estimated cycles in the whole run")
    for name, cost in per_function.most_common(args.top):
        print(f"{cost:>12,} {100 * cost / total:5.1f}%  {name}")
    print()
    for pc, cost in per_block.most_common(args.top):
        block = blocks[pc]
        print(f"{cost:>12,} {100 * cost / total:5.1f}%  {pc:#x} {function_of(pc)}: {block.insns} instructions, "
              f"{block.cycles} cycles per execution, {executions[pc]:,} executions")


if __name__ == "__main__":
    main()
