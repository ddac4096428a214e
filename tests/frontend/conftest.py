"""Fixtures of the frontend tests (the op tests' harness is shared)."""

from ..ops.harness import run_case  # noqa: F401  (a session fixture)
