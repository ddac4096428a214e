"""The one gate between names from a model and C source.

Names taken from an ONNX model (file names, node names, tensor names) can hold anything. They
reach generated C only through `c_identifier` (for symbols, always behind the model prefix, and
checked for clashes by SymbolTable) or `c_comment` (for comments).
"""

from __future__ import annotations

import re

C_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else", "enum",
    "extern", "float", "for", "goto", "if", "inline", "int", "long", "register", "restrict",
    "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef", "union",
    "unsigned", "void", "volatile", "while", "_Bool", "_Complex", "_Imaginary", "asm", "bool",
    "true", "false", "main",
}
MAX_PREFIX_LENGTH = 40
# The prefix also names files: lib/<prefix>/<prefix>.h, lib/<prefix>/library.json. A header named like
# a system header (lib/string/string.h) shadows <string.h> for every file built with -Ilib/string, and
# a library folder named like tinygen's own (lib/tinygen_kernels) overwrites it. Such prefixes get
# "_model" appended. The C99/C11 standard headers, the POSIX and newlib headers the kernels' toolchains
# pull in, the CMSIS and Arduino headers of the board frameworks.
RESERVED_FILE_NAMES = {
    "assert", "complex", "ctype", "errno", "fenv", "float", "inttypes", "iso646", "limits", "locale", "math",
    "setjmp", "signal", "stdalign", "stdarg", "stdatomic", "stdbool", "stddef", "stdint", "stdio", "stdlib",
    "stdnoreturn", "string", "tgmath", "threads", "time", "uchar", "wchar", "wctype",
    "alloca", "dirent", "fcntl", "features", "getopt", "malloc", "memory", "newlib", "pthread", "reent", "sched",
    "strings", "syscalls", "unistd", "utime", "endian", "ieeefp", "stdio_ext", "sys", "machine",
    "arduino", "wprogram", "cmsis_compiler", "cmsis_gcc", "cmsis_version", "arm_math", "arm_nnfunctions",
    "unity", "unity_config", "main",
}


def _reserved(prefix: str) -> bool:
    return prefix in RESERVED_FILE_NAMES or prefix.startswith(("tinygen", "core_cm", "system_", "stm32"))


def c_identifier(text: str) -> str:
    """A valid C identifier made from `text`: ASCII letters, digits and single underscores."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_")
    if not name:
        name = "x"
    if name[0].isdigit():
        name = "m" + name
    if name in C_KEYWORDS:
        name += "_"
    return name


def model_prefix(text: str) -> str:
    """The lower-case prefix of every generated symbol (e.g. `kws` -> kws_run, KWS_ARENA_SIZE).

    A leading `tg_` is refused: that namespace belongs to the kernel library. A prefix that would
    name a file like a system header or one of tinygen's libraries gets `_model` appended.
    """
    prefix = c_identifier(text).lower()[:MAX_PREFIX_LENGTH].rstrip("_")
    if prefix.startswith("tg_") or prefix == "tg":
        prefix = "model_" + prefix
    if _reserved(prefix) or _reserved(prefix.rstrip("_")):
        prefix = prefix.rstrip("_") + "_model"
    return prefix


def c_comment(text: str, limit: int = 120) -> str:
    """Text safe inside /* ... */: printable ASCII, no comment terminator, bounded length."""
    cleaned = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text)
    cleaned = cleaned.replace("*/", "*?/").replace("/*", "/?*")
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


class SymbolTable:
    """Hands out prefixed, sanitized, unique C symbols; a clash is a bug and fails loudly."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.used: set[str] = set()

    def symbol(self, hint: str) -> str:
        name = f"{self.prefix}_{c_identifier(hint)}"
        if name in self.used:
            raise ValueError(f"generated C symbol {name!r} would be defined twice")
        self.used.add(name)
        return name
