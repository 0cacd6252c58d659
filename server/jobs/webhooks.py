"""Posting the webhook outbox: ``webhook_dispatch`` (on the timetable) queues one
``deliver_webhook`` job per pending delivery; that job posts it and, when the receiver
fails, asks arq to run it again later (the delay doubles each time) until it succeeds or
the attempts run out — then the delivery is marked failed for an admin to see.

Without Redis (``daiban serve`` alone) the dispatch posts each pending delivery once per
run, and the next run retries what failed: the same attempts, on the timetable's pace.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
from arq import Retry

from server.settings import Settings
from server.tables import WebhookDelivery

log = logging.getLogger("daiban.jobs")
BATCH = 200
#: A delivery queued this long ago and still pending lost its job (a worker died): queue again.
REQUEUE_AFTER = timedelta(hours=1)


async def webhook_dispatch(ctx: dict[str, Any]) -> dict[str, int]:
    """Queue (or, without Redis, post) every pending delivery not already on its way."""
    now: datetime = ctx["clock"]()
    pending = (
        WebhookDelivery.status == "pending"
    ) & (WebhookDelivery.queued_at.is_null() | (WebhookDelivery.queued_at < now - REQUEUE_AFTER))
    rows = await (
        WebhookDelivery.select(WebhookDelivery.id, WebhookDelivery.created_at)
        .where(pending)
        .order_by(WebhookDelivery.id)
        .limit(BATCH)
    )
    redis = ctx.get("redis")
    queued = 0
    for row in rows:
        if redis is not None:
            # The job id makes this idempotent: a delivery is never on the queue twice (its
            # creation time keeps ids apart across databases sharing one Redis).
            job_id = f"webhook-{row['id']}-{int(row['created_at'].timestamp() * 1e6)}"
            await redis.enqueue_job("deliver_webhook", row["id"], _job_id=job_id)
            await WebhookDelivery.update({WebhookDelivery.queued_at: now}).where(WebhookDelivery.id == row["id"])
        else:
            await attempt(ctx, row["id"])
        queued += 1
    return {"pending": queued}


async def deliver_webhook(ctx: dict[str, Any], delivery_id: int) -> str:
    """Job: post one delivery; on failure raise :class:`arq.Retry` with a doubling delay."""
    settings: Settings = ctx["settings"]
    outcome = await attempt(ctx, delivery_id)
    if outcome == "retry":
        try_no = int(ctx.get("job_try", 1))
        raise Retry(defer=settings.webhook_retry_seconds * 2 ** (try_no - 1))
    return outcome


async def attempt(ctx: dict[str, Any], delivery_id: int) -> str:
    """Post once; record the attempt. Returns delivered, retry, failed or done (already)."""
    settings: Settings = ctx["settings"]
    now: datetime = ctx["clock"]()
    row = await WebhookDelivery.select().where(WebhookDelivery.id == delivery_id).output(load_json=True).first()
    if row is None or row["status"] != "pending":
        return "done"
    error = await _post(row["url"], row["payload"], delivery_id, settings.webhook_timeout)
    attempts = row["attempts"] + 1
    if error is None:
        await WebhookDelivery.update(
            {WebhookDelivery.status: "delivered", WebhookDelivery.attempts: attempts, WebhookDelivery.delivered_at: now}
        ).where((WebhookDelivery.id == delivery_id) & (WebhookDelivery.status == "pending"))
        return "delivered"
    final = attempts >= settings.webhook_attempts
    await WebhookDelivery.update(
        {
            WebhookDelivery.status: "failed" if final else "pending",
            WebhookDelivery.attempts: attempts,
            WebhookDelivery.last_error: error[:500],
        }
    ).where((WebhookDelivery.id == delivery_id) & (WebhookDelivery.status == "pending"))
    if final:
        log.warning("webhook delivery %s failed after %s attempts: %s", delivery_id, attempts, error)
        return "failed"
    return "retry"


async def _post(url: str, body: dict[str, Any], delivery_id: int, timeout: float) -> str | None:
    """None when the receiver took it; else what went wrong. 企业微信 and 钉钉 answer 200
    with a non-zero ``errcode`` when they refuse a message."""
    headers = {"X-Daiban-Delivery": str(delivery_id)}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}"
    if response.status_code >= 300:
        return f"HTTP {response.status_code}"
    try:
        answer = response.json()
    except ValueError:
        return None
    if isinstance(answer, dict) and answer.get("errcode") not in (None, 0):
        return f"errcode {answer.get('errcode')}: {answer.get('errmsg', '')}"
    return None
