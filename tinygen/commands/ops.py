"""`tinygen ops`: the supported ONNX operators and their constraints, read from the registry
the importer itself uses (tinygen/ops), so the list cannot drift from the code."""

from __future__ import annotations

import json
from typing import Any

import click

from .common import Context


def onnx_layout(kind: str) -> str:
    """How the importer stores the op's feature maps (tinygen/frontend/layout.py)."""
    if kind == "spatial":
        return "feature maps NCHW (2-D) or NCL (1-D), run channels-last (NHWC / N1LC)"
    if kind == "transparent":
        return "any; keeps its input's layout (channels-last for feature maps)"
    return "rank-4 tensors channels-last (NHWC), others as ONNX orders them"


def onnx_dtypes() -> str:
    """What every importer accepts (tinygen/frontend/importer.py)."""
    from ..frontend.importer import ACCEPTED_INPUT_DTYPES

    names = "/".join(t.__name__ for t in ACCEPTED_INPUT_DTYPES)
    return (f"model inputs {names}; float32 tensors are calibrated to int8, QDQ models' int8/uint8 "
            "parameters are kept; constants float32, or int8/int32 behind DequantizeLinear")


def ir_dtypes(op: Any) -> str:
    """The kernel's data types, from the Op class's declarations (tinygen/ops/base.py)."""
    if not op.kernels and not op.is_alias:
        return "float only: no int8 kernel (removed before quantization)"
    outputs = {"calibrated": "calibrated output scale", "input": "the input's scale",
               "fixed": "a fixed output scale",
               "input_or_calibrated": "the input's scale, or a calibrated one in a float model"}[op.output_quant]
    text = f"int8 activations, per tensor ({outputs})"
    if op.weight_channel_axis is not None:
        text += "; int8 weights per output channel, int32 bias"
    if op.is_alias:
        text += "; no code (an alias of its input)"
    return text


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
            "layout": onnx_layout(importer.layout),
        })
    kernels = [{"op": name, "summary": op.summary, "kernels": sorted({kernel.function for kernel in op.kernels}),
                "dtypes": ir_dtypes(op)}
               for name, op in sorted(OPS.items())]
    return rows, kernels


def tflite_ops() -> list[dict[str, Any]]:
    """TFLite builtin operators with their constraints (tinygen/frontend/tflite_ops.py's registry)."""
    from ..frontend.tflite_ops import TFLITE_CONSTRAINTS

    return [{"op": name, "supported": supported, "constraints": text}
            for name, (text, supported) in sorted(TFLITE_CONSTRAINTS.items())]


@click.command("ops")
@click.option("--json", "as_json", is_flag=True, help="Print the list as JSON.")
@click.option("--all", "show_all", is_flag=True, help="Also list the forms that are recognised but refused.")
@click.pass_obj
def command(obj: Context, as_json: bool, show_all: bool) -> None:
    """List the supported ONNX and TFLite operators with their constraints.

    \b
    Example:
      tinygen ops
      tinygen ops --json > ops.json
    """
    rows, ir_ops = supported_ops()
    tflite = tflite_ops()
    if as_json:
        click.echo(json.dumps({"onnx": rows, "tflite": tflite, "ir": ir_ops, "dtypes": onnx_dtypes()}, indent=1))
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
        click.echo(f"      layout: {row['layout']}")
    click.echo(f"\nData types: {onnx_dtypes()}.")
    click.echo(f"\n{sum(1 for row in tflite if row['supported'])} TFLite builtin operators (int8 .tflite files, "
               "NHWC as stored; bit-exact with TensorFlow Lite Micro):")
    for row in tflite:
        if row["supported"] or show_all:
            click.echo(f"  {row['op']}{'' if row['supported'] else ' (refused)'}")
            click.echo(f"      {row['constraints']}")
    click.echo("\nKernels (IR op: what it computes; data types):")
    for op in ir_ops:
        click.echo(f"  {op['op']:<18} {op['summary']}")
        click.echo(f"  {'':<18} {op['dtypes']}")
