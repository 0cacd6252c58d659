"""``make check`` runs ``daiban migrate --check``: a table changed without a migration fails it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hierarchy", "sync", "server", "console", "seeds", "cli")


def check(tree: Path) -> subprocess.CompletedProcess[str]:
    """``daiban migrate --check`` with the packages imported from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", "migrate", "--check"],
        cwd=tree, env=env, capture_output=True, text=True, timeout=120,
    )


def copy_tree(dest: Path) -> Path:
    for name in PACKAGES:
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def test_the_tree_has_no_drift(tmp_path: Path) -> None:
    done = check(copy_tree(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "一致" in done.stdout


def test_a_column_changed_without_a_migration_fails(tmp_path: Path) -> None:
    tree = copy_tree(tmp_path)
    tables = tree / "server" / "tables.py"
    source = tables.read_text()
    changed = source.replace("    name = Varchar(length=100)\n", "    name = Varchar(length=180)\n", 1)
    assert changed != source
    tables.write_text(changed)
    # The copy must be the one imported, or the test proves nothing.
    done = subprocess.run(
        [sys.executable, "-c", "import server.tables as t; print(t.__file__)"],
        cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True, check=True,
    )
    assert done.stdout.strip() == str(tables)
    failed = check(tree)
    assert failed.returncode == 1
    assert "length" in failed.stderr and "180" in failed.stderr
