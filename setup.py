"""Compile the message catalogs (.po -> .mo) while building, so wheels ship them.

Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py

LOCALE_DIR = Path(__file__).resolve().parent / "hierarchy" / "locale"


class BuildWithCatalogs(build_py):
    def run(self) -> None:
        for po in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po")):
            with po.open("rb") as handle:
                catalog = read_po(handle, locale=po.parent.parent.name)
            with po.with_suffix(".mo").open("wb") as handle:
                write_mo(handle, catalog)
        super().run()


setup(cmdclass={"build_py": BuildWithCatalogs})
