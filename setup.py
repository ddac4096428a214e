"""Packaging hook: a regular (non-editable) install copies the repository's templates/ and
firmware/ folders into the package as tinygen/_data/, so an installed tinygen works from any
directory. An editable install reads them from the repository itself (see tinygen/resources.py)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA_FOLDERS = ("templates", "firmware")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for folder in DATA_FOLDERS:
            destination = Path(self.build_lib) / "tinygen" / "_data" / folder
            shutil.copytree(
                ROOT / folder,
                destination,
                dirs_exist_ok=True,
                ignore=shutil.ignore_patterns(".pio", "__pycache__", "*.pyc"),
            )


setup(cmdclass={"build_py": BuildPyWithData})
