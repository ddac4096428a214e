"""Where tinygen finds its templates/ and firmware/ folders.

In a checkout (and an editable install) they sit beside the package at the repository root; a
regular install carries copies in tinygen/_data/ (see setup.py)."""

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(folder: str) -> Path:
    for candidate in (_PACKAGE.parent / folder, _PACKAGE / "_data" / folder):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"tinygen installation is incomplete: no {folder}/ folder found")


def templates_dir() -> Path:
    return data_dir("templates")


def firmware_dir() -> Path:
    return data_dir("firmware")
