"""`tinygen ops`: the supported ONNX operators and their constraints, read from the registry
the importer itself uses (tinygen/ops), so the list cannot drift from the code."""

from __future__ import annotations

import json
from typing import Any

import click

from .common import Context


def supported_ops() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(ONNX operators with their constraints, IR ops with their kernels)."""
    from ..ops import ONNX_IMPORTERS, OPS

    rows = []
    for (domain, op_type), importer in sorted(ONNX_IMPORTERS.items(), key=lambda item: (item[0][1], item[0][0])):
        rows.append({
            "op": op_type,
            "domain": domain or "ai.onnx",
            "supported": not importer.refuses,
            "inputs": list(importer.inputs),
            "attributes": sorted(name.removesuffix("_attr") for name in importer.attributes),
            "constraints": importer.constraints,
        })
    kernels = [{"op": name, "summary": op.summary, "kernels": list(op.kernel_sources)}
               for name, op in sorted(OPS.items())]
    return rows, kernels


@click.command("ops")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option("--all", "show_all", is_flag=True, help="Also list the forms that are recognised but refused.")
@click.pass_obj
def command(obj: Context, as_json: bool, show_all: bool) -> None:
    """List the supported ONNX operators with their constraints.

    \b
    Example:
      tinygen ops
      tinygen ops --json > ops.json
    """
    rows, ir_ops = supported_ops()
    if as_json:
        click.echo(json.dumps({"onnx": rows, "ir": ir_ops}, indent=1))
        return
    shown = [row for row in rows if row["supported"] or show_all]
    click.echo(f"{sum(1 for row in rows if row['supported'])} ONNX operators (domain ai.onnx unless noted; "
               "float and QDQ-quantized forms):")
    for row in shown:
        domain = "" if row["domain"] == "ai.onnx" else f" [{row['domain']}]"
        status = "" if row["supported"] else " (refused)"
        attributes = ", ".join(row["attributes"]) or "-"
        click.echo(f"  {row['op']}{domain}{status}")
        click.echo(f"      {row['constraints'] or 'no restrictions'}")
        click.echo(f"      attributes: {attributes}")
    click.echo("\nKernels (IR op: what it computes):")
    for op in ir_ops:
        click.echo(f"  {op['op']:<18} {op['summary']}")
