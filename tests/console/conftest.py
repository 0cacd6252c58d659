"""A real server per test on a copy of the seeded SQLite database, and an API helper."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_kit import Api, serve

from server.settings import Settings, load_settings


@pytest.fixture
def db_settings(sqlite_template: Path, tmp_path: Path) -> Settings:
    path = tmp_path / "daiban.sqlite"
    shutil.copy(sqlite_template, path)
    return load_settings({}, database_url=f"sqlite:///{path}", embedded_jobs=False)


@pytest.fixture
def server(db_settings: Settings) -> Iterator[str]:
    with serve(db_settings) as url:
        yield url


@pytest.fixture
def api(server: str) -> Iterator[Api]:
    helper = Api(server)
    yield helper
    helper.close()
