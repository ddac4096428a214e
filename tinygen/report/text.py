"""The report as terminal text: a summary, the per-layer table, flash/RAM per target, the live
bytes per step; and the short form `tinygen compile` prints."""

from __future__ import annotations

from typing import Any

from .calibration import calibration_summary
from .targets import kib

BAR_WIDTH = 40


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def dims(shape: list[int]) -> str:
    """A physical shape without its batch axis: [1, 25, 5, 64] -> 25x5x64."""
    return "x".join(str(d) for d in (shape[1:] if len(shape) > 1 else shape))


def quant(entry: dict[str, Any]) -> str:
    if entry.get("scale") is None:
        return "-"
    return f"{entry['scale']:.4g},{entry['zero_point']}"


def sqnr_text(row: dict[str, Any]) -> str:
    if row.get("sqnr_db") is not None:
        return f"{row['sqnr_db']:.1f}"
    note = row.get("sqnr_note")
    return "exact" if note == "identical" else "n/a" if note else "-"


def count_text(count: int | None) -> str:
    return "-" if count is None else f"{count:,}"


def constants_note(weights_bytes: int, constants_bytes: int) -> str:
    """Why the constants can be fewer bytes than the weights: dead channels are not stored."""
    if constants_bytes >= weights_bytes:
        return ""
    return (f"; the constants are {weights_bytes - constants_bytes:,} B fewer than the weights because output "
            "channels whose int8 weights are all zero (dead channels) store no weights, only a row index")


def summary_line(report: dict[str, Any]) -> str:
    return (f"{report['name']} ({report['model_file']}): {len(report['layers'])} layers, {report['macs']:,} MACs, "
            f"{report['params']:,} parameters, constants {report['constants_bytes']:,} B (weights "
            f"{report['weights_bytes']:,} B), arena {report['arena_bytes']:,} B (lower bound "
            f"{report['arena_lower_bound_bytes']:,} B, {report['planner']})"
            + (f", data movement {report['moved_bytes']:,} B copied" if report.get("moved_bytes") else "")
            + (f", stack {report['stack']['model_bytes']:,} B worst case on {report['stack']['cpu']}"
               if report.get("stack") else "")
            + constants_note(report["weights_bytes"], report["constants_bytes"]))


def notes_text(row: dict[str, Any]) -> str:
    """In place (over which input, how far below), the kernel variant when not the fastest, the band."""
    notes = [row["macs_note"]] if row.get("macs_note") else []
    if row.get("moved_bytes"):
        notes.append(f"copies {row['moved_bytes']:,} B")
    for entry in row.get("in_place") or []:
        where = "same place" if entry["delta"] == 0 else f"{entry['delta']:,} B below"
        notes.append(f"{'stage output over its input' if entry.get('stage') else 'in place'} ({where})")
    variant = row.get("variant")
    if variant and variant["name"] != variant["fastest"]:
        notes.append(f"{variant['name']} (+{variant['extra_cycles']:,} cycles est.)")
    if row.get("patch"):
        notes.append(f"band {row['patch']['band'] + 1}/{row['patch']['bands']}")
    return "; ".join(notes)


def layer_table(report: dict[str, Any]) -> list[str]:
    targets = sorted(report.get("benchmarks", {}))
    head = (f"  {'#':>3}  {'op':<16} {'name':<26} {'input':>10} {'output':>10} {'MACs':>11} {'params':>8} "
            f"{'const B':>8} {'arena @off+size':>17} {'in scale,zp':>15} {'out scale,zp':>15} {'SQNR dB':>8}"
            + "".join(f" {'instr ' + t:>16}" for t in targets) + "  notes")
    lines = [head]
    for row in report["layers"]:
        first = row["inputs"][0] if row["inputs"] else None
        arena = "alias" if row["alias"] else f"{row['arena_offset']:,}+{row['arena_size']:,}"
        counts = "".join(f" {count_text(row['instructions'].get(t)):>16}" for t in targets)
        lines.append(f"  {row['index']:>3}  {clip(row['op'], 16):<16} {clip(row['name'], 26):<26} "
                     f"{dims(first['shape']) if first else '-':>10} {dims(row['output']['shape']):>10} "
                     f"{row['macs']:>11,} {row['params']:>8,} {row['constants_bytes']:>8,} {arena:>17} "
                     f"{quant(first) if first else '-':>15} {quant(row['output']):>15} {sqnr_text(row):>8}" + counts
                     + (f"  {notes_text(row)}" if notes_text(row) else ""))
    totals = {t: report["benchmarks"][t]["instructions"] for t in targets}
    lines.append(f"  {'':>3}  {'total':<16} {'':<26} {'':>10} {'':>10} {report['macs']:>11,} {report['params']:>8,} "
                 f"{report['constants_bytes']:>8,} {format(report['arena_bytes'], ',') + ' B':>17} {'':>15} {'':>15} "
                 f"{'':>8}" + "".join(f" {totals[t]:>16,}" for t in targets))
    return lines


