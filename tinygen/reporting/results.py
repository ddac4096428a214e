"""Measured results kept in an output folder: instruction counts per target.

`tinygen bench OUT --target ENV` and `tinygen flash OUT -e qemu_*` save what they measured as
OUT/.tinygen/bench/<env>.json; `tinygen report` reads every file there. Recompiling replaces the
whole output folder, so a result never outlives the model it was measured on.

The file has the fields of `tinygen bench --json`: `target`, `instructions` (per inference),
`macs`, `arena_bytes`, `flash_bytes`, `ram_bytes` (null when unknown) and `layers`, a list of
{`name`, `op`, `macs`, `instructions`} in layer order; plus `source`, the command that measured it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

BENCH_DIR = ".tinygen/bench"  # inside an output folder


def bench_file(out_dir: str | Path, target: str) -> Path:
    return Path(out_dir) / BENCH_DIR / f"{target}.json"


def save_bench_result(out_dir: str | Path, result: dict[str, Any]) -> Path:
    """Keep a measured result (a dict with at least `target`) for `tinygen report`."""
    path = bench_file(out_dir, str(result["target"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    temporary.replace(path)
    return path


def load_bench_results(out_dir: str | Path) -> dict[str, dict[str, Any]]:
    """target -> result, for every readable result file in the output folder."""
    folder = Path(out_dir) / BENCH_DIR
    results: dict[str, dict[str, Any]] = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("instructions"), int):
            results[str(data.get("target", path.stem))] = data
    return results


def harness_result(manifest: dict[str, Any], target: str, per_inference: int, layer_counts: dict[int, int],
                   flash_bytes: int | None = None, ram_bytes: int | None = None) -> dict[str, Any]:
    """A result in the bench format from the harness's TG_RESULT / TG_LAYER lines (tinygen flash)."""
    layers = [{"name": layer["name"], "op": layer["op"], "macs": layer["macs"],
               "instructions": layer_counts.get(layer["index"])} for layer in manifest["layer_list"]]
    return {"target": target, "instructions": per_inference, "macs": manifest["macs"],
            "arena_bytes": manifest["arena_bytes"], "flash_bytes": flash_bytes, "ram_bytes": ram_bytes,
            "layers": layers, "source": "tinygen flash (harness)"}
