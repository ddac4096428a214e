"""Save and load the int8 IR inside an output folder (.tinygen/graph.json + .tinygen/arrays.npz),
so `tinygen run/verify/report` can run the golden reference without the original model.

The archive is written byte-for-byte deterministically (fixed zip timestamps, sorted keys).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError
from .ir import Graph, Layout, Node, QuantParams, Tensor


def graph_to_files(graph: Graph) -> tuple[bytes, bytes]:
    arrays: dict[str, np.ndarray] = {}
    tensors = []
    for name in sorted(graph.tensors):
        t = graph.tensors[name]
        if t.data is not None:
            arrays[f"tensor/{name}"] = t.data
        tensors.append({"name": name, "shape": list(t.shape), "dtype": t.dtype,
                        "constant": t.data is not None,
                        "quant": t.quant.to_json() if t.quant else None,
                        "onnx_shape": list(t.onnx_shape) if t.onnx_shape else None,
                        "layout": t.layout.value})
    nodes = []
    for index, node in enumerate(graph.nodes):
        params = {}
        for key, value in node.params.items():
            if isinstance(value, np.ndarray):
                arrays[f"params/{index}/{key}"] = value
                params[key] = {"array": f"params/{index}/{key}"}
            else:
                params[key] = _plain(value)
        nodes.append({"name": node.name, "op": node.op, "inputs": node.inputs, "outputs": node.outputs,
                      "attrs": _plain(node.attrs), "params": params})
    document = {"name": graph.name, "source": graph.source, "inputs": graph.inputs,
                "outputs": graph.outputs, "onnx_outputs": graph.onnx_outputs,
                "tensors": tensors, "nodes": nodes}
    return json.dumps(document, indent=1, sort_keys=True).encode(), deterministic_npz(arrays)


def graph_from_files(graph_json: bytes, arrays_npz: bytes) -> Graph:
    document = json.loads(graph_json)
    with np.load(io.BytesIO(arrays_npz), allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    graph = Graph(document["name"], source=document["source"], inputs=document["inputs"],
                  outputs=document["outputs"], onnx_outputs=document["onnx_outputs"])
    for t in document["tensors"]:
        data = arrays[f"tensor/{t['name']}"] if t["constant"] else None
        quant = QuantParams.from_json(t["quant"]) if t["quant"] else None
        graph.tensors[t["name"]] = Tensor(t["name"], tuple(t["shape"]), t["dtype"], data, quant,
                                          tuple(t["onnx_shape"]) if t["onnx_shape"] else None,
                                          Layout(t["layout"]))
    for n in document["nodes"]:
        params = {key: arrays[value["array"]] if isinstance(value, dict) and "array" in value else value
                  for key, value in n["params"].items()}
        graph.nodes.append(Node(n["name"], n["op"], n["inputs"], n["outputs"], n["attrs"], params))
    return graph


def _plain(value: Any) -> Any:
    """JSON-ready copy of attribute values (numpy scalars and arrays become Python values)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def deterministic_npz(arrays: dict[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for key in sorted(arrays):
            entry = io.BytesIO()
            np.lib.format.write_array(entry, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, entry.getvalue())
    return buffer.getvalue()


def load_array_file(path: Path) -> np.ndarray | dict[str, np.ndarray]:
    """A .npy array, or the arrays of a .npz by name."""
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except Exception as exc:
        raise DataError(f"{path}: not a readable .npy/.npz file ({exc})") from None
    if isinstance(data, np.ndarray):
        return data
    with data:
        return {key: data[key] for key in data.files}
