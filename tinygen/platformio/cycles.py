"""Estimated cycles of a firmware run under QEMU, from its execution trace, per Cortex-M core.

QEMU models no pipeline, so tinygen estimates cycles from the instructions executed, with a timing
table per core (Core, CORES; chosen by the env's -mcpu), zero wait states everywhere. The Cortex-M4
table is the Technical Reference Manual's (ARM DDI 0439, table 3-1 and "Load/store timings"),
with a pipeline refill P = 2 cycles per taken branch:

- data processing, multiplies and DSP multiply-accumulates (single-cycle MAC), IT, NOP: 1 cycle;
  SDIV/UDIV 7 (the middle of 2-12, early termination not modelled); ISB 1 + P.
- single loads (LDR, LDRB, LDRH, LDRSB, LDRSH, LDREX): 2, or 1 when the previous instruction was a
  single load whose destination does not form this address (loads pipeline); STR with an
  immediate offset 1, with a register offset 2 (1 after such a load); +1 for any load or store
  whose base or index register the previous non-load/store instruction wrote (no forwarding to
  the address generator). LDRD/STRD 3; LDM/STM/PUSH/POP 1 + N registers (VLDM/VSTM/VPUSH/VPOP:
  N 32-bit words); VLDR/VSTR 2 (.32) or 3 (.64).
- B, BL, BX, BLX, CBZ, CBNZ, MOV/ADD to PC, LDR PC, POP/LDM with PC: 1 (2 for the loads), + P
  when taken; TBB/TBH 2 + P.
- VFP: 1; VMLA/VMLS/VNMLA/VNMLS/VFMA/VFMS/VFNMA/VFNMS 3; VDIV/VSQRT 14; VMOV of two core registers 2.

Where the other cores differ (everything else is the M4's):

- Cortex-M3 (TRM ARM DDI 0337I, table 3.1): MLA/MLS 2 cycles; SMULL/UMULL 3-5 and SMLAL/UMLAL 4-7
  with early termination when both operands are below 64K in magnitude: counted 5 and 7, the
  large-operand case of tinygen's requantizing multiplies (a Q31 multiplier). No DSP or FPU
  instructions (the firmware is built without them).
- Cortex-M33: Arm publishes no instruction timing table. Modelled from what its pipeline is
  documented to do differently: the load/store address is generated one stage earlier, so a
  single load or store costs 1 cycle (never 2, no pairing rule needed), and branches resolve in
  the second stage, P = 1. Its limited dual issue of 16-bit instructions is not modelled (an upper
  estimate).
- Cortex-M7: Arm publishes no timing table either; this is an estimate of its dual issue, after
  public measurements (quinapalus.com "Cortex-M7 instruction cycle counts"): a 1-cycle instruction
  issues together with the 1-cycle instruction before it (both cost 1 cycle together) unless that
  one already paired, both access memory, both multiply, the second is a DSP/SIMD or extend
  instruction (those pair only as the first of two), the second reads or writes a register the
  first writes, or the first writes the PC. Single loads and stores 1 cycle, +1 when the next
  instruction reads the loaded register (load-to-use latency 2); LDM/STM/LDRD/STRD move 2 words
  per cycle (64-bit data path): 1 + ceil(N / 2); P = 1 (the branch predictor hides most of the
  6-stage refill; mispredictions not modelled). Caches and TCM are assumed always hit.

Not modelled on any core: flash wait states, bus contention, unaligned accesses, failed IT conditions
(costed as executed), FPU result latencies.

How: QEMU runs the firmware with `-d in_asm,exec,nochain` (every translated block's disassembly,
and a line per block executed, chaining off so none is skipped) under `-icount shift=0` (so the
SysTick interrupts fall where the instruction counts put them). Each block's cost is static: the
pairing rules only look at the previous instruction (insn_cost), and a block's first instruction is
costed as issued after nothing, which is right after a taken branch (the pipeline refilled). When
the block before fell straight into it instead -- QEMU ends blocks at 1 KB page boundaries and at
its block size too, places the silicon knows nothing of -- the first instruction is costed again
after that block's last one (Block.carried): a chain of loads split there still pipelines. (Without
that, where a hot loop crossed a page boundary moved IC's estimate by up to 50,000 cycles with the
code's layout; the shared cm4cycles plugin still has the artifact.) The taken-branch penalty is
dynamic: a block that ends in a branch and is followed by a block not at its fall-through address
paid P.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BuildError

P = 2  # pipeline refill of a taken branch (1-3 in the TRM)
DIV_CYCLES = 7
CONDITIONS = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al")
LOADS = {"ldr", "ldrb", "ldrh", "ldrsb", "ldrsh", "ldrex", "ldrexb", "ldrexh", "ldrt", "ldrbt", "ldrht", "ldrsbt",
         "ldrsht"}
STORES = {"str", "strb", "strh", "strex", "strexb", "strexh", "strt", "strbt", "strht"}
PAIRS = {"ldrd", "strd", "ldrexd", "strexd"}
MULTIPLE = {"ldm", "ldmia", "ldmfd", "ldmdb", "ldmea", "stm", "stmia", "stmea", "stmdb", "stmfd", "push", "pop",
            "vldmia", "vldmdb", "vstmia", "vstmdb", "vpush", "vpop", "vldm", "vstm"}
BRANCHES = {"b", "bl", "bx", "blx", "cbz", "cbnz"}
TABLE_BRANCHES = {"tbb", "tbh"}
VFP_3 = {"vmla", "vmls", "vnmla", "vnmls", "vfma", "vfms", "vfnma", "vfnms"}
NO_DESTINATION = {"cmp", "cmn", "tst", "teq", "it", "nop", "dsb", "dmb", "isb", "bkpt", "svc", "cpsid", "cpsie",
                  "wfi", "wfe", "sev", "msr", "vcmp", "vcmpe", "vmsr", "yield"}
TWO_DESTINATIONS = {"umull", "smull", "umlal", "smlal", "umaal", "smlald", "smlaldx", "smlsld", "smlsldx",
                    "smlalbb", "smlalbt", "smlaltb", "smlaltt"}
REGISTER = re.compile(r"\b(r\d{1,2}|sb|sl|fp|ip|sp|lr|pc)\b")
NAMED = {"sb": 9, "sl": 10, "fp": 11, "ip": 12, "sp": 13, "lr": 14, "pc": 15}
KNOWN = (LOADS | STORES | PAIRS | MULTIPLE | BRANCHES | TABLE_BRANCHES | VFP_3 | NO_DESTINATION | TWO_DESTINATIONS
         | {"sdiv", "udiv", "vdiv", "vsqrt", "vmov", "vldr", "vstr", "mov", "add", "sub", "mul", "mla", "and", "orr",
            "eor", "bic", "lsl", "lsr", "asr", "ror", "mvn", "adc", "sbc", "rsb", "neg", "orn"})


@dataclass(frozen=True)
class Core:
    """The timings in which a core differs from the Cortex-M4's (see the module docstring)."""

    name: str  # the -mcpu name
    summary: str  # what is estimated, as `tinygen bench` prints it
    refill: int = P  # P: pipeline refill of a taken branch
    mla: int = 1  # MLA, MLS
    long_multiply: int = 1  # SMULL, UMULL
    long_accumulate: int = 1  # SMLAL, UMLAL, UMAAL
    single_load: int = 2  # a single load or register-offset store that does not pipeline with the one before
    pipelined_loads: bool = True  # the M3/M4 rule: a load after a load (not forming its address) costs 1
    words_per_cycle: int = 1  # LDM/STM/LDRD/STRD transfer width
    load_use: int = 0  # stall of an instruction reading the register the load before it wrote
    dual_issue: bool = False  # the M7's pairing rule


