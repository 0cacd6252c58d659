"""Holiday arrangements an admin loaded (``daiban calendar import FILE``), and what they move.

Arrangements are stored in ``calendar_year`` and taught to the working-day calendar of
every process: at start, and again at most once a minute when a case is read, listed or
swept (:func:`refresh`). :func:`recompute_due_dates` then recomputes the due time of the
open cases that the new year touches from their history, writes each change as an
``update`` of the case (a new version, so devices pull it) and returns what moved.
"""

from __future__ import annotations

import time
from datetime import datetime
from datetime import time as clock_time
from typing import Any

import msgspec

from hierarchy.arrangement import Arrangement, ArrangementFile, validate
from hierarchy.calendar import TZ, learn
from hierarchy.cases import OPEN_VALUES, system_actor
from hierarchy.machine import Action, Decision, due_time
from server.db import Database
from server.queries import case_batches
from server.tables import CalendarYear, Case

REFRESH_SECONDS = 60.0
_last_refresh = float("-inf")


async def load_all() -> list[int]:
    """Teach this process every stored arrangement; the years that changed anything."""
    global _last_refresh
    _last_refresh = time.monotonic()
    changed = []
    for row in await CalendarYear.select(CalendarYear.data).output(load_json=True):
        if learn(validate(msgspec.convert(row["data"], ArrangementFile))):
            changed.append(int(row["data"]["year"]))
    return changed


async def refresh() -> None:
    """:func:`load_all`, at most once a minute per process."""
    if time.monotonic() - _last_refresh >= REFRESH_SECONDS:
        await load_all()


async def store(arrangement: Arrangement, now: datetime) -> None:
    """Keep ``arrangement`` (replacing its year's) and teach it to this process."""
    data = msgspec.to_builtins(arrangement.to_file())
    await CalendarYear.insert(CalendarYear(year=arrangement.year, data=data, imported_at=now)).on_conflict(
        target=CalendarYear.year, action="DO UPDATE", values=[CalendarYear.data, CalendarYear.imported_at]
    ).run()
    learn(arrangement)


async def recompute_due_dates(engine: Database, year: int, now: datetime) -> list[dict[str, Any]]:
    """Recompute the due time of every open case due in ``year`` or later; what moved."""
    from server.cases import to_state, write_decision  # server.cases refreshes through this module

    start = datetime.combine(datetime(year, 1, 1).date(), clock_time.min, tzinfo=TZ)
    columns = (Case.id,)
    moved: list[dict[str, Any]] = []
    window = Case.status.is_in(list(OPEN_VALUES)) & (Case.due_at >= start)
    async for batch in case_batches(columns, window):
        for ref in batch:
            row = await Case.select().where(Case.id == ref["id"]).output(load_json=True).first()
            if row is None or row["status"] not in OPEN_VALUES:
                continue
            due = due_time(to_state(row))  # the rule the case machine applies
            if due == row["due_at"]:
                continue
            decision = Decision(
                action=Action.UPDATE,
                changes={"due_at": due, "version": row["version"] + 1},
                reason=f"calendar {year}",
            )
            actor = system_actor(row["owner_unit"], row["owner_path"])
            if await write_decision(engine, row, actor, decision, now):
                moved.append({"ref": row["ref"], "id": str(row["id"]), "from": row["due_at"], "to": due})
    return moved
