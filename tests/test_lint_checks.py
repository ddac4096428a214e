"""The `make lint` checks over the AST: scripts/check_layers.py (import cycles, layering) and
scripts/check_unreachable.py (unreachable statements, unreferenced definitions).

Each runs on the real tree, and each must fail on a small package under tmp_path that holds the
fault it looks for (and pass on the same package without it), run as `make lint` runs it.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import REPO

LAYERS = """\
[[tool.tinygen.layers]]
name = "low"
modules = ["toy.low", "toy.low_*"]

[[tool.tinygen.layers]]
name = "mid"
modules = ["toy.sub", "toy.sub.*"]

[[tool.tinygen.layers]]
name = "high"
modules = ["toy", "toy.high"]
"""


def script(name: str) -> ModuleType:
    """scripts/<name>.py imported as a module (registered first: dataclasses look their module up)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def toy(root: Path, **modules: str) -> Path:
    """A package `toy` (layers low < mid < high) with the given modules, dotted names relative to toy
    (`sub.deep` is toy/sub/deep.py, `sub` is toy/sub/__init__.py, `init` is toy/__init__.py)."""
    files = {"pyproject.toml": LAYERS, "toy/__init__.py": "", "toy/low.py": "", "toy/high.py": "",
             "toy/sub/__init__.py": ""}
    for name, text in modules.items():
        parts = name.split(".")
        if name == "init":
            files["toy/__init__.py"] = text
        elif f"toy/{'/'.join(parts)}/__init__.py" in files:
            files[f"toy/{'/'.join(parts)}/__init__.py"] = text
        else:
            files[f"toy/{'/'.join(parts)}.py"] = text
    return write_tree(root, files)


def run(name: str, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "scripts" / f"{name}.py"), *map(str, args)],
                          capture_output=True, text=True, check=False)


# --- scripts/check_layers.py -------------------------------------------------------------------


def test_layers_on_the_real_tree_are_clean() -> None:
    """No import cycle and no layering violation in tinygen itself (issue 10's restructure)."""
    problems, modules, imports = script("check_layers").check(REPO, "tinygen")
    assert modules == len([p for p in (REPO / "tinygen").rglob("*.py") if "__pycache__" not in p.parts])
    assert imports > modules  # every module imports something of the package, most several things
    assert problems == []


def test_layers_pass_on_a_clean_package(tmp_path: Path) -> None:
    root = toy(tmp_path, high="from .sub import deep\nfrom . import low\n", **{"sub.deep": "from ..low import x\n"},
               low="x = 1\n")
    result = run("check_layers", "--root", root, "--package", "toy")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no cycles" in result.stdout


def test_a_cycle_fails_once_as_a_chain(tmp_path: Path) -> None:
    # The import back from b is lazy (inside a function): still a dependency.
    root = toy(tmp_path, **{"sub.a": "from . import b\n", "sub.b": "def f():\n    from .a import g\n"})
    result = run("check_layers", "--root", root, "--package", "toy")
    assert result.returncode == 1
    assert result.stdout.splitlines() == ["cycle: toy.sub.a -> toy.sub.b -> toy.sub.a"]


def test_a_type_checking_import_closes_a_cycle(tmp_path: Path) -> None:
    back = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from toy.sub.a import A\n"
    root = toy(tmp_path, **{"sub.a": "import toy.sub.b\n", "sub.b": back})
    assert script("check_layers").check(root, "toy")[0] == ["cycle: toy.sub.a -> toy.sub.b -> toy.sub.a"]


def test_reexporting_init_is_no_cycle_but_importing_back_through_it_is(tmp_path: Path) -> None:
    check = script("check_layers").check
    # sub/__init__.py re-exports its submodules; they import each other directly: no cycle.
    reexport = {"sub": "from .a import A\nfrom .b import B\n", "sub.a": "A = 1\n", "sub.b": "from .a import A\nB = A\n"}
    assert check(toy(tmp_path / "ok", **reexport), "toy")[0] == []
    # b takes A through its package, whose __init__ imports b: order-dependent, a cycle.
    through = {**reexport, "sub.b": "from . import A\nB = A\n"}
    assert check(toy(tmp_path / "bad", **through), "toy")[0] == ["cycle: toy.sub -> toy.sub.b -> toy.sub"]


def test_layering_violation_fails_with_both_layers(tmp_path: Path) -> None:
    # toy.low (lowest layer) reaches up to toy.sub.deep (mid) through a relative import.
    root = toy(tmp_path, low="def f():\n    from .sub.deep import y\n", **{"sub.deep": "y = 2\n"})
    result = run("check_layers", "--root", root, "--package", "toy")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "toy/low.py:2: toy.low -> toy.sub.deep: layer low imports the higher layer mid"]


def test_a_module_outside_every_layer_fails(tmp_path: Path) -> None:
    root = toy(tmp_path, stray="")
    problems = script("check_layers").check(root, "toy")[0]
    assert problems == ["toy/stray.py: toy.stray is in no layer of [[tool.tinygen.layers]] (add it to one)"]