CORTEX_M4 = Core("cortex-m4", "Cortex-M4 TRM timings, zero wait states, taken branch 1 + 2 cycles")
CORES = {core.name: core for core in (
    CORTEX_M4,
    Core("cortex-m3", "Cortex-M3 TRM timings (MLA 2, SMULL/UMULL 5, SMLAL/UMLAL 7 cycles), zero wait states, "
         "taken branch 1 + 2 cycles", mla=2, long_multiply=5, long_accumulate=7),
    Core("cortex-m33", "Cortex-M33 estimate: the M4's timings with single-cycle loads and stores, taken branch "
         "1 + 1, dual issue not modelled; zero wait states", refill=1, single_load=1, pipelined_loads=False),
    Core("cortex-m7", "Cortex-M7 estimate: dual issue of independent 1-cycle pairs, single-cycle loads (load-use "
         "+1), 64-bit LDM/LDRD, taken branch 1 + 1; zero wait states, caches always hit", refill=1, single_load=1,
         pipelined_loads=False, words_per_cycle=2, load_use=1, dual_issue=True),
)}


def core_for(cpu: str | None) -> Core:
    """The timing table of a -mcpu core; the M4's for any other (the qemu envs are M3, M4, M7 and M33)."""
    return CORES.get(cpu or "", CORTEX_M4)


