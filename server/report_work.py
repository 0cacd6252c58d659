"""The work-done side of a report, read from the case history of the period.

Each event counts for the unit of the agent who acted (``actor_unit``; the SLA sweep acts
as the unit that held the case), so these figures are attributed to the unit that held
the case at that step: claims and the time to claim, returns, escalations, and
resolutions with whether they were on time (``held_*``). Per agent, the same events by
``actor_id``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import msgspec

from hierarchy.breaches import on_time, rate
from hierarchy.cases import Status
from server.queries import under
from server.tables import Agent, Case, CaseEvent, Unit

BATCH = 2000
SLA_REASONS = ("sla.unclaimed", "sla.overdue")
WORK_ACTIONS = ["claim", "return", "escalate", "resolve"]


class AgentRow(msgspec.Struct, kw_only=True):
    """What one agent did in the period."""

    id: int
    username: str
    name: str
    unit: str
    claims: int = 0
    resolved: int = 0
    on_time: int = 0
    on_time_rate: float | None = None
    returns: int = 0
    escalations: int = 0


RowsFor = Callable[[str], Iterable[Any]]


async def work_done(path: str, lo: datetime, hi: datetime, rows_for: RowsFor) -> list[AgentRow]:
    """Add the period's work to the rows (by the acting unit); return the per-agent rows."""
    units = {u["code"]: u["path"] for u in await Unit.select(Unit.code, Unit.path).where(under(Unit.path, path))}
    people = await Agent.select(Agent.id, Agent.username, Agent.name, Agent.unit_code).where(
        Agent.unit_code.is_in(list(units))
    )
    agents = {
        a["id"]: AgentRow(id=a["id"], username=a["username"], name=a["name"], unit=a["unit_code"]) for a in people
    }
    claims: list[dict[str, Any]] = []
    resolves: list[dict[str, Any]] = []
    last = 0
    while True:
        batch = (
            await CaseEvent.select(
                CaseEvent.id,
                CaseEvent.case_id,
                CaseEvent.version,
                CaseEvent.action,
                CaseEvent.actor_id,
                CaseEvent.actor_unit,
                CaseEvent.reason,
                CaseEvent.at,
            )
            .where(
                (CaseEvent.at >= lo)
                & (CaseEvent.at < hi)
                & CaseEvent.action.is_in(WORK_ACTIONS)
                & (CaseEvent.id > last)
            )
            .order_by(CaseEvent.id)
            .limit(BATCH)
        )
        if not batch:
            break
        last = batch[-1]["id"]
        for event in batch:
            unit_path = units.get(event["actor_unit"] or "")
            if unit_path is None:
                continue
            event["path"] = unit_path
            agent = agents.get(event["actor_id"])
            action = event["action"]
            if action == "claim":
                claims.append(event)
                continue
            if action == "resolve":
                resolves.append(event)
                continue
            for acc in rows_for(unit_path):
                if action == "return":
                    acc.row.returns += 1
                else:
                    acc.row.escalations += 1
                    acc.row.auto_escalations += event["reason"] in SLA_REASONS
            if agent is not None:
                agent.returns += action == "return"
                agent.escalations += action == "escalate"
    await _claim_times(claims, rows_for, agents)
    await _resolutions(resolves, rows_for, agents)
    for agent in agents.values():
        agent.on_time_rate = rate(agent.on_time, agent.resolved)
    busy = [a for a in agents.values() if a.claims or a.resolved or a.returns or a.escalations]
    return sorted(busy, key=lambda a: (a.unit, a.username))


async def _resolutions(resolves: list[dict[str, Any]], rows_for: RowsFor, agents: dict[int, AgentRow]) -> None:
    """Resolutions, each on time or not against the case's due time, for the resolving unit."""
    for start in range(0, len(resolves), BATCH):
        chunk = resolves[start : start + BATCH]
        due = {
            c["id"]: c["due_at"]
            for c in await Case.select(Case.id, Case.due_at).where(Case.id.is_in(list({e["case_id"] for e in chunk})))
        }
        for event in chunk:
            if event["case_id"] not in due:
                continue
            timely = on_time(event["at"], due[event["case_id"]])
            for acc in rows_for(event["path"]):
                acc.row.held_resolved += 1
                acc.row.held_on_time += timely
            agent = agents.get(event["actor_id"])
            if agent is not None:
                agent.resolved += 1
                agent.on_time += timely


async def _claim_times(claims: list[dict[str, Any]], rows_for: RowsFor, agents: dict[int, AgentRow]) -> None:
    """Time from joining a queue (the latest earlier event that left the case queued) to the claim."""
    for start in range(0, len(claims), BATCH):
        chunk = claims[start : start + BATCH]
        ids = list({c["case_id"] for c in chunk})
        queued: dict[Any, list[tuple[int, datetime]]] = {}
        history = (
            await CaseEvent.select(CaseEvent.case_id, CaseEvent.version, CaseEvent.at, CaseEvent.after)
            .where(CaseEvent.case_id.is_in(ids))
            .order_by(CaseEvent.version)
            .output(load_json=True)
        )
        for e in history:
            if (e["after"] or {}).get("status") == Status.QUEUED.value:
                queued.setdefault(e["case_id"], []).append((e["version"], e["at"]))
        for claim in chunk:
            agent = agents.get(claim["actor_id"])
            if agent is not None:
                agent.claims += 1
            entries = [at for v, at in queued.get(claim["case_id"], []) if v < claim["version"]]
            if not entries:
                continue
            hours = (claim["at"] - entries[-1]).total_seconds() / 3600
            for acc in rows_for(claim["path"]):
                acc.row.claims += 1
                acc.claim_hours.append(hours)
