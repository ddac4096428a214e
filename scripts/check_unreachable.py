"""Fail on code that can never run: unreachable statements, and definitions nothing references.

Usage: python scripts/check_unreachable.py [--root DIR] [--package NAME] [PATH ...]

1. Unreachable statements, in every .py under each PATH (default: NAME, scripts, bench): a statement
   after one that always leaves its block (return, raise, continue, break, sys.exit()/os._exit()/
   os.abort()/exit()/quit(), `assert False`, an if/else whose branches all leave, a `while True`
   without a break), and the body of `if False:`/`while False:` (any constant false test) or the
   `else` of `if True:`.
2. Definitions nothing references, in the package ROOT/NAME: module-level functions and classes and
   the methods of classes. A definition is referenced when its name is
   - for a module-level one, loaded in its own module (outside its own body: recursion alone
     does not keep it alive),
   - imported by name from a module of the package, anywhere,
   - an attribute (`x.name`) anywhere; for a plain method only a call `x.name(...)` counts when
     some class also has a data attribute of that name (`Value.tensor` does not keep a
     `Graph.tensor()` method alive),
   - in a string that names code: a getattr/hasattr/setattr argument, a dotted path
     ("pkg.mod.func"), a forward reference in an annotation (not a dict key or a docstring),
   - a word in templates/ or pyproject.toml (Jinja calls, console scripts).
   References are searched in the package, tests/, scripts/, bench/ and the .py files at ROOT.
   Dunder methods and definitions with a registering decorator (anything but property,
   staticmethod, classmethod, functools caches/wraps, dataclass, abstractmethod, overload, a
   property's setter) are in use by construction. The rest that is deliberately unreferenced goes
   in scripts/dead_code_allowlist.txt (dotted name, then `# why`); a stale entry is an error too.

The reference search goes by name, not by type, so it errs on the side of "referenced": it misses
dead code whose name is used for something else, never reports live code as dead (except code used
only through computed names, which the allowlist documents).

Prints one `path:line: ...` line per finding and exits 1; exit 0 prints a summary.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ALLOWLIST = "scripts/dead_code_allowlist.txt"
REFERENCE_DIRS = ("tests", "scripts", "bench")
TEXT_REFERENCES = ("templates", "pyproject.toml")
# Decorators that wrap or describe a definition without registering it anywhere.
PLAIN_DECORATORS = {"property", "cached_property", "staticmethod", "classmethod", "cache", "lru_cache", "wraps",
                    "dataclass", "abstractmethod", "overload", "override", "final", "total_ordering"}
EXIT_CALLS = {("sys", "exit"), ("os", "_exit"), ("os", "abort"), ("", "exit"), ("", "quit")}
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
IDENTIFIER_PATH = re.compile(r"[A-Za-z_][\w.:]*")


def python_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.py") if "__pycache__" not in p.parts and "_data" not in p.parts)


# --- 1. unreachable statements -------------------------------------------------------------------


def _constant(test: ast.expr) -> bool | None:
    """The truth value of a constant test (`False`, `0`, `None`, `True`, `1`), else None."""
    if isinstance(test, ast.Constant):
        return bool(test.value)
    return None


def _exit_call(stmt: ast.stmt) -> bool:
    if not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)):
        return False
    func = stmt.value.func
    if isinstance(func, ast.Name):
        return ("", func.id) in EXIT_CALLS
    return (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
            and (func.value.id, func.attr) in EXIT_CALLS)


def _breaks(body: list[ast.stmt]) -> bool:
    """Does a `break` in this loop body leave the loop (one not inside a nested loop or function)?"""
    for stmt in body:
        for node in _walk_same_loop(stmt):
            if isinstance(node, ast.Break):
                return True
    return False


def _walk_same_loop(node: ast.AST) -> Iterator[ast.AST]:
    """The node and its descendants, not entering nested loops, functions or classes."""
    yield node
    for child in ast.iter_child_nodes(node):
        if not isinstance(child, ast.For | ast.AsyncFor | ast.While | ast.FunctionDef | ast.AsyncFunctionDef
                          | ast.Lambda | ast.ClassDef):
            yield from _walk_same_loop(child)


def leaves(stmt: ast.stmt) -> str | None:
    """Why control never passes from this statement to the next one of its block, or None."""
    if isinstance(stmt, ast.Return):
        return "return"
    if isinstance(stmt, ast.Raise):
        return "raise"
    if isinstance(stmt, ast.Continue):
        return "continue"
    if isinstance(stmt, ast.Break):
        return "break"
    if _exit_call(stmt):
        return "a call that exits the process"
    if isinstance(stmt, ast.Assert) and _constant(stmt.test) is False:
        return "assert False"
    if isinstance(stmt, ast.If):
        taken = _constant(stmt.test)
        if taken is True:
            return leaves_block(stmt.body)
        if taken is False:
            return leaves_block(stmt.orelse)
        if stmt.orelse and leaves_block(stmt.body) and leaves_block(stmt.orelse):
            return "an if/else whose branches all leave"
    if isinstance(stmt, ast.While) and _constant(stmt.test) is True and not _breaks(stmt.body):
        return "a `while True` without a break"
    return None


def leaves_block(body: list[ast.stmt]) -> str | None:
    for stmt in body:
        why = leaves(stmt)
        if why:
            return why
    return None


def unreachable(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, message) of the first unreachable statement of every block."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if not isinstance(block, list) or not block or not isinstance(block[0], ast.stmt):
                continue
            for stmt, after in itertools.pairwise(block):
                why = leaves(stmt)
                if why:
                    found.append((after.lineno, f"unreachable: follows {why} (line {stmt.lineno})"))
                    break
        if isinstance(node, ast.If | ast.While) and _constant(node.test) is False and node.body:
            kind = "if" if isinstance(node, ast.If) else "while"
            found.append((node.body[0].lineno, f"unreachable: body of `{kind}` with a constant false test"))
        if isinstance(node, ast.If) and _constant(node.test) is True and node.orelse:
            found.append((node.orelse[0].lineno, "unreachable: `else` of `if` with a constant true test"))
    return sorted(set(found))


# --- 2. definitions nothing references -----------------------------------------------------------


@dataclass(frozen=True)
class Definition:
    qualname: str  # module.Class.method
    name: str
    path: Path
    line: int
    end: int
    module: str
    method: bool
    is_property: bool = False  # reached as x.name without a call, like data


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _registered(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        name = _decorator_name(decorator)
        if name in ("setter", "getter", "deleter"):
            continue
        if name not in PLAIN_DECORATORS:
            return True
    return False


def _is_property(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(_decorator_name(d) in ("property", "cached_property", "setter") for d in node.decorator_list)


def module_name(root: Path, path: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _all_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets) and stmt.value is not None:
                names |= {c.value for c in ast.walk(stmt.value)
                          if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return names


def definitions(root: Path, path: Path, tree: ast.Module) -> list[Definition]:
    module = module_name(root, path)
    exported = _all_names(tree)
    found: list[Definition] = []

    def top_level(body: list[ast.stmt]) -> list[ast.stmt]:
        """Module-level statements, looking into module-level if/try (TYPE_CHECKING, fallbacks)."""
        out: list[ast.stmt] = []
        for stmt in body:
            if isinstance(stmt, ast.If):
                out += top_level(stmt.body) + top_level(stmt.orelse)
            elif isinstance(stmt, ast.Try):
                out += top_level(stmt.body) + top_level(stmt.orelse) + top_level(stmt.finalbody)
                for handler in stmt.handlers:
                    out += top_level(handler.body)
            else:
                out.append(stmt)
        return out

    def visit_class(cls: ast.ClassDef, prefix: str) -> None:
        for stmt in cls.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                dunder = stmt.name.startswith("__") and stmt.name.endswith("__")
                if not dunder and not _registered(stmt):
                    found.append(Definition(f"{prefix}.{stmt.name}", stmt.name, path, stmt.lineno,
                                            stmt.end_lineno or stmt.lineno, module, True, _is_property(stmt)))
            elif isinstance(stmt, ast.ClassDef):
                visit_class(stmt, f"{prefix}.{stmt.name}")

    for stmt in top_level(tree.body):
        if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if stmt.name not in exported and not _registered(stmt):
                found.append(Definition(f"{module}.{stmt.name}", stmt.name, path, stmt.lineno,
                                        stmt.end_lineno or stmt.lineno, module, False))
            if isinstance(stmt, ast.ClassDef):
                visit_class(stmt, f"{module}.{stmt.name}")
    return found


def _naming_strings(tree: ast.AST) -> set[int]:
    """id() of the string constants that may name a definition: getattr/hasattr/setattr/delattr
    arguments (also monkeypatch.setattr), dotted or colon paths ("pkg.mod.func", "pkg.mod:func"),
    and strings inside annotations (forward references). A dict key "tensor" names nothing."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _decorator_name(node.func) in ("getattr", "hasattr", "setattr", "delattr"):
            ids |= {id(a) for a in node.args}
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(r"\w[.:]\w", node.value):
            ids.add(id(node))
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            annotations.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        for annotation in annotations:
            if annotation is not None:
                ids |= {id(n) for n in ast.walk(annotation) if isinstance(n, ast.Constant)}
    return ids


