"""Small query helpers shared by the routes and jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from piccolo.columns import Column
from piccolo.columns.combination import Where
from piccolo.columns.operators.comparison import GreaterEqualThan, LessThan

from server.tables import Case


def path_upper(path: str) -> str:
    """The smallest string above every path under ``path`` ('/' + 1 is '0')."""
    return path[:-1] + chr(ord(path[-1]) + 1)


def under(column: Column, path: str) -> Any:
    """Rows whose materialised path lies in the subtree at ``path``.

    PostgreSQL answers ``LIKE 'prefix%'`` from a text_pattern_ops index whatever its
    collation; SQLite's LIKE ignores case and so skips the index, but a range on its
    BINARY index is exact and fast. Paths hold digits and '/' only, so no escaping.
    """
    if column._meta.engine_type == "postgres":
        return column.like(f"{path}%")
    return Where(column, path, operator=GreaterEqualThan) & Where(column, path_upper(path), operator=LessThan)


def contains(column: Column, text: str) -> Any:
    """Case-insensitive substring match: ILIKE on PostgreSQL; SQLite's LIKE already ignores case."""
    if column._meta.engine_type == "postgres":
        # Backslash is PostgreSQL's LIKE escape: a typed % or _ matches itself.
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return column.ilike(f"%{escaped}%")
    return column.like(f"%{text}%")


async def case_batches(columns: Sequence[Column], where: Any, size: int = 500) -> AsyncIterator[list[dict[str, Any]]]:
    """Cases matching ``where`` in batches of ``size``, keyset-paged by id.

    Memory stays bounded however many rows match (the sweep walks 100,000 open cases
    this way); each batch is one indexed query that starts where the last one ended.
    """
    after: Any = None
    while True:
        query = Case.select(*columns).where(where).order_by(Case.id).limit(size).output(load_json=True)
        if after is not None:
            query = query.where(Case.id > after)
        batch = await query
        if not batch:
            return
        yield batch
        after = batch[-1]["id"]
