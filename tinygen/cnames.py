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

    A leading `tg_` is refused: that namespace belongs to the kernel library.
    """
    prefix = c_identifier(text).lower()[:MAX_PREFIX_LENGTH].rstrip("_")
    if prefix.startswith("tg_") or prefix == "tg":
        prefix = "model_" + prefix
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
