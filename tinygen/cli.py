"""The `tinygen` command line: the group, its global options, and error handling.

Each command lives in tinygen/commands/<name>.py and is listed in COMMANDS below.

Exit codes: 0 success; 1 verification failed (outputs differ); 2 bad input or usage (the
message says what and where, no traceback); 3 an internal error (a bug in tinygen: rerun with
TINYGEN_DEBUG=1 for the traceback); 130 interrupted (Ctrl-C); 141 the output pipe was closed
(`tinygen ops | head -1`), as for any Unix tool killed by SIGPIPE.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

import click

from . import progress
from .commands.common import Context, echo_err
from .errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, TinygenError, os_error_text
from .version import __version__

EXIT_INTERNAL = 3
# modules in tinygen/commands, each defining `command`
COMMANDS = ["compile", "run", "verify", "ops", "project", "export", "build", "flash", "test", "boards", "report",
            "inspect", "bench", "evaluate"]


class PipeClosed(Exception):
    """stdout's reader went away. Raised past click, which would turn the BrokenPipeError into exit 1."""


class Group(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            raise PipeClosed from None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="tinygen")
@click.option("-q", "--quiet", is_flag=True, help="Print only errors and results.")
@click.option("-v", "--verbose", is_flag=True, help="Show the pass pipeline with timings.")
@click.pass_context
def cli(ctx: click.Context, quiet: bool, verbose: bool) -> None:
    """tinygen: compile ONNX models into standalone int8 C for microcontrollers.

    \b
    Example:
      tinygen compile model.onnx -o out/ --calib calib.npz
      tinygen verify out/
      tinygen run out/ --input x.npy --output y.npy
    """
    ctx.obj = Context(quiet, verbose)
    # progress bars on stderr for long steps, only on a terminal and without --quiet (tinygen/progress.py)
    ctx.with_resource(progress.reporting(progress.terminal_reporter(quiet)))


for _name in COMMANDS:
    cli.add_command(importlib.import_module(f".commands.{_name}", __package__).command)


GLOBAL_FLAGS = ("-q", "--quiet", "-v", "--verbose")
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for `yes | head -1`


def hoist_global_flags(args: list[str]) -> list[str]:
    """`tinygen compile m.onnx -v` means `tinygen -v compile m.onnx`: the group's flags may also
    follow the command (no command has a -q or -v of its own); `--` ends the search."""
    command = next((i for i, arg in enumerate(args) if not arg.startswith("-")), len(args))
    end = args.index("--") if "--" in args[command:] else len(args)
    moved = [arg for arg in args[command:end] if arg in GLOBAL_FLAGS]
    rest = [arg for arg in args[command:end] if arg not in GLOBAL_FLAGS]
    return moved + args[:command] + rest + args[end:]


def interrupted_inside(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt is among the causes of `exc` (extensions wrap it in their own errors)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


def say_interrupted() -> int:
    echo_err("interrupted")
    return EXIT_INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    args = hoist_global_flags(list(sys.argv[1:] if argv is None else argv))
    try:
        cli.main(args=args, prog_name="tinygen", standalone_mode=False)
        return EXIT_OK
    except (BrokenPipeError, PipeClosed):  # the reader went away (`tinygen ops | head -1`): not our error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that Python's exit-time flush stays quiet
        return EXIT_BROKEN_PIPE
    except TinygenError as exc:
        echo_err(f"error: {exc}")
        return exc.exit_code
    except click.exceptions.Abort as exc:  # click turns Ctrl-C inside a command into Abort
        if interrupted_inside(exc):
            return say_interrupted()
        echo_err("aborted")
        return EXIT_BAD_INPUT
    except click.ClickException as exc:
        exc.show()
        return EXIT_BAD_INPUT
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        return say_interrupted()
    except OSError as exc:  # the file system or the machine, not the model: the path and the reason
        echo_err(f"error: {os_error_text(exc)}")
        return EXIT_BAD_INPUT
    except MemoryError:
        echo_err("error: this machine ran out of memory; the model or the data is too large")
        return EXIT_BAD_INPUT
    except Exception as exc:
        if interrupted_inside(exc):  # Ctrl-C in an extension's import (pybind11's "initialization failed")
            return say_interrupted()
        # a bug: say so plainly
        if os.environ.get("TINYGEN_DEBUG"):
            traceback.print_exc()
        echo_err(f"internal error (a bug in tinygen): {type(exc).__name__}: {exc}\n"
                 "Rerun with TINYGEN_DEBUG=1 to see the traceback, and please report it.")
        return EXIT_INTERNAL
