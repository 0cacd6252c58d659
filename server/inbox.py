"""An agent's notifications: unread first, newest first, paged; marked read one or all."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from hierarchy.errors import NotFound
from server.cases import utc
from server.tables import Notification

MAX_LIMIT = 200


class NotificationOut(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    message: str
    case_id: uuid.UUID | None
    created_at: datetime
    read_at: datetime | None


class NotificationPage(msgspec.Struct, kw_only=True):
    notifications: list[NotificationOut]
    unread: int
    total: int
    offset: int
    limit: int


class UnreadCount(msgspec.Struct, kw_only=True):
    unread: int


class MarkedRead(msgspec.Struct, kw_only=True):
    marked: int
    unread: int


async def unread_count(agent_id: int) -> int:
    return int(
        await Notification.count().where((Notification.agent_id == agent_id) & Notification.read_at.is_null())
    )


async def page(agent_id: int, *, unread_only: bool = False, offset: int = 0, limit: int = 50) -> NotificationPage:
    """One page: unread before read, newest first within each (two keyed reads, no sort
    on an expression, the same on both engines)."""
    mine = Notification.agent_id == agent_id
    unread = await unread_count(agent_id)
    total = unread if unread_only else int(await Notification.count().where(mine))
    rows: list[dict[str, Any]] = []
    if offset < unread:
        rows += await _newest(mine & Notification.read_at.is_null(), offset, limit)
    if not unread_only and len(rows) < limit:
        rows += await _newest(mine & Notification.read_at.is_not_null(), max(0, offset - unread), limit - len(rows))
    return NotificationPage(
        notifications=msgspec.convert(rows, list[NotificationOut]),
        unread=unread,
        total=total,
        offset=offset,
        limit=limit,
    )


async def _newest(where: Any, offset: int, limit: int) -> list[dict[str, Any]]:
    return await (
        Notification.select(
            Notification.id,
            Notification.kind,
            Notification.message,
            Notification.case_id,
            Notification.created_at,
            Notification.read_at,
        )
        .where(where)
        .order_by(Notification.id, ascending=False)
        .offset(offset)
        .limit(limit)
    )


async def mark_read(agent_id: int, now: datetime, notification_id: int | None = None) -> MarkedRead:
    """Mark one notification (or, with no id, every unread one) read; marking twice is harmless."""
    where = (Notification.agent_id == agent_id) & Notification.read_at.is_null()
    if notification_id is not None:
        exists = await Notification.exists().where(
            (Notification.id == notification_id) & (Notification.agent_id == agent_id)
        )
        if not exists:
            raise NotFound("notification.not_found", "no such notification", notification=notification_id)
        where = where & (Notification.id == notification_id)
    marked = await Notification.update({Notification.read_at: utc(now)}).where(where).returning(Notification.id)
    return MarkedRead(marked=len(marked), unread=await unread_count(agent_id))
