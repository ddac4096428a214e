"""Running PlatformIO for tinygen: its core folder, offline provisioning, and clear failures.

tinygen runs PlatformIO (`python -m platformio`, installed by `make setup`, or by
`pip install '.[platformio]'` in the tinygen checkout) with its own core folder, so that nothing
of a user's ~/.platformio is changed:

- core folder: $TINYGEN_PLATFORMIO_CORE_DIR, else $PLATFORMIO_CORE_DIR when the user set one
  (to reuse the platforms and toolchains installed there), else <tinygen cache>/platformio
  (~/.cache/tinygen/platformio; $TINYGEN_CACHE moves the cache).
- tool-scons: PlatformIO runs its builds with <core>/packages/tool-scons, normally downloaded
  from its registry. tinygen installs it from the SCons package of this Python (PyPI's
  scons==4.11.1 is what PlatformIO 6.1+ ships as tool-scons 4.41101.0), so builds need no
  registry at all for the host and QEMU environments (tinygen's local dev-platforms).
- real boards need PlatformIO's official platform and toolchain, downloaded once. Before
  building such an env, tinygen checks that they are installed or that the registry answers,
  and otherwise fails in seconds with one clear line (PlatformIO itself would stall ~60 s and
  end with a bare `HTTPClientError:`).
- PlatformIO's weekly upgrade check (which can stall a command ~60 s offline), telemetry,
  progress bars and colours are switched off in the environment of every run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from .. import progress
from ..errors import BuildError
from ..host import cache_root
from .envs import Env

REGISTRY_URL = "https://api.registry.platformio.org/v3/packages/platformio/platform/ststm32"
REGISTRY_TIMEOUT = 5.0  # seconds
QUIET_ENV = {
    "PLATFORMIO_DISABLE_UPGRADE_CHECK": "true",
    "PLATFORMIO_SETTING_ENABLE_TELEMETRY": "no",
    "PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL": "3650",
    "PLATFORMIO_DISABLE_PROGRESSBAR": "true",
    "PLATFORMIO_NO_ANSI": "true",
}
INSTALL_HINT = ("Install it with `make setup`, or `pip install '.[platformio]'` in the tinygen checkout "
                "(platformio and scons==4.11.1).")


def core_dir() -> Path:
    explicit = os.environ.get("TINYGEN_PLATFORMIO_CORE_DIR") or os.environ.get("PLATFORMIO_CORE_DIR")
    return Path(explicit) if explicit else cache_root() / "platformio"


def pio_environment(core: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(QUIET_ENV)
    env["PLATFORMIO_CORE_DIR"] = str(core or core_dir())
    return env


def check_platformio() -> None:
    try:
        import platformio  # noqa: F401
    except ImportError:
        raise BuildError("PlatformIO is not installed in this Python", hint=INSTALL_HINT) from None


def scons_tool_version(version: str) -> str:
    """PlatformIO's tool-scons version for an SCons version: 4.11.1 -> 4.41101.0."""
    major, minor, patch = (int(part) for part in [*version.split("."), "0", "0"][:3])
    return f"{major}.{major * 10000 + minor * 100 + patch}.0"


def required_scons() -> str:
    from platformio.dependencies import get_core_dependencies

    return get_core_dependencies()["tool-scons"]


