"""The attachment cleanup job (hourly): unfinished uploads and files no case lists any more."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from server.attachments import cleanup
from server.logs import get_logger
from server.storage import open_store


async def attachment_cleanup(ctx: dict[str, Any]) -> dict[str, int]:
    """Job: remove what :func:`server.attachments.cleanup` finds past its grace period."""
    clock: Callable[[], datetime] = ctx.get("clock") or (lambda: datetime.now(UTC))
    store = ctx.get("store") or open_store(ctx["settings"])
    removed = await cleanup(store, clock())
    get_logger("daiban.jobs.attachments").info("attachments.cleanup", **removed)
    return removed
