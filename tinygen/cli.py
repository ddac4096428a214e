"""The `tinygen` command line: the group, its global options, and error handling.

Each command lives in tinygen/commands/<name>.py and is listed in COMMANDS below.

Exit codes: 0 success; 1 verification failed (outputs differ); 2 bad input or usage (the
message says what and where, no traceback); 3 an internal error (a bug in tinygen: rerun with
TINYGEN_DEBUG=1 for the traceback).
"""

from __future__ import annotations

import importlib
import os
import traceback

import click

from . import progress
from .commands.common import Context, echo_err
from .errors import EXIT_BAD_INPUT, EXIT_OK, TinygenError, os_error_text
from .version import __version__

EXIT_INTERNAL = 3
# modules in tinygen/commands, each defining `command`
COMMANDS = ["compile", "run", "verify", "ops", "project", "build", "flash", "test", "boards", "report", "inspect",
            "bench"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="tinygen", standalone_mode=False)
        return EXIT_OK
    except TinygenError as exc:
        echo_err(f"error: {exc}")
        return exc.exit_code
    except click.exceptions.Abort as exc:  # click turns Ctrl-C inside a command into Abort
        if isinstance(exc.__context__, KeyboardInterrupt):
            echo_err("interrupted")
            return 130
        echo_err("aborted")
        return EXIT_BAD_INPUT
    except click.ClickException as exc:
        exc.show()
        return EXIT_BAD_INPUT
    except SystemExit as exc:
        return int(exc.code or 0)
    except KeyboardInterrupt:
        echo_err("interrupted")
        return 130
    except OSError as exc:  # the file system or the machine, not the model: the path and the reason
        echo_err(f"error: {os_error_text(exc)}")
        return EXIT_BAD_INPUT
    except MemoryError:
        echo_err("error: this machine ran out of memory; the model or the data is too large")
        return EXIT_BAD_INPUT
    except Exception as exc:  # a bug: say so plainly
        if os.environ.get("TINYGEN_DEBUG"):
            traceback.print_exc()
        echo_err(f"internal error (a bug in tinygen): {type(exc).__name__}: {exc}\n"
                 "Rerun with TINYGEN_DEBUG=1 to see the traceback, and please report it.")
        return EXIT_INTERNAL
