"""SCons build script of the tinygen-qemu dev-platform.

Compiles the project (src/, lib/) with the system arm-none-eabi toolchain for the board's
core, adds the startup code and SysTick instruction counter from ../support, links with newlib
and semihosting (rdimon) against the board's linker script, and writes a link map for size
reports. `upload` runs the firmware in QEMU with `-icount shift=0`, so that SysTick counts
executed instructions. TINYGEN_ARM_PREFIX and TINYGEN_QEMU override the tool names.
"""

import os

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()
platform = env.PioPlatform()
board = env.BoardConfig()

SUPPORT_DIR = os.path.join(platform.get_dir(), "support")
PREFIX = os.environ.get("TINYGEN_ARM_PREFIX", "arm-none-eabi-")
QEMU = os.environ.get("TINYGEN_QEMU", "qemu-system-arm")

# build.tinygen.fpu_flags is a string, so that a project can override it with
# `board_build.tinygen.fpu_flags = ...` (as it can override `board_build.cpu`).
cpu_flags = ["-mcpu=%s" % board.get("build.cpu"), "-mthumb"] + board.get("build.tinygen.fpu_flags", "").split()

env.Replace(
    AR=PREFIX + "ar",
    AS=PREFIX + "gcc",
    CC=PREFIX + "gcc",
    CXX=PREFIX + "g++",
    GDB=PREFIX + "gdb",
    OBJCOPY=PREFIX + "objcopy",
    RANLIB=PREFIX + "ranlib",
    SIZETOOL=PREFIX + "size",
    ARFLAGS=["rc"],
    PROGNAME="firmware",
    PROGSUFFIX=".elf",
    SIZEPROGREGEXP=r"^(?:\.text|\.data|\.ARM\.exidx|\.ARM\.extab)\s+(\d+).*",
    SIZEDATAREGEXP=r"^(?:\.data|\.bss)\s+(\d+).*",
    SIZECHECKCMD="$SIZETOOL -A -d $SOURCES",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
    QEMU=QEMU,
    QEMU_MACHINE=board.get("build.tinygen.qemu_machine"),
    QEMUFLAGS=["-nographic", "-monitor", "none", "-serial", "none",
               "-semihosting-config", "enable=on,target=native", "-icount", "shift=0"],
    # $UPLOADCMD stays a string here: PlatformIO replaces it after this script when the
    # project sets upload_command, and SCons expands it only when `upload` runs.
    UPLOADCMD="$QEMU -M $QEMU_MACHINE $QEMUFLAGS -kernel $SOURCE",
)

env.Append(
    ASFLAGS=cpu_flags,
    ASPPFLAGS=["-x", "assembler-with-cpp"],
    # -fstack-usage: each object's .su file (every function's frame) beside it in the build folder;
    # tinygen/stack.py computes the worst case from the same flags.
    CCFLAGS=cpu_flags + ["-O2", "-ffunction-sections", "-fdata-sections", "-Wall", "-fstack-usage"],
    CPPDEFINES=[("TG_INSTRUCTIONS_PER_TICK", board.get("build.tinygen.instructions_per_tick")),
                "TG_PLATFORM_QEMU"],
    LINKFLAGS=cpu_flags + ["-O2", "--specs=rdimon.specs", "-nostartfiles", "-Wl,--gc-sections",
                           "-L" + SUPPORT_DIR, "-Wl,-Map," + os.path.join("$BUILD_DIR", "firmware.map")],
    LIBS=["m"],
    LDSCRIPT_PATH=os.path.join(SUPPORT_DIR, board.get("build.tinygen.ldscript")),
)

# Startup code and the instruction counter belong to the board, not to the project.
env.BuildSources(os.path.join("$BUILD_DIR", "tinygen_support"), SUPPORT_DIR, src_filter="+<*.c>")

target_elf = env.BuildProgram()

AlwaysBuild(env.Alias("upload", target_elf, env.VerboseAction("$UPLOADCMD", "Running $SOURCE in QEMU ($QEMU_MACHINE)")))
Default([target_elf])