@dataclass
class References:
    # name -> [(path, line)] of `name` loaded as a variable, per module name
    loads: dict[tuple[str, str], list[int]]
    imported: set[str]  # names imported from a module of the package
    attributes: set[str]  # x.name, not called
    calls: set[str]  # x.name(...)
    strings: set[str]  # words of identifier-like string constants and of text files
    data_attributes: set[str]  # names some class stores data under (fields, self.name = ...)


def collect_references(root: Path, package: str, files: dict[Path, ast.Module]) -> References:
    refs = References({}, set(), set(), set(), set(), set())
    for path, tree in files.items():
        module = module_name(root, path) if path.is_relative_to(root / package) else str(path)
        named = _naming_strings(tree)
        called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                refs.loads.setdefault((module, node.id), []).append(node.lineno)
            elif isinstance(node, ast.Attribute):
                (refs.calls if id(node) in called else refs.attributes).add(node.attr)
                if isinstance(node.ctx, ast.Store) and isinstance(node.value, ast.Name) and node.value.id == "self":
                    refs.data_attributes.add(node.attr)
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level or source == package or source.startswith(package + "."):
                    refs.imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    refs.imported |= set(alias.name.split("."))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) in named:
                if IDENTIFIER_PATH.fullmatch(node.value):
                    refs.strings |= set(WORD.findall(node.value))
            elif isinstance(node, ast.ClassDef):
                for stmt in node.body:
                    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                        refs.data_attributes.add(stmt.target.id)
                    elif isinstance(stmt, ast.Assign):
                        refs.data_attributes |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
    for name in TEXT_REFERENCES:
        target = root / name
        if target.is_file():
            texts = [target]
        else:
            texts = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else []
        for text in texts:
            refs.strings |= set(WORD.findall(text.read_text(encoding="utf-8", errors="replace")))
    return refs


