"""Per-layer precision: which layers keep int8, take 4-bit weights or 16-bit activations.

A `LayerPrecision` is one layer's choice (activations int8 | int16, weights int8 | int4); a
`PrecisionPlan` maps layer names to choices over a model-wide default. The plan comes from the compile
options (`--weights`, `--activations`, `--precision-file`, or `precision=` in the Python API), is
resolved against the graph once the passes have run (the layer names `tinygen inspect` and `report`
show), and is applied by writing node.attrs["precision"] before quantization, where each op's
`quantize` reads it. An op says which precisions its kernels take (ops/base.py `weight_precisions`,
`activation_precisions`); asking a layer for one its op does not take is a clear error naming the
layer, unless it came from a model-wide option or a glob pattern, which apply where they can.

The precision file (JSON): layer name or glob pattern -> {"activations": ..., "weights": ...}; each
key may be left out (the default stays). Entries apply in file order, so a later one overrides an
earlier one on the layers both match.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ..errors import TinygenError, os_error_text
from ..ir import Graph, Node
from ..ops import op_of

ACTIVATIONS = ("int8", "int16")
WEIGHTS = ("int8", "int4")
FIELDS = {"activations": ACTIVATIONS, "weights": WEIGHTS}


@dataclass(frozen=True)
class LayerPrecision:
    activations: str = "int8"  # "int8" | "int16"
    weights: str = "int8"  # "int8" | "int4"

    def __post_init__(self) -> None:
        for key, allowed in FIELDS.items():
            if getattr(self, key) not in allowed:
                raise TinygenError(f"unknown {key} precision {getattr(self, key)!r}",
                                   hint=f"Use one of: {', '.join(allowed)}.")

    @property
    def is_default(self) -> bool:
        return self == INT8

    def to_json(self) -> dict[str, str]:
        return {"activations": self.activations, "weights": self.weights}

    def __str__(self) -> str:
        return f"{self.activations} activations, {self.weights} weights"


INT8 = LayerPrecision()


@dataclass
class PrecisionPlan:
    """A model-wide default and per-layer entries (name or glob pattern -> the fields they set)."""

    default: LayerPrecision = INT8
    entries: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    source: str = "options"  # where the entries come from, for messages

    @classmethod
    def from_options(cls, weights: str | None = None, activations: str | None = None,
                     precision: str | Path | Mapping[str, Any] | None = None) -> PrecisionPlan:
        """The plan of the compile options: `weights` / `activations` model-wide, `precision` a precision
        file's path or its contents as a dict (name or pattern -> {"activations": ..., "weights": ...})."""
        default = LayerPrecision(activations or "int8", weights or "int8")
        if precision is None:
            return cls(default)
        if isinstance(precision, Mapping):
            return cls(default, parse_entries(precision, "precision"), "precision")
        return cls(default, *read_precision_file(Path(precision)))

    def resolve(self, graph: Graph) -> dict[int, LayerPrecision]:
        """Each layer's precision, by position in graph.nodes (layers that keep int8 included). Refuses a
        name or pattern that matches no layer, and a precision a named layer cannot take."""
        nodes = [(index, node) for index, node in enumerate(graph.nodes) if _is_layer(node)]
        result = {index: _fit(node, self.default, strict=False) for index, node in nodes}
        names = sorted({node.name for _, node in nodes})
        for key, fields in self.entries:
            pattern = _is_pattern(key)
            matched = [(index, node) for index, node in nodes
                       if (fnmatch.fnmatchcase(node.name, key) if pattern else node.name == key)]
            if not matched:
                raise TinygenError(f"{self.source}: {'pattern' if pattern else 'layer'} {key!r} matches no layer "
                                   f"of the model", hint=f"The layers: {_listing(names)}.")
            taken = 0
            for index, node in matched:
                wanted = replace(result[index], **fields)
                fitted = _fit(node, wanted, strict=not pattern, source=self.source)
                taken += fitted == wanted
                result[index] = fitted
            if pattern and not taken:
                raise TinygenError(f"{self.source}: pattern {key!r} matches {len(matched)} layer(s), none of which "
                                   f"takes {_describe(fields)}", hint=_takers_hint(nodes, fields))
        return result

    def named(self, graph: Graph) -> set[int]:
        """The layers an entry names or matches (what `--precision auto` leaves as the file says)."""
        return {index for index, node in enumerate(graph.nodes) if _is_layer(node) and any(
            fnmatch.fnmatchcase(node.name, key) if _is_pattern(key) else node.name == key for key, _ in self.entries)}

    def apply(self, graph: Graph) -> dict[int, LayerPrecision]:
        """Resolve, then record each layer's precision in node.attrs["precision"] for its op's quantize."""
        chosen = self.resolve(graph)
        set_precisions(graph, chosen)
        return chosen


