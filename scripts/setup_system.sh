#!/usr/bin/env bash
# System tools tinygen needs beyond Python: the host C compilers, the Arm cross toolchain with
# newlib, QEMU for emulated Cortex-M boards, clang-format for `make lint`, and Chromium for the
# HTML-report test. This file is the one place that lists them.
#
# Only what is missing is installed. As root: `apt-get update` once, then `apt-get install -y` of
# the missing packages. Not root (or TINYGEN_NO_APT=1): print exactly which packages to install
# and carry on -- the tests that need a missing tool skip and say why.
#
# Usage: scripts/setup_system.sh [PYTHON]   (PYTHON: the interpreter the venv will be made with)
set -euo pipefail

PYTHON=${1:-python3}
# Debian names the venv package after the Python version (python3.11-venv).
python_version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo 3)

# check | Debian package(s) | what needs it
# A check is a shell condition that is true when the tool is present.
REQUIREMENTS=(
    "command -v gcc|gcc libc6-dev|the host simulator and the tests (generated C is built with gcc)"
    "command -v clang|clang|the tests (generated C must also build with clang)"
    "command -v clang-format|clang-format|make lint / make format (C sources)"
    "command -v arm-none-eabi-gcc|gcc-arm-none-eabi|building firmware for Cortex-M"
    "newlib_present|libnewlib-arm-none-eabi|the C library of bare-metal Cortex-M firmware"
    "command -v qemu-system-arm|qemu-system-arm|running firmware on emulated Cortex-M boards"
    "command -v chromium|chromium|the HTML report test (headless rendering)"
    "python_venv_present|python${python_version}-venv|creating .venv/ (Debian splits venv/ensurepip out of Python)"
)

newlib_present() {
    [ -d /usr/lib/arm-none-eabi/newlib ] && return 0
    command -v arm-none-eabi-gcc >/dev/null 2>&1 || return 1
    local lib
    lib=$(arm-none-eabi-gcc -print-file-name=librdimon.a 2>/dev/null) || return 1
    [ "$lib" != "librdimon.a" ] && [ -f "$lib" ]
}

python_venv_present() {
    "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1
}

missing_packages=()
missing_lines=()
present_packages=()
for entry in "${REQUIREMENTS[@]}"; do
    IFS='|' read -r check packages purpose <<<"$entry"
    if ! eval "$check" >/dev/null 2>&1; then
        # shellcheck disable=SC2206  # word splitting of the package list is intended
        missing_packages+=($packages)
        missing_lines+=("  ${packages}  -- ${purpose}")
    else
        present_packages+=("${packages%% *}")
    fi
done

if [ ${#missing_packages[@]} -eq 0 ]; then
    echo "system tools: all present (${present_packages[*]})"
    exit 0
fi

echo "system tools: missing packages:"
printf '%s\n' "${missing_lines[@]}"

if [ "$(id -u)" -ne 0 ] || [ -n "${TINYGEN_NO_APT:-}" ] || ! command -v apt-get >/dev/null 2>&1; then
    reason="not root"
    [ -n "${TINYGEN_NO_APT:-}" ] && reason="TINYGEN_NO_APT is set"
    command -v apt-get >/dev/null 2>&1 || reason="no apt-get on this system"
    echo "system tools: not installing them (${reason}). To install them:"
    echo "  sudo apt-get update && sudo apt-get install -y ${missing_packages[*]}"
    echo "system tools: continuing; tests that need a missing tool will be skipped with the reason."
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "system tools: apt-get update"
apt-get update -q
echo "system tools: apt-get install -y ${missing_packages[*]}"
if ! apt-get install -y -q "${missing_packages[@]}"; then
    echo "system tools: apt-get install failed (see above)." >&2
    echo "  Fix the package sources, or install the packages yourself and rerun; TINYGEN_NO_APT=1 skips this step." >&2
    exit 1
fi
echo "system tools: installed ${missing_packages[*]}"
