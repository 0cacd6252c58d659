"""The per-county gauges (cron: every minute, at second 30): open cases and breaches.

One grouped count over the open cases (by the status index), keyed by the second segment
of the owner's path — the county-level unit, in the Zhongwei network as in the national
tree. A case owned by the top of the chain counts under ``top``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hierarchy.cases import Status
from server.metrics import BREACHES, OPEN_CASES
from server.tables import Case

OPEN = (Status.QUEUED.value, Status.IN_PROGRESS.value, Status.WAITING_APPLICANT.value)
#: Paths are "/<6-digit top code>/<6-digit county code>/…": the county starts at character 9.
COUNTY_SQL = (
    "SELECT substr(owner_path, 9, 6) AS county, count(*) AS open,"
    " sum(CASE WHEN due_at < {} THEN 1 ELSE 0 END) AS breached"
    " FROM case_file WHERE status IN ({}, {}, {}) GROUP BY 1"
)


async def county_counts(now: datetime) -> dict[str, tuple[int, int]]:
    """County code (or ``top``) → (open cases, open cases past due)."""
    rows = await Case.raw(COUNTY_SQL, now.astimezone(UTC), *OPEN)
    return {(r["county"] or "top"): (int(r["open"]), int(r["breached"] or 0)) for r in rows}


async def case_gauges(ctx: dict[str, Any]) -> dict[str, int]:
    """Job: set the gauges; counties with no open case left go back to zero."""
    clock: Callable[[], datetime] = ctx.get("clock") or (lambda: datetime.now(UTC))
    counts = await county_counts(clock())
    seen: set[str] = ctx.setdefault("gauge_counties", set())
    for county in seen - counts.keys():
        OPEN_CASES.labels(county).set(0)
        BREACHES.labels(county).set(0)
    for county, (open_, breached) in counts.items():
        OPEN_CASES.labels(county).set(open_)
        BREACHES.labels(county).set(breached)
    seen |= counts.keys()
    # Not a change: reported at debug level like any idle run.
    return {}
