"""Fixtures of the op tests (see harness.py)."""

from .harness import run_case  # noqa: F401  (a session fixture shared by every op module)