def referenced(d: Definition, refs: References) -> bool:
    # A bare name reaches a module-level definition only (a method is always reached as x.name).
    own_loads = [] if d.method else refs.loads.get((d.module, d.name), [])
    if any(not (d.line <= line <= d.end) for line in own_loads):
        return True
    if d.name in refs.imported or d.name in refs.strings or d.name in refs.calls:
        return True
    if d.name in refs.attributes:
        # `x.name` without a call is this method only if no class keeps data under that name.
        return not d.method or d.is_property or d.name not in refs.data_attributes
    return False


def load_allowlist(path: Path) -> dict[str, int]:
    """Dotted name -> line number in the allowlist file."""
    entries: dict[str, int] = {}
    if path.is_file():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            name = line.split("#", 1)[0].strip()
            if name:
                entries[name] = number
    return entries


def check(root: Path, package: str, paths: list[Path]) -> tuple[list[str], int, int]:
    """Findings (one line each), the number of files checked for unreachable code, definitions checked."""
    findings: list[str] = []
    trees: dict[Path, ast.Module] = {}

    def parse(path: Path) -> ast.Module:
        if path not in trees:
            trees[path] = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        return trees[path]

    def shown(path: Path) -> str:
        return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)

    checked = [f for p in paths for f in python_files(p)]
    for path in checked:
        for line, message in unreachable(parse(path)):
            findings.append(f"{shown(path)}:{line}: {message}")

    package_files = python_files(root / package)
    if not package_files:
        raise SystemExit(f"{root / package}: no Python modules")
    reference_files = list(package_files) + sorted(root.glob("*.py"))
    for name in REFERENCE_DIRS:
        if (root / name).is_dir():
            reference_files += python_files(root / name)
    refs = collect_references(root, package, {p: parse(p) for p in dict.fromkeys(reference_files)})
    allow = load_allowlist(root / ALLOWLIST)
    defs = [d for path in package_files for d in definitions(root, path, parse(path))]
    for d in defs:
        if d.qualname in allow or referenced(d, refs):
            continue
        kind = "method" if d.method else "function or class"
        findings.append(f"{shown(d.path)}:{d.line}: never referenced: {kind} {d.qualname}")
    known = {d.qualname for d in defs}
    for name, number in allow.items():
        if name not in known:
            findings.append(f"{ALLOWLIST}:{number}: stale entry: no definition {name} (remove the line)")
    return findings, len(checked), len(defs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", type=Path, default=REPO, help="the project directory (default: this repository)")
    parser.add_argument("--package", default="tinygen", help="the package checked for unreferenced definitions")
    parser.add_argument("paths", nargs="*", type=Path,
                        help="files or folders checked for unreachable statements (default: PACKAGE scripts bench)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    names = args.paths or [Path(args.package), Path("scripts"), Path("bench")]
    paths = [(p if p.is_absolute() else root / p) for p in names]
    paths = [p for p in paths if p.exists() or p.name not in ("scripts", "bench") or args.paths]
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise SystemExit(f"no such file or folder: {', '.join(map(str, missing))}")
    findings, n_files, n_defs = check(root, args.package, paths)
    for line in findings:
        print(line)
    if findings:
        print(f"check_unreachable: {len(findings)} finding(s)", file=sys.stderr)
        return 1
    print(f"check_unreachable: {n_files} files without unreachable statements, "
          f"{n_defs} definitions of {args.package} all referenced")
    return 0


if __name__ == "__main__":
    sys.exit(main())
