"""The per-layer figures of a compiled model that need no run: shapes, quantization, MACs,
parameters, constant bytes and arena placement, and the live set at every step.

Everything comes from what the compiler itself recorded: the manifest's layer list (the per-layer facts
the code generator computed: kernel, MACs, parameters, constant bytes, arena placement), the stored int8
IR (shapes, quantization) and the stored plan.
"""

from __future__ import annotations

from typing import Any

from ..ir import Graph, Tensor
from ..ops import op_of
from ..plan import MemoryPlan, plan_memory
from ..plan.liveness import sharing_per_step
from ..plan.planner import _step_label
from ..plan.variants import Choice, variant_choices


def tensor_entry(tensor: Tensor) -> dict[str, Any]:
    quant = tensor.quant
    per_tensor = quant is not None and quant.is_per_tensor
    return {
        "tensor": tensor.name,
        "shape": list(tensor.shape),
        "onnx_shape": list(tensor.onnx_shape or tensor.shape),
        "layout": tensor.layout.value,
        "dtype": tensor.dtype,
        "scale": quant.scale_value if per_tensor and quant else None,
        "zero_point": quant.zero_point_value if per_tensor and quant else None,
    }


def memory_notes(graph: Graph, plan: MemoryPlan, index: int, choice: Choice | None) -> dict[str, Any]:
    """How a layer helps the arena: the inputs it overwrites in place (a patched stage's output: its
    stage input), its kernel variant (`choice`, when it has several), its row band (patch-based)."""
    node = graph.nodes[index]
    stage = "stage_source" in node.attrs
    in_place = [{"input": o.source if stage or o.input >= len(node.inputs) else node.inputs[o.input],
                 "delta": o.delta, "exact": o.exact, **({"stage": True} if stage else {})}
                for o in plan.shared() if o.step == index]
    variant = None if choice is None else {
        "name": choice.kernel.note or choice.kernel.key, "kernel": choice.kernel.key, "scratch_bytes": choice.scratch,
        "fastest": choice.fastest.note or choice.fastest.key, "extra_instructions": choice.extra_instructions,
        "extra_cycles": choice.extra_cycles}
    return {"in_place": in_place, "variant": variant, "patch": node.attrs.get("patch")}


def layer_rows(graph: Graph, manifest: dict[str, Any], plan: MemoryPlan | None = None) -> list[dict[str, Any]]:
    """One dict per layer, in execution order."""
    plan = plan or plan_memory(graph)
    choices = {choice.step: choice for choice in variant_choices(graph)}
    live = plan.live_per_step()
    listed = manifest["layer_list"]  # the per-layer facts the code generator recorded (codegen/render.py)
    rows = []
    for index, node in enumerate(graph.nodes):
        placed = listed[index]
        op = op_of(node)
        scratch = placed["scratch"]
        rows.append({
            "index": index,
            "name": node.name,
            "op": node.op,
            "inputs": [tensor_entry(graph.tensors[n]) for n in node.inputs
                       if n and graph.tensors[n].data is None],
            "output": tensor_entry(graph.tensors[node.outputs[0]]),
            "macs": placed["macs"],
            "moved_bytes": placed.get("moved_bytes", 0),
            "macs_note": op.macs_note(node, graph),
            "params": placed["params"],
            "weights_bytes": placed["weights_bytes"],
            "constants_bytes": placed["constants_bytes"],
            "precision": placed.get("precision"),  # None: int8 activations and weights
            "precision_why": placed.get("precision_why"),
            "weights_bytes_int8": placed.get("weights_bytes_int8", placed["weights_bytes"]),
            "kernel": placed["function"],
            "arena_offset": placed["arena_offset"],
            "arena_size": placed["arena_size"],
            "alias": op.is_alias,
            "scratch": {"offset": scratch[0], "size": scratch[1]} if scratch else None,
            "live_bytes": live.get(index, 0),
            **memory_notes(graph, plan, index, choices.get(index)),
        })
    return rows


def live_steps(graph: Graph, plan: MemoryPlan) -> list[dict[str, Any]]:
    """Per step (-1: inputs copied in, ..., the last: outputs copied out): what runs, the bytes
    live and the buffers live with their offsets, largest first."""
    live = plan.live_per_step()
    shared = sharing_per_step(plan.buffers, plan.overlaps)
    return [{"step": step, "what": _step_label(graph, step, plan.steps), "live_bytes": live.get(step, 0),
             "shared_bytes": shared.get(step, 0),  # what in-place pairs may share there (live_bytes is less)
             "buffers": [{"name": b.name, "offset": plan.offsets[b.name], "size": b.size} for b in buffers]}
            for step, buffers in plan.live_buffers_per_step().items()]
