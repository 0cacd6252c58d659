"""``daiban backup``: a consistent copy of a live database, taken without stopping it.

- SQLite: the online backup API copies the file page by page under a read transaction
  (WAL lets the API keep writing meanwhile) into a temporary file beside the target, which
  is checked (``PRAGMA integrity_check``) and then renamed into place.
- PostgreSQL: ``pg_dump --format=custom`` (a snapshot, restored with ``pg_restore``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import msgspec

from server.settings import Settings


class BackupResult(msgspec.Struct, kw_only=True, frozen=True):
    path: str
    engine: str
    cases: int | None
    bytes: int


class BackupError(Exception):
    pass


def backup(settings: Settings, target: Path) -> BackupResult:
    """Copy the configured database to ``target`` (overwritten when the copy is good)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if settings.is_postgres:
        return _pg_dump(settings.database_url, target)
    return _sqlite_backup(Path(settings.sqlite_path), target)


def _sqlite_backup(source: Path, target: Path) -> BackupResult:
    if not source.exists():
        raise BackupError(f"no database at {source}")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the copy failed its integrity check: {check}")
        cases = int(dst.execute("SELECT count(*) FROM case_file").fetchone()[0])
    finally:
        dst.close()
        src.close()
    os.replace(partial, target)
    return BackupResult(path=str(target), engine="sqlite", cases=cases, bytes=target.stat().st_size)


def _pg_dump(url: str, target: Path) -> BackupResult:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError("pg_dump is not installed (Debian: apt-get install postgresql-client)")
    partial = target.with_name(target.name + ".partial")
    done = subprocess.run(
        [pg_dump, "--format=custom", "--no-owner", f"--file={partial}", f"--dbname={url}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
    os.replace(partial, target)
    return BackupResult(path=str(target), engine="postgres", cases=None, bytes=target.stat().st_size)
