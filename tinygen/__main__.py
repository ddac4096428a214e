"""`python -m tinygen` and the `tinygen` console script.

The Ctrl-C handler is in place before anything heavy is imported (numpy, onnx, click and the
commands take a second or two to import): an interrupt at any moment prints one line and exits 130.

Two moments need more than `except KeyboardInterrupt`:
- after the work is done, Python's own finalization puts SIGINT back to the default action, so an
  interrupt while the interpreter tears numpy and onnxruntime down would kill the process with a
  signal instead of the exit status already decided: SIGINT is ignored from then on;
- an interrupt that was caught may still have been recorded by CPython as "unhandled" (it then
  re-raises SIGINT at exit and the shell sees -2): an interrupted run ends with `os._exit(130)`
  once its output is flushed (every staging folder is already removed by `finally` blocks).
"""

import contextlib
import os
import signal
import sys
from typing import NoReturn

from .errors import EXIT_INTERRUPTED  # a light module (dataclasses only): the handler is still early


def end_interrupted(say: bool) -> NoReturn:
    """End the process at once with the interrupted status, the output flushed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if say:
        sys.stderr.write("interrupted\n")
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # the reader went away: nothing to keep
            stream.flush()
    os._exit(EXIT_INTERRUPTED)


def entry() -> int:
    try:
        from .cli import main

        code = main()
    except KeyboardInterrupt:  # before `main` could take it (in the imports)
        end_interrupted(say=True)
    if code == EXIT_INTERRUPTED:  # `main` has said so
        end_interrupted(say=False)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the work is done: finalization is not interruptible
    return code


if __name__ == "__main__":
    sys.exit(entry())
