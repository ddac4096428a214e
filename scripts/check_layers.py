"""Fail on an import cycle between a package's modules, or on an import that breaks its layering.

Usage: python scripts/check_layers.py [--root DIR] [--package NAME]

Reads every module of ROOT/NAME (default: this repository's tinygen/) with `ast` and collects every
import of a module of the package: at module level, inside functions (a lazy import is still a
dependency) and under `if TYPE_CHECKING:` (the annotation still ties the two modules together).
Relative imports are resolved. The layers come from ROOT/pyproject.toml, `[[tool.tinygen.layers]]`:
an ordered list, lowest first, each with a name and fnmatch patterns over dotted module names.
A module may import only modules of its own layer or lower ones; every module must be in exactly
one layer, so a new module has to be placed.

What counts as an edge (docs/DESIGN.md, "Development environment"):
- `import a.b` and `from a import b` (b a module) depend on module a.b; `from a import name` (name
  not a module) depends on a, i.e. a's __init__.py. `from a import *` depends on a.
- Python's implicit import of the parent package (importing a.b runs a/__init__.py first) is not
  an edge: with it, every package whose __init__.py re-exports its submodules would be a cycle.
  The re-export itself (a/__init__.py importing a.b) is an ordinary edge, so it is a cycle only
  when a submodule imports back through its own package (`from . import name` for a name the
  __init__ defines or re-exports): that is order-dependent at run time and reported.
- Imports of other packages are ignored, and so are imports built at run time
  (`importlib.import_module` with a computed name).

Prints one line per problem and exits 1: cycles as chains (the shortest through each module on a
cycle that no earlier chain passes through, so every module on a cycle appears once), then each layering
violation as importer -> imported with both layers. Exit 0 prints a one-line summary.
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import sys
import tomllib
from collections import deque
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Layer:
    name: str
    patterns: tuple[str, ...]


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    path: Path
    line: int


def module_files(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> source file, for every .py under root/package (packaged data excluded)."""
    files: dict[str, Path] = {}
    for path in sorted((root / package).rglob("*.py")):
        rel = path.relative_to(root).with_suffix("")
        parts = rel.parts
        if "__pycache__" in parts or "_data" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        files[".".join(parts)] = path
    return files


