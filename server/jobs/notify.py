"""Notifications: one row per agent, delivered to devices by sync pulls.

Each row takes its ``change_seq`` from the same counter as cases
(:func:`server.cases.next_value`), so a pull that has seen cursor N has seen every
notification created before it. Call these helpers inside the transaction that makes
the change they announce: the announcement then commits (or rolls back) with it.

The module also holds the ``notify_agents`` job, for callers that would rather not
wait for the rows to be written (the web tier enqueues it through a JobQueue).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from hierarchy.roles import Role
from server import db
from server.cases import next_value, utc
from server.tables import Agent, Notification
from server.webhooks import queue_deliveries

#: Kinds of notification, as stored (clients switch on them).
SLA_WARNING = "sla.warning"
SLA_UNCLAIMED = "sla.unclaimed"
SLA_OVERDUE = "sla.overdue"
DEFERRAL_OVERDUE = "deferral.overdue"
CASE_ESCALATED = "case.escalated"
CASE_REASSIGNED = "case.reassigned"
REPORT_DAILY = "report.daily"


async def notify(
    agent_ids: Iterable[int],
    kind: str,
    message: str,
    now: datetime,
    case_id: uuid.UUID | str | None = None,
) -> int:
    """Write one notification per distinct agent; returns how many were written."""
    agents = sorted(set(agent_ids))
    if not agents:
        return 0
    last = await next_value("change", len(agents))
    first = last - len(agents) + 1
    case = uuid.UUID(str(case_id)) if case_id is not None else None
    await Notification.insert(
        *(
            Notification(
                agent_id=agent,
                case_id=case,
                kind=kind,
                message=message,
                created_at=utc(now),
                change_seq=first + i,
            )
            for i, agent in enumerate(agents)
        )
    ).run()
    await queue_deliveries(agents, kind, message, utc(now), case)
    return len(agents)


async def unit_agents(unit_code: str, roles: Sequence[Role] | None = None) -> list[int]:
    """Ids of the active agents of one unit who handle cases (admins manage, they do not).

    Args:
        unit_code: The unit.
        roles: Only these roles; default every role but admin.
    """
    wanted = roles or [r for r in Role if r is not Role.ADMIN]
    query = Agent.select(Agent.id).where(
        (Agent.unit_code == unit_code)
        & (Agent.active == True)  # noqa: E712  (a column comparison, not a truth test)
        & Agent.role.is_in([r.value for r in wanted])
    )
    return [r["id"] for r in await query]


async def dispatchers() -> list[int]:
    """The city dispatchers: who hears about breaches the chain cannot pass up."""
    rows = await Agent.select(Agent.id).where(
        (Agent.role == Role.DISPATCHER.value) & (Agent.active == True)  # noqa: E712  (a column comparison)
    )
    return [r["id"] for r in rows]


async def notify_agents(
    ctx: dict[str, Any], agent_ids: list[int], kind: str, message: str, case_id: str | None = None
) -> int:
    """Job: write notifications outside the request that asked for them."""
    now: datetime = ctx["clock"]()
    async with db.transaction(ctx["engine"]):
        return await notify(agent_ids, kind, message, now, case_id)
