"""Where a model's calibration came from, as the compile summary, `tinygen report` and the HTML show
it: the source and sample count, the calibrator and corrections, the inputs' value range and
per-channel statistics, and the warnings given at compile time (the manifest's `calibration`)."""

from __future__ import annotations

from typing import Any

CHANNELS_SHOWN = 4


def method_text(record: dict[str, Any]) -> str:
    corrections = []
    if record.get("bias_correction"):
        corrections.append(f"bias correction ({record['bias_correction']} layers)")
    if record.get("equalization"):
        corrections.append(f"cross-layer equalization ({record['equalization']} pairs)")
    return f"{record.get('method')}, " + (", ".join(corrections) if corrections else "no corrections")


def source_text(record: dict[str, Any]) -> str:
    source = record.get("source")
    if source is None:
        return "none: the model arrives quantized"
    held = record.get("held_out") or 0
    kept = (f"; {held} more held out for `tinygen verify`" if held else
            "; verify checks random inputs" if source == "random" else
            "; verify checks calibration samples (fewer than 128: none held out)")
    return f"{source}: {record.get('samples')} sample(s){kept}"


def input_lines(record: dict[str, Any]) -> list[str]:
    lines = []
    for name, stats in (record.get("inputs") or {}).items():
        text = (f"input '{name}' range [{stats['min']:.4g}, {stats['max']:.4g}], mean {stats['mean']:.4g}, "
                f"std {stats['std']:.4g}")
        channels = stats.get("channels") or []
        if len(channels) > 1:
            shown = "; ".join(f"{c['mean']:.3g}±{c['std']:.3g}" for c in channels[:CHANNELS_SHOWN])
            text += f"; per channel mean±std {shown}" + (f" (+{len(channels) - CHANNELS_SHOWN} more)"
                                                        if len(channels) > CHANNELS_SHOWN else "")
        lines.append(text)
    return lines


def calibration_summary(record: dict[str, Any]) -> list[str]:
    if not record:
        return []
    lines = [f"{source_text(record)}; calibrator {method_text(record)}" if record.get("source") is not None
             else source_text(record)]
    lines += input_lines(record)
    lines += [f"WARNING: {text}" for text in record.get("warnings") or []]
    return lines