def _from_base(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a `from ... import` statement names (its relative dots resolved)."""
    if node.level == 0:
        return node.module or ""
    # `from . import x` in a/b.py is relative to package a; in a/__init__.py to a itself.
    parts = module.split(".") if is_package else module.split(".")[:-1]
    if node.level > 1:
        parts = parts[: len(parts) - (node.level - 1)]
    if node.module:
        parts = [*parts, *node.module.split(".")]
    return ".".join(parts)


def imports_of(module: str, path: Path, modules: dict[str, Path], root: Path) -> tuple[list[Import], list[str]]:
    """The package-internal imports of one module, and problems (an import of a module that does not exist)."""
    package = module.split(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []
    problems: list[str] = []

    def inside(name: str) -> bool:
        return name == package or name.startswith(package + ".")

    def add(target: str, line: int) -> None:
        if target not in modules:
            problems.append(f"{path.relative_to(root)}:{line}: {module} -> {target}: no such module in {package}")
        elif target != module:
            found.append(Import(module, target, path, line))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if inside(alias.name):
                    add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _from_base(module, is_package, node)
            if not inside(base):
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                add(submodule if submodule in modules else base, node.lineno)
    return found, problems


def load_layers(pyproject: Path) -> list[Layer]:
    with pyproject.open("rb") as f:
        table = tomllib.load(f)
    try:
        entries = table["tool"]["tinygen"]["layers"]
    except KeyError:
        raise SystemExit(f"{pyproject}: no [[tool.tinygen.layers]] table") from None
    return [Layer(entry["name"], tuple(entry["modules"])) for entry in entries]


def layer_of(module: str, layers: list[Layer]) -> list[int]:
    """Indexes of the layers whose patterns match the module (exactly one in a valid table)."""
    return [i for i, layer in enumerate(layers) if any(fnmatch.fnmatchcase(module, p) for p in layer.patterns)]


def _shortest_path(graph: dict[str, set[str]], start: str, goal: str, allowed: set[str]) -> list[str] | None:
    """Breadth-first path start -> goal inside `allowed`, neighbours taken in name order (deterministic)."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [node]
            while previous[path[-1]] is not None:
                path.append(previous[path[-1]])  # type: ignore[arg-type]
            return path[::-1]
        for nxt in sorted(graph.get(node, ())):
            if nxt in allowed and nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return None


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (a long import chain must not hit Python's recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
            elif child not in index:
                index[child] = low[child] = counter
                counter += 1
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph.get(child, ())))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return components


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Cycles as chains a -> ... -> a, enough of them that every module lying on a cycle is in one.

    Listing every elementary cycle can be exponential (the code this was written against had some
    thirty modules in one knot, through a few imports that break the layering). Instead, for each
    module of a strongly connected component that no chain reported so far passes through, report the
    shortest cycle through it. Chains are rotated to start at their smallest name. Once the reported
    imports are cut, a rerun shows any cycle that remains.
    """
    chains: list[list[str]] = []
    for component in sorted(strongly_connected(graph), key=min):
        if len(component) < 2:
            continue
        covered: set[str] = set()
        for a in sorted(component):
            if a in covered:
                continue
            best: list[str] | None = None
            for b in sorted(graph[a] & component):
                back = _shortest_path(graph, b, a, component)
                assert back is not None, "strongly connected component without a path back"
                if best is None or len(back) < len(best):
                    best = back
            assert best is not None
            ring = [a, *best[:-1]]
            first = ring.index(min(ring))
            chain = [*ring[first:], *ring[:first], ring[first]]
            covered.update(chain)
            if chain not in chains:
                chains.append(chain)
    return sorted(chains, key=lambda chain: (len(chain), chain))


def check(root: Path, package: str) -> tuple[list[str], int, int]:
    """All problems found (one line each), the number of modules and of import edges."""
    modules = module_files(root, package)
    if not modules:
        raise SystemExit(f"{root / package}: no Python modules")
    layers = load_layers(root / "pyproject.toml")
    problems: list[str] = []
    imports: list[Import] = []
    for module, path in modules.items():
        found, bad = imports_of(module, path, modules, root)
        imports.extend(found)
        problems.extend(bad)

    graph: dict[str, set[str]] = {module: set() for module in modules}
    for imp in imports:
        graph[imp.importer].add(imp.imported)
    for chain in cycles(graph):
        problems.append(f"cycle: {' -> '.join(chain)}")

    placed: dict[str, int] = {}
    for module, path in modules.items():
        matches = layer_of(module, layers)
        if not matches:
            shown = path.relative_to(root)
            problems.append(f"{shown}: {module} is in no layer of [[tool.tinygen.layers]] (add it to one)")
        elif len(matches) > 1:
            names = ", ".join(layers[i].name for i in matches)
            shown = path.relative_to(root)
            problems.append(f"{shown}: {module} matches several layers ({names}); make them exclusive")
        else:
            placed[module] = matches[0]
    seen: set[tuple[str, str]] = set()
    for imp in sorted(imports, key=lambda i: (i.importer, i.imported, i.line)):
        if (imp.importer, imp.imported) in seen or imp.importer not in placed or imp.imported not in placed:
            continue
        seen.add((imp.importer, imp.imported))
        low, high = placed[imp.importer], placed[imp.imported]
        if high > low:
            problems.append(
                f"{imp.path.relative_to(root)}:{imp.line}: {imp.importer} -> {imp.imported}: "
                f"layer {layers[low].name} imports the higher layer {layers[high].name}"
            )
    return problems, len(modules), len(graph_edges(graph))


def graph_edges(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return [(a, b) for a, targets in graph.items() for b in targets]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", type=Path, default=REPO, help="directory holding the package and pyproject.toml")
    parser.add_argument("--package", default="tinygen", help="the package to check (default: tinygen)")
    args = parser.parse_args(argv)
    problems, n_modules, n_edges = check(args.root.resolve(), args.package)
    for line in problems:
        print(line)
    if problems:
        print(f"check_layers: {len(problems)} problem(s) in {n_modules} modules, {n_edges} imports", file=sys.stderr)
        return 1
    print(f"check_layers: {n_modules} modules, {n_edges} imports, no cycles, layering respected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
