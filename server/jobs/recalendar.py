"""Job: recompute the due times of open cases after a year's holidays were loaded.

``daiban calendar import`` runs the same work in-process and prints it; this job lets a
worker do it (``jobs.enqueue("recompute_due_dates", year=2027)``), returning what moved.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from server import calendar_store


async def recompute_due_dates(ctx: dict[str, Any], year: int) -> list[dict[str, str]]:
    """Job: teach this worker the stored arrangements, then move the due times ``year`` touches."""
    clock: Callable[[], datetime] = ctx.get("clock") or (lambda: datetime.now(UTC))
    await calendar_store.load_all()
    moved = await calendar_store.recompute_due_dates(ctx["engine"], year, clock())
    return [{**m, "from": m["from"].isoformat(), "to": m["to"].isoformat()} for m in moved]
