"""The per-layer figures of a compiled model that need no run: shapes, quantization, MACs,
parameters, constant bytes and arena placement, and the live set at every step.

Everything comes from what the compiler itself used: the manifest's layer list (arena offsets as
planned at compile time), the stored int8 IR (shapes, quantization), each Op's `macs`, and the
code generator's own constant arrays (so per-layer constant bytes sum to the model's).
"""

from __future__ import annotations

from typing import Any

from ..cnames import SymbolTable
from ..codegen.layers import LayerEmitter
from ..codegen.render import weight_tensors
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


def emitted_layers(graph: Graph, plan: MemoryPlan, prefix: str) -> list[tuple[int, str]]:
    """Per layer, as the code generator emits it: the bytes of the const arrays it adds, and the C
    kernel it calls ("" for none)."""
    emitter = LayerEmitter(graph, plan, SymbolTable(prefix))
    result = []
    for index, node in enumerate(graph.nodes):
        emitter.layer_index = index
        before = len(emitter.arrays)
        layer = op_of(node).emit(node, graph, emitter)
        result.append((sum(int(array.values.nbytes) for array in emitter.arrays[before:]), layer.function))
    return result


def memory_notes(graph: Graph, plan: MemoryPlan, index: int, choice: Choice | None) -> dict[str, Any]:
    """How a layer helps the arena: the inputs it overwrites in place (a patched stage's output: its
    stage input), its kernel variant (`choice`, when it has several), its row band (patch-based)."""
    node = graph.nodes[index]
    stage = "stage_source" in node.attrs
    in_place = [{"input": o.source if stage or o.input >= len(node.inputs) else node.inputs[o.input],
                 "delta": o.delta, "exact": o.exact, **({"stage": True} if stage else {})}
                for o in plan.shared() if o.step == index]
    variant = None if choice is None else {
        "name": choice.variant.name, "scratch_bytes": choice.variant.scratch, "fastest": choice.fastest.name,
        "extra_instructions": choice.variant.cost - choice.fastest.cost}
    return {"in_place": in_place, "variant": variant, "patch": node.attrs.get("patch")}


def weights_per_layer(graph: Graph) -> list[tuple[int, int]]:
    """(parameters, bytes) of each layer's weights and bias, counted as the compile summary does
    (a tensor shared by several layers at its first user)."""
    return [(sum(graph.tensors[n].size for n in names), sum(graph.tensors[n].nbytes for n in names))
            for names in weight_tensors(graph)]


def layer_rows(graph: Graph, manifest: dict[str, Any], plan: MemoryPlan | None = None) -> list[dict[str, Any]]:
    """One dict per layer, in execution order."""
    plan = plan or plan_memory(graph)
    emitted = emitted_layers(graph, plan, manifest["name"])
    choices = {choice.step: choice for choice in variant_choices(graph)}
    weights = weights_per_layer(graph)
    live = plan.live_per_step()
    listed = manifest.get("layer_list", [])
    rows = []
    for index, node in enumerate(graph.nodes):
        placed = listed[index] if index < len(listed) else {}
        op = op_of(node)
        params, weight_bytes = weights[index]
        scratch = placed.get("scratch") or plan.scratch(index)
        rows.append({
            "index": index,
            "name": node.name,
            "op": node.op,
            "inputs": [tensor_entry(graph.tensors[n]) for n in node.inputs
                       if n and graph.tensors[n].data is None],
            "output": tensor_entry(graph.tensors[node.outputs[0]]),
            "macs": int(op.macs(node, graph)),
            "params": int(params),
            "weights_bytes": int(weight_bytes),
            "constants_bytes": emitted[index][0],
            "kernel": emitted[index][1],
            "arena_offset": placed.get("arena_offset", plan.tensor_offset(node.outputs[0])),
            "arena_size": placed.get("arena_size", graph.tensors[node.outputs[0]].nbytes),
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
