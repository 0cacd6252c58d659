"""Outgoing webhooks: set a unit's, and see what was (not) delivered."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, get, put
from litestar.params import FromPath, JSONBody, QueryParameter

from server import webhooks
from server.auth import Principal
from server.deps import NowDep

Req = Request[Principal, Any, Any]


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["webhooks"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @put(
        "/units/{code:str}",
        operation_id="setUnitWebhook",
        summary="Post this unit's notifications to a 企业微信/钉钉 group robot or a JSON endpoint",
    )
    async def set_webhook(
        self, request: Req, now: NowDep, code: FromPath[str], data: JSONBody[webhooks.WebhookIn]
    ) -> webhooks.WebhookOut:
        return await webhooks.set_webhook(request.user.actor, code, data, now)

    @get("/deliveries", operation_id="listWebhookDeliveries", summary="Deliveries, newest first (admins)")
    async def list_deliveries(
        self,
        request: Req,
        status: Annotated[Literal["pending", "delivered", "failed"] | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> list[webhooks.DeliveryOut]:
        return await webhooks.deliveries(request.user.actor, status, limit)
