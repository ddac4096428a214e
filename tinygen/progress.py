"""Progress of long steps (calibration, batch runs, firmware builds), without printing.

Library code announces a task and advances it; whoever installed a reporter decides what to show.
The command line installs one that draws click progress bars on stderr, only when stderr is a
terminal and --quiet is off (tinygen/cli.py); Python callers and tests see nothing unless they
install their own:

    with progress.reporting(my_reporter):       # the caller (a command, a notebook)
        model.run(x)

    with progress.task("calibrating", total=n) as advance:    # library code
        for sample in samples:
            ...
            advance(1)

A reporter is a function (label, total) -> context manager yielding advance(n). The reporter lives
in a context variable, so it reaches the library without threading a parameter through every call.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar

Advance = Callable[[int], None]
Reporter = Callable[[str, int], AbstractContextManager[Advance]]

_REPORTER: ContextVar[Reporter | None] = ContextVar("tinygen_progress_reporter", default=None)


def _ignore(steps: int = 1) -> None:
    return None


@contextmanager
def reporting(reporter: Reporter | None) -> Iterator[None]:
    """Install `reporter` for the code run inside the block (None: report nothing)."""
    token = _REPORTER.set(reporter)
    try:
        yield
    finally:
        _REPORTER.reset(token)


def active() -> bool:
    return _REPORTER.get() is not None


@contextmanager
def task(label: str, total: int) -> Iterator[Advance]:
    """A task of `total` steps; yields advance(steps). Does nothing without a reporter."""
    reporter = _REPORTER.get()
    if reporter is None or total <= 0:
        yield _ignore
        return
    with reporter(label, total) as advance:
        yield advance


@contextmanager
def click_bar(label: str, total: int) -> Iterator[Advance]:
    """The command line's reporter: a click progress bar on stderr (removed when done)."""
    import click

    with click.progressbar(length=total, label=label, file=sys.stderr, show_pos=True, show_eta=True,
                           width=30) as bar:
        yield bar.update


def terminal_reporter(quiet: bool) -> Reporter | None:
    """click_bar when stderr is a terminal and output is not quieted, else None."""
    if quiet or not sys.stderr.isatty():
        return None
    return click_bar