def test_cycles_listed_cover_every_module_once_per_chain() -> None:
    cycles = script("check_layers").cycles
    # Two triangles sharing a: a->b->c->a and a->d->e->a, plus b->a. Every module is in some chain.
    graph = {"a": {"b", "d"}, "b": {"c", "a"}, "c": {"a"}, "d": {"e"}, "e": {"a"}}
    chains = cycles(graph)
    assert chains == [["a", "b", "a"], ["a", "b", "c", "a"], ["a", "d", "e", "a"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


# --- scripts/check_unreachable.py --------------------------------------------------------------


def test_unreachable_and_dead_code_clean_on_the_real_tree() -> None:
    paths = [REPO / "tinygen", REPO / "scripts", REPO / "bench"]
    findings, files, definitions = script("check_unreachable").check(REPO, "tinygen", paths)
    assert findings == []
    assert files >= 90 and definitions >= 500


DEAD_LINES = {
    "after_return": ("def f(x):\n    return x\n    x += 1\n", 3, "follows return"),
    "after_raise": ("def f():\n    raise ValueError\n    print('no')\n", 3, "follows raise"),
    "after_continue": ("for i in range(3):\n    continue\n    print(i)\n", 3, "follows continue"),
    "after_break": ("while x:\n    break\n    x = 0\n", 3, "follows break"),
    "after_sys_exit": ("import sys\nsys.exit(2)\nprint('no')\n", 3, "a call that exits the process"),
    "after_os_exit": ("import os\ndef f():\n    os._exit(1)\n    return 0\n", 4, "a call that exits the process"),
    "after_assert_false": ("def f():\n    assert False, 'never'\n    return 1\n", 3, "follows assert False"),
    "if_false": ("if False:\n    print('no')\n", 2, "constant false test"),
    "while_false": ("while 0:\n    print('no')\n", 2, "constant false test"),
    "else_of_if_true": ("if True:\n    a = 1\nelse:\n    a = 2\n", 4, "constant true test"),
    "after_if_else_that_both_return": (
        "def f(x):\n    if x:\n        return 1\n    else:\n        return 2\n    return 3\n", 6, "branches all leave"),
    "after_while_true": ("def f():\n    while True:\n        pass\n    return 1\n", 4, "without a break"),
    "in_except_handler": ("try:\n    a = 1\nexcept OSError:\n    raise\n    a = 2\n", 5, "follows raise"),
}


@pytest.mark.parametrize("case", sorted(DEAD_LINES))
def test_a_dead_line_fails(tmp_path: Path, case: str) -> None:
    text, line, why = DEAD_LINES[case]
    root = write_tree(tmp_path, {"toy/__init__.py": "", "toy/m.py": text})
    result = run("check_unreachable", "--root", root, "--package", "toy", "toy")
    assert result.returncode == 1
    # (f itself is reported too, as never referenced: the check's other half)
    [finding] = [line for line in result.stdout.splitlines() if "unreachable" in line]
    assert finding.startswith(f"toy/m.py:{line}: unreachable: ") and why in finding, finding


def test_reachable_code_passes(tmp_path: Path) -> None:
    text = """\
    import contextlib
    import sys

    def f(x):
        if x:
            return 1
        while True:
            if x > 2:
                break
        for i in range(3):
            if i:
                continue
            x += i
        with contextlib.suppress(ValueError):
            raise ValueError
        if sys.argv:
            sys.exit(0)
        return x

    def main():
        return f(1)
    """
    root = write_tree(tmp_path, {"toy/__init__.py": "from .m import main\n", "toy/m.py": text})
    result = run("check_unreachable", "--root", root, "--package", "toy", "toy")
    assert result.returncode == 0, result.stdout
    assert "2 definitions of toy all referenced" in result.stdout


UNREFERENCED = {
    "toy/__init__.py": "",
    "toy/m.py": """\
        from dataclasses import dataclass

        REGISTRY = {}

        def register(cls):
            REGISTRY[cls.__name__] = cls
            return cls

        def used():
            return 1

        def dead(n):
            return dead(n - 1) if n else 0  # recursion alone does not keep it alive

        @register
        class Registered:  # decorator-registered
            def run(self):  # called below as x.run()
                return 2

            def tensor(self):  # only `value.tensor` (a field of Value) is read anywhere
                return 3

        @dataclass
        class Value:
            tensor: int = 0

        def by_test():
            return 4

        def by_getattr():
            return 5
        """,
    "toy/n.py": """\
        from toy.m import Registered, Value, used
        import toy.m

        def main(value: Value):
            return used() + Registered().run() + value.tensor + getattr(toy.m, "by_getattr")()
        """,
    "toy/o.py": "def main2():\n    pass\n",
    "tests/test_m.py": "from toy.m import by_test\n",
    "pyproject.toml": '[project.scripts]\ntoy = "toy.n:main"\ntoy2 = "toy.o:main2"\n',
}


def test_an_unreferenced_function_fails(tmp_path: Path) -> None:
    root = write_tree(tmp_path, UNREFERENCED)
    result = run("check_unreachable", "--root", root, "--package", "toy", "toy")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "toy/m.py:12: never referenced: function or class toy.m.dead",
        "toy/m.py:20: never referenced: method toy.m.Registered.tensor",
    ]


def test_the_allowlist_excuses_and_must_not_go_stale(tmp_path: Path) -> None:
    allow = "toy.m.dead  # looked up by a computed name\ntoy.m.Registered.tensor  # ditto\n"
    root = write_tree(tmp_path, {**UNREFERENCED, "scripts/dead_code_allowlist.txt": allow})
    check = script("check_unreachable").check
    assert check(root, "toy", [root / "toy"])[0] == []
    (root / "scripts/dead_code_allowlist.txt").write_text(allow + "toy.m.gone  # removed since\n")
    assert check(root, "toy", [root / "toy"])[0] == [
        "scripts/dead_code_allowlist.txt:3: stale entry: no definition toy.m.gone (remove the line)"]
