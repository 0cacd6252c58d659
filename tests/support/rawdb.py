"""Read the server's database directly, beside a server running in another thread or process.

The tables are bound to whichever engine the server built last, on another event loop;
these plain driver calls stay clear of that. SQL is written with ``?`` placeholders and
rewritten to ``$n`` for PostgreSQL.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from contextlib import closing
from typing import Any

import asyncpg


def _pg_sql(sql: str) -> str:
    count = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(count)}", sql)


async def fetch(database_url: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` as tuples; UUID parameters work on both engines."""
    if database_url.startswith(("postgres://", "postgresql://")):
        conn = await asyncpg.connect(database_url)
        try:
            return [tuple(r) for r in await conn.fetch(_pg_sql(sql), *params)]
        finally:
            await conn.close()
    path = database_url.removeprefix("sqlite:///")
    with closing(sqlite3.connect(path, timeout=30)) as conn:
        values = [str(p) if isinstance(p, uuid.UUID) else p for p in params]
        return list(conn.execute(sql, values).fetchall())


async def scalar(database_url: str, sql: str, *params: Any) -> Any:
    rows = await fetch(database_url, sql, *params)
    return rows[0][0] if rows else None