def target_table(report: dict[str, Any]) -> list[str]:
    lines = ["flash and RAM of the model per target (model + kernels; without the application, C library and "
             "stack; measured where OUT has a build, else estimated):",
             f"  {'env':<15}{'RAM KiB':>9}{'of':>8}{'flash KiB':>11}{'of':>8}  {'fits':<5}figures"]
    for target in report["targets"]:
        lines.append(f"  {target['env']:<15}{kib(target['ram_bytes']):>9}{kib(target['board_ram_bytes']):>8}"
                     f"{kib(target['flash_bytes']):>11}{kib(target['board_flash_bytes']):>8}  "
                     f"{'yes' if target['fits'] else 'NO':<5}{'measured' if target['measured'] else 'estimated'}")
    return lines


def live_chart(report: dict[str, Any]) -> list[str]:
    top = max([report["arena_bytes"], *(s["live_bytes"] for s in report["live_steps"])]) or 1
    lines = [f"bytes live per step, less what an output shares with the input it overwrites (the arena: "
             f"{report['arena_bytes']:,} B; each █ is {top / BAR_WIDTH:,.0f} B):"]
    for step in report["live_steps"]:
        bar = "█" * round(step["live_bytes"] / top * BAR_WIDTH)
        shared = f"  (in place: -{step['shared_bytes']:,})" if step.get("shared_bytes") else ""
        lines.append(f"  {step['step']:>4}  {clip(step['what'], 36):<36} {step['live_bytes']:>9,}  {bar}{shared}")
    return lines


def memory_summary(report: dict[str, Any]) -> list[str]:
    """In place, kernel variants below the fastest, patches: what keeps the arena small, and its cost."""
    lines = []
    if report.get("in_place"):
        lines.append(f"in place: {len(report['in_place'])} layer(s) write over an input they no longer need "
                     "(notes column)")
    if report.get("variants"):
        extra = sum(v["extra_cycles"] for v in report["variants"])
        lines.append(f"kernel variants: {len(report['variants'])} layer(s) run a variant with less scratch than "
                     f"their fastest, about {extra:,} cycles more per inference (the Cortex-M4 cost model; RAM "
                     "first: a larger --ram-budget lets them take the faster one)")
    for patch in report.get("patches", []):
        lines.append(f"patches: the first {len(patch['layers'])} layer(s) run in {patch['bands']} row bands, "
                     f"{patch['extra_macs']:,} MACs more than unpatched ({patch['patched_macs']:,} instead of "
                     f"{patch['macs']:,})")
    return lines


def report_lines(report: dict[str, Any]) -> list[str]:
    lines = [summary_line(report)]
    lines += [f"calibration: {text}" for text in calibration_summary(report.get("calibration") or {})]
    lines += ["", *layer_table(report)]
    accuracy = report.get("accuracy")
    if accuracy and accuracy.get("reference"):
        lines.append(f"  SQNR: each layer's int8 output vs {accuracy['reference']}, on {accuracy['samples']} "
                     f"sample(s) ({accuracy['inputs']}); n/a: no tensor of that name in the source model")
    elif accuracy and report["layers"] and report["layers"][0].get("sqnr_note"):
        lines.append(f"  SQNR {report['layers'][0]['sqnr_note']}")
    for target, bench in sorted(report.get("benchmarks", {}).items()):
        lines.append(f"  instr {target}: instructions executed on the emulated core per inference "
                     f"({bench['instructions']:,} in all; {bench.get('source', 'tinygen bench')}), not cycles")
    memory = memory_summary(report)
    lines += ["", *target_table(report), "", *([*memory, ""] if memory else []), *live_chart(report)]
    if "board" in report:
        lines += ["", report["board"]["verdict"], *report["board"]["advice"]]
    return lines


def short_lines(report: dict[str, Any], heaviest: int = 3) -> list[str]:
    """What `tinygen compile` prints after its summary: the costliest layers."""
    total = report["macs"] or 1
    rows = sorted(report["layers"], key=lambda row: -row["macs"])[:heaviest]
    return ["  heaviest      " + "; ".join(
        f"{row['index']} {row['op']} {100 * row['macs'] / total:.0f}% of MACs" for row in rows if row["macs"])]