def _register(name: str) -> int:
    return NAMED.get(name, int(name[1:]) if name.startswith("r") else -1)


def base_mnemonic(mnemonic: str) -> str:
    """`ldr.w` -> ldr, `movne` -> mov, `adds` -> add, `bls` -> b, `vldr.32` -> vldr; a mnemonic of no
    class that matters here is returned as it is (it costs one cycle whatever its suffixes)."""
    m = mnemonic.lower().split(".")[0]
    stems = [m]
    if len(m) > 2 and m[-2:] in CONDITIONS:  # before the flag-setting s: `bls` is b + ls
        stems += [m[:-2], m[:-3]] if m[:-2].endswith("s") else [m[:-2]]
    if m.endswith("s"):
        stems.append(m[:-1])
    return next((stem for stem in stems if stem in KNOWN), m)


@dataclass
class Insn:
    address: int
    size: int
    mnemonic: str  # base mnemonic
    operands: str
    wide_first: bool = False  # first operand a D register (VLDR.64)


@dataclass
class Block:
    """One translated block: its static cycles, instructions, and whether it ends in a branch."""
    pc: int
    insns: int
    cycles: int
    fallthrough: int
    ends_in_branch: bool
    starts: tuple[tuple[int, int, int], ...] = ()  # per instruction: (address, insns, cycles before it)
    head: Insn | None = None  # the first instruction
    tail: Issued | None = None  # what the last one leaves for the pairing rules (None: not known)

    def cut_at(self, address: int) -> Block:
        """The part that ran before QEMU rewound the block to `address` (an I/O access under -icount
        ends the block there and runs the rest anew)."""
        for start, insns, cycles in self.starts:
            if start == address:
                return Block(self.pc, insns, cycles, address, False, self.starts[:insns], self.head)
        raise BuildError(f"cycle estimate: QEMU rewound the block at {self.pc:#x} to {address:#x}, not one of "
                         "its instructions")

    def carried(self, before: Issued | None, core: Core) -> int:
        """The cycles the first instruction's cost changes by when the block before fell straight into this
        one (it ended at a page boundary or at QEMU's block size, not in a branch): it issues after that
        block's last instruction, not after nothing (a chain of loads split there still pipelines)."""
        if self.head is None or before is None:
            return 0
        return insn_cost(self.head, before, core)[0] - insn_cost(self.head, NOTHING, core)[0]


def _address_registers(operands: str) -> set[int]:
    inside = operands[operands.find("["):operands.find("]") + 1] if "[" in operands else ""
    return {_register(r) for r in REGISTER.findall(inside)}


def _list_words(operands: str) -> int:
    inside = operands[operands.find("{") + 1:operands.find("}")] if "{" in operands else ""
    words = 0
    for item in (part.strip() for part in inside.split(",") if part.strip()):
        if "-" in item:  # d8-d15
            first, last = item.split("-")
            count = int(last[1:]) - int(first[1:]) + 1
            words += count * (2 if first.startswith("d") else 1)
        else:
            words += 2 if item.startswith("d") else 1
    return words


def _writes_pc(insn: Insn) -> bool:
    operands = insn.operands
    if insn.mnemonic in MULTIPLE or insn.mnemonic in PAIRS:
        return "pc" in operands[operands.find("{"):] if "{" in operands else False
    first = operands.split(",")[0].strip()
    return first == "pc"


