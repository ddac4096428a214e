"""Errors the user can act on.

Everything tinygen rejects is raised as a TinygenError: the CLI prints its message (never a
traceback) and exits with its exit code. Model problems are collected, not raised one at a time,
so the user sees every unsupported node of a model in one go.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_VERIFY_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a process stopped by Ctrl-C


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a model: which node, which op, why, and what to do about it."""

    reason: str
    node: str | None = None
    op: str | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = ""
        if self.node is not None or self.op is not None:
            where = f"node '{self.node or '?'}' ({self.op or '?'}): "
        text = where + self.reason
        if self.hint:
            text += f" — {self.hint}"
        return text


class TinygenError(Exception):
    """A failure caused by the input (model, data, options), reported without a traceback."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, problems: list[Problem] | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])
        self.hint = hint

    def __str__(self) -> str:
        lines = [self.message]
        lines += [f"  - {problem}" for problem in self.problems]
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)


class ModelError(TinygenError):
    """The model file cannot be read, is malformed, or uses something tinygen cannot compile."""

    def __init__(self, path: str, message: str, problems: list[Problem] | None = None,
                 hint: str | None = None):
        super().__init__(f"{path}: {message}", problems, hint)
        self.path = path


class UnsupportedModelError(ModelError):
    """One or more nodes cannot be compiled; all of them are listed."""

    def __init__(self, path: str, problems: list[Problem]):
        count = len(problems)
        super().__init__(
            path,
            f"{count} unsupported node{'s' if count != 1 else ''}:",
            problems,
            hint="Run `tinygen ops` for the supported ONNX operators and their constraints.",
        )


class DataError(TinygenError):
    """Calibration or inference data that does not fit the model."""


class BuildError(TinygenError):
    """A compiler or tool failed while building generated code."""


def os_error_text(exc: OSError, path: object = None) -> str:
    """'PATH: reason' for a file-system error, in words (no errno numbers, no Python repr)."""
    where = path if path is not None else exc.filename
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename2 is not None:
        where = f"{exc.filename} -> {exc.filename2}"
    return f"{where}: {reason[0].lower() + reason[1:]}" if where is not None else reason


class ProblemCollector:
    """Gathers problems while a pass walks the graph, then raises them all at once."""

    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []

    def add(self, reason: str, node: str | None = None, op: str | None = None,
            hint: str | None = None) -> None:
        self.problems.append(Problem(reason, node, op, hint))

    def raise_if_any(self) -> None:
        if self.problems:
            raise UnsupportedModelError(self.path, self.problems)
