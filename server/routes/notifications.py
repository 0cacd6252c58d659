"""The signed-in agent's inbox: what reached them or concerns them."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import QueryParameter

from server import inbox
from server.auth import Principal
from server.deps import NowDep
from server.params import RowId

Req = Request[Principal, Any, Any]


class NotificationController(Controller):
    path = "/api/v1/notifications"
    tags = ["notifications"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @get("/", operation_id="listNotifications", summary="Your notifications, unread first, newest first")
    async def list_notifications(
        self,
        request: Req,
        unread: Annotated[bool, QueryParameter(description="only unread ones")] = False,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000, description="skip this many")] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=inbox.MAX_LIMIT, description="page size")] = 50,
    ) -> inbox.NotificationPage:
        return await inbox.page(request.user.id, unread_only=unread, offset=offset, limit=limit)

    @get("/unread-count", operation_id="countUnreadNotifications", summary="How many notifications are unread")
    async def unread_count(self, request: Req) -> inbox.UnreadCount:
        return inbox.UnreadCount(unread=await inbox.unread_count(request.user.id))

    @post("/{notification_id:int}/read", operation_id="readNotification", status_code=200, summary="Mark one read")
    async def read_one(self, request: Req, now: NowDep, notification_id: RowId) -> inbox.MarkedRead:
        return await inbox.mark_read(request.user.id, now, notification_id)

    @post("/read-all", operation_id="readAllNotifications", status_code=200, summary="Mark every notification read")
    async def read_all(self, request: Req, now: NowDep) -> inbox.MarkedRead:
        return await inbox.mark_read(request.user.id, now)