def _written(insn: Insn) -> set[int]:
    """General registers an instruction outside the load/store classes writes (its destination(s))."""
    if insn.mnemonic in NO_DESTINATION or not insn.operands:
        return set()
    parts = [part.strip() for part in insn.operands.split(",")]
    count = 2 if insn.mnemonic in TWO_DESTINATIONS or (insn.mnemonic == "vmov" and len(parts) >= 3) else 1
    return {_register(p) for p in parts[:count] if REGISTER.fullmatch(p)}


MULTIPLY_ACCUMULATE = {"mla", "mls"}
LONG_MULTIPLY = {"smull", "umull"}
LONG_ACCUMULATE = {"smlal", "umlal", "umaal"}
MULTIPLIES = {"mul", "mla", "mls", "smull", "umull", "smlal", "umlal", "umaal", "smmul", "smmulr", "smmla", "smmlar",
              "smmls", "smmlsr", "smlad", "smladx", "smlsd", "smlsdx", "smuad", "smuadx", "smusd", "smusdx", "smlald",
              "smlaldx", "smlsld", "smlsldx", "smulbb", "smulbt", "smultb", "smultt", "smlabb", "smlabt", "smlatb",
              "smlatt", "smulwb", "smulwt", "smlawb", "smlawt", "smlalbb", "smlalbt", "smlaltb", "smlaltt", "usad8",
              "usada8", "sdiv", "udiv"}
# DSP/SIMD and extend instructions: on the M7 they pair only as the first of two
SIMD = re.compile(r"^(s|u|q|sh|uh|uq)(add|sub|asx|sax)(8|16)$|^(s|u)xta?(b|h|b16)$|^(pkhbt|pkhtb|sel|ssat16|usat16|"
                  r"ssat|usat|qadd|qsub|qdadd|qdsub|rev|rev16|revsh|rbit|clz|bfi|bfc|ubfx|sbfx)$")
MEMORY = LOADS | STORES | PAIRS | MULTIPLE | {"vldr", "vstr"}


def _reads(insn: Insn, written: set[int]) -> set[int]:
    """General registers an instruction reads: every register it names but its destination(s) (a store, a
    compare, a branch: all of them)."""
    named = {_register(r) for r in REGISTER.findall(insn.operands)}
    if insn.mnemonic in STORES or insn.mnemonic in ("strd", "strexd"):
        return named
    if insn.mnemonic in LOADS or insn.mnemonic in ("ldrd", "ldrexd"):
        return _address_registers(insn.operands)
    return named - written if insn.mnemonic not in NO_DESTINATION else named


@dataclass(frozen=True)
class Issued:
    """What the pairing rules read of the instruction issued just before: a single load's destination (loads
    pipeline), the registers a data-processing instruction wrote (an address formed from them stalls), and
    for the M7's dual issue whether it could take a partner, its class and its writes."""

    load_dst: int | None = None
    dp_writes: frozenset[int] = frozenset()
    pairable: bool = False
    memory: bool = False
    multiply: bool = False
    writes: frozenset[int] = frozenset()


NOTHING = Issued()  # after a taken branch (the pipeline refilled): nothing to pair with


