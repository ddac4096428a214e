"""tinygen's dev-platforms in a shared PlatformIO core (issue 17: two relocatable projects building at
once could race and fail with UnknownPlatform). tinygen writes the platform link itself, atomically and
pointing at its own firmware folder, so PlatformIO finds the platform installed from any project folder
and never rewrites the link while other builds read it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import tinygen
from tinygen.platformio import core
from tinygen.resources import firmware_dir

from ..conftest import model_file

LOOKUP = """
import sys
from platformio.package.manager.platform import PlatformPackageManager
package = PlatformPackageManager().get_package("symlink://platforms/" + sys.argv[1])
print(package.path if package else "NOT INSTALLED")
"""


def _platformio_finds(core_dir: Path, project: Path, name: str) -> str:
    """What PlatformIO's package manager resolves a project's `platform = symlink://platforms/NAME` to."""
    result = subprocess.run([sys.executable, "-c", LOOKUP, name], cwd=project, capture_output=True, text=True,
                            env={**os.environ, "PLATFORMIO_CORE_DIR": str(core_dir)}, check=True)
    return result.stdout.strip()


def test_every_project_finds_the_installed_platform(tmp_path: Path) -> None:
    core_dir = tmp_path / "core"
    core.ensure_local_platforms(core_dir)
    platforms = (firmware_dir() / "platforms").resolve()
    links = sorted(p.name for p in (core_dir / "platforms").glob("*.pio-link"))
    assert links == sorted(f"{p.name}.pio-link" for p in core.local_platforms())
    before = {name: (core_dir / "platforms" / name).read_bytes() for name in links}
    for project in (tmp_path / "a", tmp_path / "elsewhere" / "b"):
        project.mkdir(parents=True)
        shutil.copytree(platforms / "tinygen-host", project / "platforms" / "tinygen-host")  # as compile writes
        for folder in core.local_platforms():
            assert _platformio_finds(core_dir, project, folder.name) == str(folder)
    shutil.rmtree(tmp_path / "a")  # a deleted project breaks nothing: the link never pointed into it
    assert _platformio_finds(core_dir, tmp_path / "elsewhere" / "b", "tinygen-host") == str(platforms / "tinygen-host")
    core.ensure_local_platforms(core_dir)  # idempotent: the same bytes
    assert {name: (core_dir / "platforms" / name).read_bytes() for name in links} == before


def test_concurrent_registration_never_shows_a_half_written_link(tmp_path: Path) -> None:
    """Writers (other tinygen processes) replace a stale link while a reader (a PlatformIO run) keeps
    parsing it: it is always complete JSON, and in the end tinygen's record."""
    core_dir = tmp_path / "core"
    link = core_dir / "platforms" / "tinygen-host.pio-link"
    core.ensure_local_platforms(core_dir)
    stale = {"cwd": str(tmp_path / "gone"), "spec": {"name": "tinygen-host", "uri": "symlink://platforms/tinygen-host"}}
    writer = ("import json, os, sys\nfrom pathlib import Path\nfrom tinygen.platformio import core\n"
              "link, stale = Path(sys.argv[1]), sys.argv[2]\n"
              "for i in range(40):\n"
              "    tmp = link.with_name(f'.stale.{os.getpid()}')\n"
              "    tmp.write_text(stale)\n"
              "    os.replace(tmp, link)  # another checkout of tinygen registered its own folder\n"
              "    core.ensure_local_platforms(link.parent.parent)\n")
    failures: list[str] = []
    done = threading.Event()

    def read() -> None:
        reads = 0
        while not done.is_set() or reads < 100:
            reads += 1
            try:
                json.loads(link.read_text())
            except ValueError as exc:
                failures.append(f"read {reads}: {exc}")
            except FileNotFoundError:
                failures.append(f"read {reads}: the link was missing")

    reader = threading.Thread(target=read)
    reader.start()
    writers = [subprocess.Popen([sys.executable, "-c", writer, str(link), json.dumps(stale)],
                                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}) for _ in range(3)]
    codes = [process.wait(timeout=300) for process in writers]
    done.set()
    reader.join()
    assert codes == [0, 0, 0] and failures == []
    core.ensure_local_platforms(core_dir)
    assert json.loads(link.read_text()) == core.platform_link((firmware_dir() / "platforms" / "tinygen-host").resolve())


@pytest.fixture(scope="module")
def kws(tmp_path_factory: pytest.TempPathFactory) -> tinygen.model.CompiledModel:
    return tinygen.compile(model_file("kws_dscnn", "int8_qdq"), tmp_path_factory.mktemp("registration") / "kws")


@pytest.mark.slow  # two PlatformIO builds: about a minute on 2 busy cores (`make bench`)
def test_two_moved_projects_build_at_once(kws, pio_core: Path, tmp_path: Path) -> None:
    """Two copies of a project in other folders build their host env at the same time in one core."""
    copies = []
    for name in ("first", "second"):
        copy = tmp_path / name / "project"
        shutil.copytree(kws.out_dir, copy, ignore=shutil.ignore_patterns(".pio"))
        copies.append(copy)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "TINYGEN_PLATFORMIO_CORE_DIR": str(pio_core)}
    builds = [subprocess.Popen([sys.executable, "-m", "tinygen", "build", str(copy), "-e", "host"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for copy in copies]
    outputs = [process.communicate(timeout=600)[0] for process in builds]
    for process, output in zip(builds, outputs, strict=True):
        assert process.returncode == 0, output
        assert "UnknownPlatform" not in output and "broken JSON" not in output
    for copy in copies:
        assert (copy / ".pio" / "build" / "host").is_dir()
