"""Formatting of numbers and shapes as C99 literals."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .ir import kernel_dims

C_TYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "uint16": "uint16_t", "int32": "int32_t",
           "int64": "int64_t", "float32": "float"}


def c_int(value: int) -> str:
    value = int(value)
    if value == -(2**31):
        return "(-2147483647 - 1)"  # the literal 2147483648 does not fit an int
    if not -(2**31) < value < 2**31:
        return f"{value}LL"  # an int64 bias of a 16x8 layer
    return str(value)


def c_float(value: float) -> str:
    """A float32 literal that converts back to exactly the same float32 (9 significant digits)."""
    text = f"{float(np.float32(value)):.9g}"
    if "e" not in text and "." not in text and "inf" not in text and "nan" not in text:
        text += ".0"
    return text + "f"


def c_init(values: Iterable[int]) -> str:
    """A brace initializer of integers: (1, 2, 3) -> "{1, 2, 3}"."""
    return "{" + ", ".join(c_int(v) for v in values) + "}"


def c_dims(shape: Sequence[int]) -> str:
    """A tg_dims initializer: [N, H, W, C] as is; rank 2 [N, C] as [N, 1, 1, C]; rank 1 [C] as [1,1,1,C]."""
    return c_init(kernel_dims(tuple(shape)))


def c_rows(values: np.ndarray, per_row: int = 16) -> list[str]:
    """Comma-separated rows of an array's values, for an initializer list."""
    flat = np.asarray(values).ravel()
    if flat.dtype.kind == "f":
        items: Iterable[str] = (c_float(v) for v in flat)
    else:
        items = (c_int(v) for v in flat.tolist())
    items = list(items)
    return [", ".join(items[i:i + per_row]) for i in range(0, len(items), per_row)]
