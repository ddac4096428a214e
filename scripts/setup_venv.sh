#!/usr/bin/env bash
# Create .venv/ in the repository root and install tinygen into it, editable, with the extras
# the tests and the PlatformIO targets need.
#
# Idempotent and fast when already done: .venv/.tinygen-setup holds a hash of the packaging
# files (pyproject.toml, setup.py), the Python version and the extras; when it matches, nothing
# runs. Editing pyproject.toml therefore reinstalls on the next `make setup`.
#
# Usage: scripts/setup_venv.sh PYTHON   (e.g. python3.11; must be Python >= 3.11)
# Environment: VENV (default .venv), EXTRAS (default test,platformio).
set -euo pipefail

cd "$(dirname "$0")/.."
PYTHON=${1:-python3}
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-test,platformio}
STAMP="$VENV/.tinygen-setup"
export PIP_DISABLE_PIP_VERSION_CHECK=1

is_python_311() {  # true when "$1" runs and is Python >= 3.11
    "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "error: no Python interpreter '$PYTHON' on PATH. tinygen needs Python 3.11 or newer;" >&2
    echo "  install it (Debian: apt-get install python3) or run: make setup PYTHON=/path/to/python3.11" >&2
    exit 2
fi
if ! is_python_311 "$PYTHON"; then
    found=$("$PYTHON" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || echo unknown)
    echo "error: $PYTHON is Python $found; tinygen needs Python 3.11 or newer." >&2
    echo "  Install Python 3.11 and run: make setup PYTHON=/path/to/python3.11" >&2
    exit 2
fi

key=$({
    cat pyproject.toml setup.py
    "$PYTHON" -c 'import sys; print(sys.version)'
    echo "extras=$EXTRAS"
} | sha256sum | cut -d' ' -f1)

if [ -x "$VENV/bin/python" ] && is_python_311 "$VENV/bin/python" && [ -f "$STAMP" ] \
    && [ "$(cat "$STAMP")" = "$key" ]; then
    echo "venv: $VENV is up to date"
    exit 0
fi

if [ -e "$VENV" ] && ! is_python_311 "$VENV/bin/python"; then
    echo "venv: $VENV exists but its Python is missing or older than 3.11; recreating it"
    rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
    echo "venv: creating $VENV with $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
    if ! "$PYTHON" -m venv "$VENV"; then
        rm -rf "$VENV"
        echo "error: '$PYTHON -m venv' failed. On Debian/Ubuntu install the venv module:" >&2
        echo "  apt-get install python3-venv   (scripts/setup_system.sh does this when run as root)" >&2
        exit 2
    fi
fi

echo "venv: pip install -e '.[$EXTRAS]'"
"$VENV/bin/python" -m pip install --progress-bar off -e ".[$EXTRAS]"
echo "$key" >"$STAMP"
echo "venv: ready ($("$VENV/bin/python" -c 'import tinygen, sys; print("tinygen", tinygen.__version__, "on Python", sys.version.split()[0])'))"