def insn_cost(insn: Insn, before: Issued, core: Core = CORTEX_M4) -> tuple[int, bool, Issued]:
    """(cycles, whether it writes the PC, what the next instruction's rules read) of `insn` issued after
    `before`."""
    m, operands = insn.mnemonic, insn.operands
    load_dst, dp_writes, branch = None, set(), False
    writes: set[int] = set()
    prev_load_dst, prev_dp_writes = before.load_dst, before.dp_writes
    if m in LOADS or m in STORES:
        address = _address_registers(operands)
        pipelines = core.pipelined_loads and prev_load_dst is not None and prev_load_dst not in address
        if m in LOADS:
            load_dst = _register(operands.split(",")[0].strip())
            writes = {load_dst}
            branch = load_dst == 15
            cost = 2 if branch else 1 if pipelines else core.single_load
        else:
            index = len(address) > 1
            cost = 1 if not index or pipelines else core.single_load
        cost += 1 if address & prev_dp_writes else 0
    elif m in PAIRS:
        cost = 1 + -(-2 // core.words_per_cycle) + (1 if _address_registers(operands) & prev_dp_writes else 0)
        branch = _writes_pc(insn)
    elif m in MULTIPLE:
        cost = 1 + -(-_list_words(operands) // core.words_per_cycle)
        if m not in ("push", "pop", "vpush", "vpop"):
            base = REGISTER.findall(operands.split(",")[0])
            cost += 1 if base and _register(base[0]) in prev_dp_writes else 0
        branch = _writes_pc(insn)
    elif m in ("vldr", "vstr"):
        cost = (3 if operands.strip().startswith("d") else 2) + (
            1 if _address_registers(operands) & prev_dp_writes else 0)
    elif m in BRANCHES:
        cost, branch = 1, True
    elif m in TABLE_BRANCHES:
        cost, branch = 2, True
    else:
        if m in ("sdiv", "udiv"):
            cost = DIV_CYCLES
        elif m == "isb":
            cost = 1 + core.refill
        elif m in ("vdiv", "vsqrt"):
            cost = 14
        elif m in VFP_3:
            cost = 3
        elif m == "vmov":
            core_registers = [p for p in (part.strip() for part in operands.split(",")) if REGISTER.fullmatch(p)]
            cost = 2 if len(core_registers) >= 2 else 1
        elif m in MULTIPLY_ACCUMULATE:
            cost = core.mla
        elif m in LONG_MULTIPLY:
            cost = core.long_multiply
        elif m in LONG_ACCUMULATE:
            cost = core.long_accumulate
        else:
            cost = 1
        branch = _writes_pc(insn)
        dp_writes = _written(insn)
        writes = dp_writes
    reads = _reads(insn, writes) if core.load_use or core.dual_issue else set()
    if core.load_use and prev_load_dst is not None and prev_load_dst in reads:
        cost += core.load_use
    pairable = cost == 1 and not branch
    memory, multiply = m in MEMORY, m in MULTIPLIES
    if (core.dual_issue and before.pairable and cost == 1 and not (memory and before.memory)
            and not (multiply and before.multiply) and not SIMD.match(m)
            and not (before.writes & (reads | writes))):
        cost, pairable = 0, False  # issued with the previous instruction, which takes no other partner
    return cost, branch, Issued(load_dst, frozenset(dp_writes), pairable, memory, multiply, frozenset(writes))


def block_cost(insns: list[Insn], core: Core = CORTEX_M4) -> Block:
    """A block's static cost, its first instruction issued after nothing (`Block.carried` corrects that when
    the block before fell through into it)."""
    cycles, ends_in_branch = 0, False
    starts = []
    issued = NOTHING
    for count, insn in enumerate(insns):
        starts.append((insn.address, count, cycles))
        cost, ends_in_branch, issued = insn_cost(insn, issued, core)
        cycles += cost
    last = insns[-1]
    return Block(insns[0].address, len(insns), cycles, last.address + last.size, ends_in_branch, tuple(starts),
                 insns[0], issued)


LINE = re.compile(r"^0x([0-9a-f]+):\s{2}((?:[0-9a-f]{4} ?)+?)\s{2,}(\S+)\s*(.*?)\s*$")
TRACE = re.compile(r"^Trace \d+: (0x[0-9a-f]+) \[[0-9a-f]+/([0-9a-f]+)/")
REWOUND = re.compile(r"^cpu_io_recompile: rewound execution of TB to ([0-9a-f]+)")
STOPPED = re.compile(r"^Stopped execution of TB chain before (0x[0-9a-f]+)")


def trace_blocks(log: Iterator[str], core: Core = CORTEX_M4) -> Iterator[Block]:
    """The blocks a `-d in_asm,exec,nochain` log shows executed, in order. A translation's
    disassembly comes just before its first execution; later executions name the translated
    code's host address, which a retranslation (a flush, an I/O access) gives anew. A block QEMU
    rewound counts only up to where it stopped; one it logged but then did not enter (an interrupt
    or the instruction budget due first: "Stopped execution of TB chain before") not at all."""
    translated: dict[str, Block] = {}
    pending: list[Insn] = []
    last: Block | None = None
    last_host = ""
    for line in log:
        if line.startswith("0x"):
            match = LINE.match(line)
            if match:
                address, hexes, mnemonic, operands = match.groups()
                pending.append(Insn(int(address, 16), 2 * len(hexes.split()), base_mnemonic(mnemonic), operands))
        elif line.startswith("Trace "):
            match = TRACE.match(line)
            if match is None:
                continue
            host, pc = match.group(1), int(match.group(2), 16)
            if pending:
                translated[host] = block_cost(pending, core)
                pending = []
            block = translated.get(host)
            if block is None or block.pc != pc:
                raise BuildError(f"cycle estimate: the QEMU trace runs a block at {pc:#x} it never showed translated")
            if last is not None:
                yield last
            last, last_host = block, host
        elif line.startswith("cpu_io_recompile") and last is not None:
            match = REWOUND.match(line)
            if match:
                last = last.cut_at(int(match.group(1), 16))
        elif line.startswith("Stopped execution") and last is not None:
            match = STOPPED.match(line)
            if match and match.group(1) == last_host:
                last = None
    if last is not None:
        yield last


@dataclass
class CycleCount:
    instructions: int = 0
    cycles: int = 0
    taken_branches: int = 0

    def __sub__(self, other: CycleCount) -> CycleCount:
        return CycleCount(self.instructions - other.instructions, self.cycles - other.cycles,
                          self.taken_branches - other.taken_branches)


@dataclass
class CycleTrace:
    """The whole run's counts, and the running counts each time a probed function was entered
    (label, counts before its first instruction), in order."""
    total: CycleCount
    marks: list[tuple[str, CycleCount]] = field(default_factory=list)

    def between(self, start: str, end: str) -> list[CycleCount]:
        """The counts from each `start` mark to the next `end` mark."""
        spans, opened = [], None
        for label, count in self.marks:
            if label == start and opened is None:
                opened = count
            elif label == end and opened is not None:
                spans.append(count - opened)
                opened = None
        return spans


def count_cycles(blocks: Iterator[Block], probes: dict[int, str], core: Core = CORTEX_M4) -> CycleTrace:
    total = CycleCount()
    marks: list[tuple[str, CycleCount]] = []
    previous: Block | None = None
    for block in blocks:
        if block.pc in probes:
            marks.append((probes[block.pc], CycleCount(total.instructions, total.cycles, total.taken_branches)))
        taken = previous is not None and previous.ends_in_branch and block.pc != previous.fallthrough
        total.instructions += block.insns
        total.cycles += block.cycles + (core.refill if taken else 0)
        if previous is not None and not previous.ends_in_branch and block.pc == previous.fallthrough:
            total.cycles += block.carried(previous.tail, core)
        total.taken_branches += taken
        previous = block
    return CycleTrace(total, marks)


def symbol_addresses(elf: Path, names: list[str]) -> dict[int, str]:
    """Function address (Thumb bit cleared) -> name, from the ELF's symbol table."""
    result = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True)
    found = {}
    for line in result.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[2] in names:
            found[int(parts[0], 16) & ~1] = parts[2]
    missing = sorted(set(names) - set(found.values()))
    if missing:
        raise BuildError(f"{elf}: no symbol {', '.join(missing)} (the cycle estimate probes it)")
    return found


def trace_firmware(qemu_command: list[str], elf: Path, probes: list[str], core: Core = CORTEX_M4) -> CycleTrace:
    """Run `qemu_command` (ending with `-kernel ELF`) with the execution trace on, and count with `core`'s
    timings; the functions named in `probes` are marked each time they are entered."""
    addresses = symbol_addresses(elf, probes)
    with tempfile.TemporaryDirectory(prefix="tinygen-cycles-") as folder:
        log_path = Path(folder) / "trace.log"
        command = [*qemu_command[:-2], "-d", "in_asm,exec,nochain", "-D", str(log_path), *qemu_command[-2:]]
        result = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=3600)
        if result.returncode != 0:
            raise BuildError(f"the traced firmware failed (exit {result.returncode}): {result.stderr.strip()[-500:]}")
        with open(log_path, errors="replace") as log:
            return count_cycles(trace_blocks(log, core), addresses, core)
