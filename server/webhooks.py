"""Outgoing webhooks: each unit may have one, and every notification its agents get is also
posted there — as a 企业微信 or 钉钉 group-robot message, or as plain JSON.

:func:`queue_deliveries` writes one delivery row per unit and notification, in the
transaction that writes the notification; the jobs in :mod:`server.jobs.webhooks` post
them later, with retries, so no request ever waits on a receiver. Failed deliveries stay
listed for an admin (:func:`deliveries`).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import msgspec

from hierarchy.cases import Actor
from hierarchy.errors import Forbidden, InvalidInput, NotFound
from hierarchy.i18n import DEFAULT_LANGUAGE, N_, translations
from hierarchy.roles import Role
from hierarchy.tree import in_subtree
from server.tables import Agent, Case, Unit, UnitWebhook, WebhookDelivery

MAX_URL = 500
#: A robot message: the notification with the app's name in front.
ROBOT_TEXT = N_("[daiban] {message}")


class Shape(enum.StrEnum):
    WECOM = "wecom"  # 企业微信群机器人
    DINGTALK = "dingtalk"  # 钉钉群机器人
    JSON = "json"  # a plain JSON POST


class WebhookIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    url: str
    shape: Shape = Shape.JSON
    active: bool = True


class WebhookOut(msgspec.Struct, kw_only=True):
    unit: str
    url: str
    shape: Shape
    active: bool


class DeliveryOut(msgspec.Struct, kw_only=True):
    id: int
    unit: str
    url: str
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    delivered_at: datetime | None
    payload: dict[str, Any]


def payload(shape: Shape, event: dict[str, Any]) -> dict[str, Any]:
    """The body a receiver of ``shape`` expects for one notification."""
    ref = event.get("case_ref") or ""
    text = translations(DEFAULT_LANGUAGE).gettext(ROBOT_TEXT).format(message=event["message"])
    if ref and ref not in event["message"]:
        text += f" ({ref})"
    if shape is Shape.WECOM:
        return {"msgtype": "text", "text": {"content": text}}
    if shape is Shape.DINGTALK:
        return {"msgtype": "text", "text": {"content": text}, "at": {"isAtAll": False}}
    return dict(event)


async def queue_deliveries(
    agent_ids: list[int], kind: str, message: str, now: datetime, case_id: uuid.UUID | None
) -> int:
    """One delivery per unit of ``agent_ids`` that has an active webhook (inside the
    notification's transaction); returns how many were queued."""
    if not agent_ids:
        return 0
    units = {a["unit_code"] for a in await Agent.select(Agent.unit_code).where(Agent.id.is_in(agent_ids))}
    hooks = await UnitWebhook.select().where(UnitWebhook.unit_code.is_in(list(units)) & (UnitWebhook.active == True))  # noqa: E712
    if not hooks:
        return 0
    ref = None
    if case_id is not None:
        found = await Case.select(Case.ref).where(Case.id == case_id).first()
        ref = found["ref"] if found else None
    rows = []
    for hook in hooks:
        event = {
            "kind": kind,
            "message": message,
            "case_id": str(case_id) if case_id else None,
            "case_ref": ref,
            "unit": hook["unit_code"],
            "created_at": now.isoformat(),
        }
        rows.append(
            WebhookDelivery(
                unit_code=hook["unit_code"],
                url=hook["url"],
                payload=payload(Shape(hook["shape"]), event),
                status="pending",
                attempts=0,
                last_error="",
                created_at=now,
            )
        )
    await WebhookDelivery.insert(*rows).run()
    return len(rows)


async def _managed_unit(actor: Actor, code: str) -> None:
    unit = await Unit.select(Unit.path).where(Unit.code == code).first()
    if unit is None or not in_subtree(unit["path"], actor.unit_path):
        raise NotFound("unit.not_found", f"no unit with code {code}", unit=code)
    if not (actor.role is Role.ADMIN or actor.leads(code)):
        raise Forbidden("webhook.forbidden", "an admin or the unit's lead sets its webhook")


async def set_webhook(actor: Actor, code: str, data: WebhookIn, now: datetime) -> WebhookOut:
    await _managed_unit(actor, code)
    url = data.url.strip()
    if not url.startswith(("http://", "https://")) or len(url) > MAX_URL or any(c.isspace() for c in url):
        raise InvalidInput("webhook.url_invalid", "an http(s) URL of at most 500 characters", field="url")
    row = UnitWebhook(unit_code=code, url=url, shape=data.shape.value, active=data.active, updated_at=now)
    await UnitWebhook.insert(row).on_conflict(
        target=UnitWebhook.unit_code,
        action="DO UPDATE",
        values=[UnitWebhook.url, UnitWebhook.shape, UnitWebhook.active, UnitWebhook.updated_at],
    ).run()
    return WebhookOut(unit=code, url=url, shape=data.shape, active=data.active)


async def deliveries(actor: Actor, status: str | None = None, limit: int = 100) -> list[DeliveryOut]:
    """Deliveries, newest first (``status="failed"``: the ones that gave up) — for admins."""
    if actor.role is not Role.ADMIN:
        raise Forbidden("webhook.forbidden", "delivery failures are for admins")
    query = WebhookDelivery.select().order_by(WebhookDelivery.id, ascending=False).limit(limit)
    if status:
        query = query.where(WebhookDelivery.status == status)
    rows = await query.output(load_json=True)
    return [
        DeliveryOut(
            id=r["id"], unit=r["unit_code"], url=r["url"], status=r["status"], attempts=r["attempts"],
            last_error=r["last_error"], created_at=r["created_at"], delivered_at=r["delivered_at"],
            payload=r["payload"],
        )
        for r in rows
    ]  # fmt: skip
