"""SCons build script of the tinygen-host dev-platform.

Builds the project (src/, lib/) into a program for this computer with the system C compiler
(CC, default cc), as the `native` platform does, with -O2 and a link map for size reports.
`upload` runs the program; `pio test` runs it directly (the platform has no uploader).
"""

import os

from SCons.Script import AlwaysBuild, Default, DefaultEnvironment

env = DefaultEnvironment()

env.Replace(
    CC=os.environ.get("CC", "cc"),
    CXX=os.environ.get("CXX", "c++"),
    SIZETOOL=os.environ.get("TINYGEN_HOST_SIZE", "size"),
    PROGNAME="program",
    SIZEPRINTCMD="$SIZETOOL -B -d $SOURCES",
    UPLOADCMD="$SOURCE",
)
env.Append(
    CCFLAGS=["-O2", "-Wall"],
    CPPDEFINES=["TG_PLATFORM_HOST"],
    LINKFLAGS=["-Wl,-Map," + os.path.join("$BUILD_DIR", "program.map")],
    LIBS=["m"],
)

target_bin = env.BuildProgram()

AlwaysBuild(env.Alias("upload", target_bin, env.VerboseAction("$UPLOADCMD", "Running $SOURCE")))
Default([target_bin])