def ensure_tool_scons(core: Path) -> Path:
    """Install tool-scons into `core` from this Python's SCons, unless it is there already."""
    target = core / "packages" / "tool-scons"
    if (target / "scons.py").is_file() and (target / ".piopm").is_file():
        return target
    try:
        import SCons
    except ImportError:
        raise BuildError("SCons is not installed in this Python; PlatformIO needs it to build, and its "
                         "registry may be unreachable", hint=INSTALL_HINT) from None
    import semantic_version

    version = scons_tool_version(SCons.__version__)
    requirement = required_scons()
    if not semantic_version.SimpleSpec(requirement).match(semantic_version.Version(version)):
        raise BuildError(f"PlatformIO wants tool-scons {requirement} but this Python has SCons "
                         f"{SCons.__version__} (= tool-scons {version})",
                         hint="Install the SCons version of your PlatformIO: `pip install scons==4.11.1` "
                              "for PlatformIO 6.1-6.2.")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tool-scons.", dir=target.parent))
    try:
        shutil.copytree(Path(SCons.__file__).parent, staging / "SCons",
                        ignore=shutil.ignore_patterns("__pycache__"))
        (staging / "scons.py").write_text(
            '"""tool-scons provided by tinygen from the PyPI scons package."""\n'
            "import sys\n\nimport SCons.Script\n\n"
            "if __name__ == '__main__':\n    sys.exit(SCons.Script.main())\n")
        (staging / "package.json").write_text(json.dumps({
            "name": "tool-scons", "version": version,
            "description": f"SCons {SCons.__version__} from PyPI, installed by tinygen"}, indent=1))
        (staging / ".piopm").write_text(json.dumps({
            "type": "tool", "name": "tool-scons", "version": version,
            "spec": {"owner": "platformio", "id": None, "name": "tool-scons", "requirements": None,
                     "uri": None}}))
        if target.exists():
            shutil.rmtree(target)
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def registry_reachable(timeout: float = REGISTRY_TIMEOUT) -> bool:
    if os.environ.get("TINYGEN_OFFLINE") == "1":
        return False
    try:
        with urllib.request.urlopen(REGISTRY_URL, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except (urllib.error.URLError, OSError, TimeoutError):
        return False


def missing_packages(core: Path, env: Env) -> list[str]:
    """What an official-platform env still needs from the registry (platform, toolchain,
    framework), judged from the platform's manifest in `core`."""
    manifest = core / "platforms" / env.platform / "platform.json"
    if not manifest.is_file():
        return [f"platform {env.platform}"]
    packages = json.loads(manifest.read_text()).get("packages", {})
    needed = [name for name, spec in packages.items()
              if not spec.get("optional", False) or (env.framework and name.startswith(f"framework-{env.framework}"))]
    return [name for name in needed if not (core / "packages" / name).is_dir()]


def check_env_available(env: Env, core: Path) -> None:
    """Fail fast, with one line, when a real-board env cannot be installed offline."""
    if env.local:
        return
    missing = missing_packages(core, env)
    if missing and not registry_reachable():
        raise BuildError(
            f"env {env.name} needs PlatformIO's '{env.platform}' platform ({', '.join(missing)} not installed "
            f"in {core}) and PlatformIO's registry cannot be reached: connect to the internet once to "
            f"install it, or use an offline env (host, qemu_m3, qemu_m4, qemu_m7, qemu_m33)")


def local_platforms() -> list[Path]:
    """tinygen's own dev-platforms (host, QEMU), which platformio.ini names as symlink://<folder>."""
    from ..resources import firmware_dir

    return sorted(p for p in (firmware_dir() / "platforms").resolve().iterdir() if (p / "platform.json").is_file())


def platform_link(folder: Path) -> dict[str, object]:
    """The <core>/platforms/<name>.pio-link record of a local dev-platform, as PlatformIO itself would
    write it when a project says `platform = symlink://platforms/<name>`, except that the relative
    path is resolved from tinygen's own firmware folder (its "cwd") rather than from the first project
    that happened to build: every project on this core then finds the platform installed and uses the
    copy of the installed tinygen, which stays where it is when projects are moved or deleted."""
    return {"cwd": str(folder.parent.parent), "spec": {"owner": None, "id": None, "name": folder.name,
                                                       "requirements": None, "uri": f"symlink://platforms/{folder.name}"}}


def _read_link(link: Path) -> object:
    try:
        return json.loads(link.read_text())
    except (OSError, ValueError):
        return None


def ensure_local_platforms(core: Path) -> None:
    """Register the local dev-platforms in the core folder before any build, safely with builds running.

    Left to itself, PlatformIO (re)installs a symlink:// platform in every run that finds it missing or
    resolving to another folder, and with relative paths (relocatable projects) the link records the
    folder of whichever project built first: a second project, or that project's deletion, makes the
    next run reinstall it, rewriting <core>/platforms/<name>.pio-link in place (open, truncate, write).
    Concurrent builds then read it half written ("Could not load broken JSON") or find no platform
    (UnknownPlatform). So tinygen writes the link itself, once, pointing at its own firmware folder
    (platform_link()), under a file lock and by an atomic rename: a reader sees the old file or the
    new one, and PlatformIO, finding the platform installed, never writes it again."""
    import fcntl

    platforms = core / "platforms"
    platforms.mkdir(parents=True, exist_ok=True)
    with open(core / ".tinygen-platforms.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for folder in local_platforms():
            link, record = platforms / f"{folder.name}.pio-link", platform_link(folder)
            if _read_link(link) == record:
                continue
            staging = platforms / f".{folder.name}.pio-link.{os.getpid()}.tmp"
            staging.write_text(json.dumps(record))
            os.replace(staging, link)


def prepare(envs: list[Env]) -> Path:
    """Everything PlatformIO needs before a build of `envs`; returns the core folder."""
    check_platformio()
    core = core_dir()
    ensure_tool_scons(core)
    if any(env.local for env in envs):
        ensure_local_platforms(core)
    for env in envs:
        check_env_available(env, core)
    return core


BUILD_STEP_LINES = ("Compiling ", "Linking ")  # PlatformIO output lines counted as progress steps


def build_steps(project_dir: Path, args: list[str]) -> int:
    """About how many compile and link steps a PlatformIO run has: the project's C/C++ sources and
    a link, plus the dev-platform's startup files, per env (a progress bar's length)."""
    sources = [p for folder in ("src", "lib", "test") if (project_dir / folder).is_dir()
               for p in (project_dir / folder).rglob("*") if p.suffix in (".c", ".cpp")]
    envs = max(1, args.count("-e"))
    return envs * (len(sources) + 3)


def run_pio(args: list[str], project_dir: Path, core: Path, *, stream: bool = False,
            timeout: float | None = None, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run `python -m platformio ARGS` in the project; output captured (and echoed if stream)."""
    command = [sys.executable, "-m", "platformio", *args]
    env = pio_environment(core)
    env.update(extra_env or {})
    if not stream and not progress.active():
        return subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True,
                              timeout=timeout, errors="replace")
    lines: list[str] = []
    steps = 0 if stream else build_steps(project_dir, args)  # a progress bar while output is captured
    with progress.task(f"pio {' '.join(args)}", steps) as advance, subprocess.Popen(
            command, cwd=project_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            errors="replace") as process:
        assert process.stdout is not None
        for line in process.stdout:
            if stream:
                sys.stdout.write(line)
                sys.stdout.flush()
            elif line.startswith(BUILD_STEP_LINES) and steps > 0:
                advance(1)
                steps -= 1
            lines.append(line)
        returncode = process.wait(timeout=timeout)
        advance(steps)  # the steps the estimate counted but PlatformIO skipped (up to date)
    return subprocess.CompletedProcess(command, returncode, "".join(lines), "")
