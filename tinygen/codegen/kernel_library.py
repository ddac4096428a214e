"""The C kernel library (firmware/tinygen_kernels) as a PlatformIO library in an output folder: the
public headers, and only the sources a model needs.

What a model needs is derived from the C itself, never from a hand-kept list: the sources that define
the functions the model calls, then the closure of what those sources use -- functions defined in other
library sources (the fallback a DSP variant calls, the shared block code of the convolution variants)
and the headers they `#include "..."`. The scan is lexical, which the kernels' plain C99 style allows:
comments and string literals are blanked; a function is *defined* where `name(...)` at file scope is
followed by `{`; a file *uses* every identifier inside its braces (calls and function pointers alike)
and in its `#define` bodies. Prototypes are not uses, so including a header that declares a family of
kernels pulls in none of them. A name the scan over-reads (a field called like a kernel) could only
copy one file too many; a missed use would fail the build, which the tests do.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..resources import firmware_dir

KERNEL_LIBRARY = "tinygen_kernels"

_LEXEMES = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)
_DIRECTIVE = re.compile(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", re.M)
_DEFINE = re.compile(r"#[ \t]*define[ \t]+\w+(?:\([^)]*\))?(.*)", re.S)
_TOKEN = re.compile(r"[A-Za-z_]\w*|[{}();]")
_PUNCTUATION = {"", "{", "}", "(", ")", ";"}


@dataclass(frozen=True)
class CFile:
    """What one C file of the library defines, uses and includes (paths relative to the library root)."""

    path: str
    defines: frozenset[str]
    uses: frozenset[str]
    includes: tuple[str, ...]


def _blank(match: re.Match[str]) -> str:
    """A comment or literal replaced by spaces, newlines kept (so directives stay one per line)."""
    text = match.group(0)
    if text.startswith('"'):
        return '""'
    return re.sub(r"[^\n]", " ", text)


def scan(text: str) -> tuple[frozenset[str], frozenset[str], tuple[str, ...]]:
    """(functions defined at file scope, identifiers used, quoted #include names) of a C file."""
    without_comments = _LEXEMES.sub(lambda m: m.group(0) if m.group(0)[0] in "\"'" else _blank(m), text)
    includes = tuple(_INCLUDE.findall(without_comments))
    code = _LEXEMES.sub(_blank, without_comments)
    uses: set[str] = set()
    for directive in _DIRECTIVE.findall(code):
        define = _DEFINE.match(directive.strip())
        if define:
            uses.update(t for t in _TOKEN.findall(define.group(1)) if t[0].isalpha() or t[0] == "_")
    code = _DIRECTIVE.sub("", code)
    defines: set[str] = set()
    depth = 0  # braces
    parens = 0  # parentheses at file scope
    candidate = ""  # the identifier before the first '(' of the current file-scope declaration
    closed = ""  # that identifier once its parentheses closed: a definition if '{' follows
    previous = ""
    for token in _TOKEN.findall(code):
        if depth > 0:
            if token == "{":
                depth += 1
            elif token == "}":
                depth -= 1
            elif token not in _PUNCTUATION:
                uses.add(token)
            continue
        if token == "{":
            if closed:
                defines.add(closed)
            depth, candidate, closed = 1, "", ""
        elif token == "(":
            if parens == 0 and not candidate and previous not in _PUNCTUATION:
                candidate = previous
            parens += 1
            closed = ""
        elif token == ")":
            parens -= 1
            if parens == 0:
                closed, candidate = candidate, ""
        elif token in ("}", ";"):
            candidate, closed = "", ""
        elif parens == 0:
            closed = ""  # `f(...) __attribute__` etc.: not followed directly by the body
        previous = token
    return frozenset(defines), frozenset(uses), includes


class KernelLibrary:
    """The library's C files, indexed by the functions their sources define."""

    def __init__(self, root: Path):
        self.root = root
        self.files: dict[str, CFile] = {}
        for path in sorted(root.rglob("*.[ch]")):
            relative = path.relative_to(root).as_posix()
            defines, uses, names = scan(path.read_text())
            includes = tuple(self._resolve(path, name) for name in names)
            self.files[relative] = CFile(relative, defines, uses, tuple(i for i in includes if i))
        self.definers: dict[str, list[str]] = {}
        for file in self.files.values():
            if file.path.endswith(".c"):
                for name in file.defines:
                    self.definers.setdefault(name, []).append(file.path)

    def _resolve(self, including: Path, name: str) -> str | None:
        """A quoted include as the compiler finds it: beside the including file, then in include/."""
        for folder in (including.parent, self.root / "include"):
            candidate = (folder / name).resolve()
            if candidate.is_file() and candidate.is_relative_to(self.root.resolve()):
                return candidate.relative_to(self.root.resolve()).as_posix()
        return None

    def public_headers(self) -> list[str]:
        return [path for path in self.files if path.startswith("include/")]

    def used_functions(self, text: str) -> set[str]:
        """The library functions a C text (the generated model.c) uses."""
        return {name for name in scan(text)[1] if name in self.definers}

    def closure(self, functions: Iterable[str]) -> list[str]:
        """The library files needed to link calls of `functions`: their sources, and whatever those
        use or include, transitively (sources under src/, the private headers beside them, and the
        public headers they include)."""
        pending: list[str] = []
        for name in sorted(set(functions)):
            if name not in self.definers:
                raise ValueError(f"no source of the kernel library {self.root} defines {name}()")
            pending.extend(self.definers[name])
        needed: set[str] = set()
        while pending:
            path = pending.pop()
            if path in needed:
                continue
            needed.add(path)
            file = self.files[path]
            pending.extend(file.includes)
            for name in file.uses - file.defines:
                pending.extend(self.definers.get(name, ()))
        return sorted(needed)


@functools.cache
def kernel_library(root: Path | None = None) -> KernelLibrary:
    return KernelLibrary(root or firmware_dir() / KERNEL_LIBRARY)


def kernel_library_files(functions: Iterable[str]) -> dict[str, bytes]:
    """The kernel library for an output folder (relative path -> bytes): library.json, every public
    header, and the sources (with the private headers they include) that calls of `functions` need."""
    library = kernel_library()
    paths = sorted(set(library.public_headers()) | set(library.closure(functions)))
    files = {f"lib/{KERNEL_LIBRARY}/library.json": (library.root / "library.json").read_bytes()}
    for path in paths:
        files[f"lib/{KERNEL_LIBRARY}/{path}"] = (library.root / path).read_bytes()
    return files