def set_precisions(graph: Graph, chosen: Mapping[int, LayerPrecision], why: Mapping[int, str] | None = None) -> None:
    """Write node.attrs["precision"] (and the reason, if given) for the layers not at int8."""
    for index, precision in chosen.items():
        node = graph.nodes[index]
        node.attrs.pop("precision", None)
        if not precision.is_default:
            node.attrs["precision"] = precision.to_json()
        if why and index in why:
            node.attrs["precision_why"] = why[index]


def read_precision_file(path: Path) -> tuple[list[tuple[str, dict[str, str]]], str]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise TinygenError(f"cannot read the precision file: {os_error_text(exc, path)}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise TinygenError(f"{path}: not valid JSON ({exc})",
                           hint='Write {"layer name or pattern": {"weights": "int4"}, ...}.') from None
    return parse_entries(data, str(path)), str(path)


def parse_entries(data: Any, source: str) -> list[tuple[str, dict[str, str]]]:
    example = 'e.g. {"conv1": {"activations": "int16"}, "*dense*": {"weights": "int4"}}'
    if not isinstance(data, Mapping):
        raise TinygenError(f"{source}: expected an object of layer name or pattern -> precision ({example})")
    entries = []
    for key, value in data.items():
        if not isinstance(value, Mapping) or not value:
            raise TinygenError(f"{source}: {key!r}: expected an object with \"activations\" and/or \"weights\" "
                               f"({example})")
        fields: dict[str, str] = {}
        for name, setting in value.items():
            if name not in FIELDS:
                raise TinygenError(f"{source}: {key!r}: unknown key {name!r}",
                                   hint='The keys are "activations" (int8 or int16) and "weights" (int8 or int4).')
            if setting not in FIELDS[name]:
                raise TinygenError(f"{source}: {key!r}: {name} {setting!r} is not one of "
                                   f"{', '.join(FIELDS[name])}")
            fields[name] = setting
        entries.append((str(key), fields))
    return entries


def _is_layer(node: Node) -> bool:
    """Layers that run a kernel (aliases and views have no precision of their own)."""
    return bool(op_of(node).kernels)


def _is_pattern(key: str) -> bool:
    return any(c in key for c in "*?[")


def takes(node: Node, precision: LayerPrecision) -> bool:
    """Does the layer's op have kernels for this precision? (int16 activations with int4 weights: none.)"""
    op = op_of(node)
    return (precision.activations in op.activation_precisions and precision.weights in op.weight_precisions
            and not (precision.activations == "int16" and precision.weights == "int4"))


def _fit(node: Node, wanted: LayerPrecision, strict: bool, source: str = "") -> LayerPrecision:
    """`wanted` where the layer's op takes it; else int8 for that field, or an error when `strict`."""
    op = op_of(node)
    activations, weights = wanted.activations, wanted.weights
    if activations == "int16" and weights == "int4":
        if strict:
            raise TinygenError(f"{source}: layer {node.name!r} ({node.op}): int4 weights with int16 activations have "
                               "no kernel", hint="Give the layer int8 weights or int8 activations.")
        weights = "int8"  # the activations' choice wins: the accuracy the user asked for
    if activations not in op.activation_precisions or (activations == "int16" and not op.runs_int16(node)):
        if strict:
            raise TinygenError(f"{source}: layer {node.name!r} ({node.op}) cannot take {activations} activations: "
                               "not supported for this op yet",
                               hint=f"Supported: {', '.join(op.activation_precisions)}.")
        activations = "int8"
    if weights not in op.weight_precisions:
        if strict:
            raise TinygenError(f"{source}: layer {node.name!r} ({node.op}) cannot take {weights} weights",
                               hint=("It has no weights." if not op.has_weights else
                                     f"Its kernels take {', '.join(op.weight_precisions)} weights; int4 weights "
                                     "are for convolutions, depthwise convolutions and fully connected layers."))
        weights = "int8"
    return LayerPrecision(activations, weights)


def _describe(fields: Mapping[str, str]) -> str:
    return " and ".join(f"{value} {key}" for key, value in fields.items())


def _takers_hint(nodes: Iterable[tuple[int, Node]], fields: Mapping[str, str]) -> str:
    takers = sorted({node.name for _, node in nodes
                     if fields.get("weights", "int8") in op_of(node).weight_precisions
                     and fields.get("activations", "int8") in op_of(node).activation_precisions})
    return f"Layers that take it: {_listing(takers)}." if takers else "No layer of this model takes it."


def _listing(names: list[str], limit: int = 40) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def check_model_wide(plan: PrecisionPlan, graph: Graph) -> None:
    """A model-wide option no layer can take (e.g. --weights int4 on a model without weights) is refused."""
    nodes = [node for node in graph.nodes if _is_layer(node)]
    for key, value in plan.default.to_json().items():
        allowed = "activation_precisions" if key == "activations" else "weight_precisions"
        if value != "int8" and not any(value in getattr(op_of(node), allowed) for node in nodes):
            raise TinygenError(f"--{key} {value}: no layer of this model takes {value} {key}"
                               + (" yet" if key == "activations" else ""),
                               hint="int4 weights are for convolutions, depthwise convolutions and fully connected "
                                    "layers." if key == "weights" else None)
