"""`python -m tinygen` and the `tinygen` console script.

The Ctrl-C handler is in place before anything heavy is imported (numpy, onnx, click and the
commands take a second or two to import): an interrupt at any moment prints one line and exits 130.
"""

import sys


def entry() -> int:
    try:
        from .cli import main

        return main()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(entry())
