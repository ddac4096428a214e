"""The report's precision section: each layer not at int8 (int4 weights, int16 activations) and why, and the
totals against the int8-only model (weights bytes); with --precision auto, the target and what was measured
(tinygen/quantize/precision_auto.py records it in the manifest's calibration entry)."""

from __future__ import annotations

from typing import Any


def precision_summary(layers: list[dict[str, Any]], calibration: dict[str, Any]) -> dict[str, Any]:
    changed = [{"index": row["index"], "name": row["name"], "op": row["op"], "precision": row["precision"],
                "why": row.get("precision_why")} for row in layers if row.get("precision")]
    return {
        "layers": changed,
        "weights_bytes": sum(row["weights_bytes"] for row in layers),
        "weights_bytes_int8": sum(row.get("weights_bytes_int8", row["weights_bytes"]) for row in layers),
        "auto": calibration.get("precision_auto"),
    }


def precision_text(precision: dict[str, str]) -> str:
    """'int4 weights', 'int16 activations' or both."""
    parts = [f"{precision['weights']} weights" if precision.get("weights", "int8") != "int8" else "",
             f"{precision['activations']} activations" if precision.get("activations", "int8") != "int8" else ""]
    return ", ".join(part for part in parts if part) or "int8"


def precision_total(summary: dict[str, Any]) -> str:
    ours, int8 = summary["weights_bytes"], summary["weights_bytes_int8"]
    saved = 100 * (int8 - ours) / int8 if int8 else 0.0
    kinds: dict[str, int] = {}
    for layer in summary["layers"]:
        text = precision_text(layer["precision"])
        kinds[text] = kinds.get(text, 0) + 1
    counts = ", ".join(f"{count} layer(s) {text}" for text, count in sorted(kinds.items()))
    return f"{counts}; weights {ours:,} B against {int8:,} B all int8 ({saved:.0f}% less)"


def precision_lines(summary: dict[str, Any] | None) -> list[str]:
    if not summary or (not summary["layers"] and not summary.get("auto")):
        return []
    lines = ["", f"precision: {precision_total(summary)}" if summary["layers"] else
             "precision: every layer int8"]
    auto = summary.get("auto")
    if auto:
        lines.append(f"  auto: {auto['target']}; result: {auto['result']}")
    for layer in summary["layers"]:
        why = f": {layer['why']}" if layer.get("why") else ""
        name = layer["name"] if len(layer["name"]) <= 40 else layer["name"][:39] + "…"
        lines.append(f"  {layer['index']:>3}  {layer['op']:<16} {name:<40}  {precision_text(layer['precision'])}{why}")
    kept = [c for c in (auto or {}).get("candidates", []) if not c["chosen"]]
    for candidate in kept:
        name = candidate["name"] if len(candidate["name"]) <= 40 else candidate["name"][:39] + "…"
        lines.append(f"  {candidate['index']:>3}  {'':<16} {name:<40}  int8: {candidate['note']}")
    return lines
