"""Workload of a subtree: per child unit and per agent of the unit.

Definitions, for the dashboard and the plans alike:

- an agent's **active** cases are the open cases assigned to them (in progress or
  waiting for the applicant); a unit's are all open cases it owns, queued included;
- **capacity** is the agent's own, or the sum over the active agents of a unit;
- **utilisation** = active cases / capacity; **overdue** = open and past the due time
  (a waiting case's due time credits its pause); **median age** = hours since
  acceptance, over the open cases.

Rebalancing plans over the same loads are in :mod:`server.plans`.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec

from hierarchy.cases import Actor, Status
from hierarchy.roles import Role
from hierarchy.tree import Level
from server.breaches import effective_due
from server.queries import case_batches, under
from server.reports import scoped_unit
from server.tables import Agent, Case, Unit

BATCH = 5000
OPEN = [Status.QUEUED.value, Status.IN_PROGRESS.value, Status.WAITING_APPLICANT.value]


class UnitLoad(msgspec.Struct, kw_only=True):
    code: str
    name: str
    level: Level
    open: int = 0
    queued: int = 0
    in_progress: int = 0
    waiting: int = 0
    overdue: int = 0
    agents: int = 0
    capacity: int = 0
    utilisation: float | None = None
    median_age_hours: float | None = None


class AgentLoad(msgspec.Struct, kw_only=True):
    id: int
    username: str
    name: str
    role: Role
    open: int = 0
    in_progress: int = 0
    waiting: int = 0
    overdue: int = 0
    capacity: int = 0
    utilisation: float | None = None
    median_age_hours: float | None = None
    skills: list[str] = []


class Workload(msgspec.Struct, kw_only=True):
    unit: str
    name: str
    at: datetime
    units: list[UnitLoad]
    agents: list[AgentLoad]


def _util(active: int, capacity: int) -> float | None:
    return round(active / capacity, 4) if capacity else None


def _median_hours(ages: list[float]) -> float | None:
    return round(statistics.median(ages), 1) if ages else None


async def open_cases(path: str) -> Any:
    """Open cases owned in the subtree at ``path``, in batches keyset by id."""
    columns = (
        Case.id, Case.ref, Case.item_code, Case.status, Case.owner_unit, Case.owner_path, Case.assignee_id,
        Case.due_at, Case.accepted_at, Case.promised_days, Case.open_weekends, Case.sla_events, Case.version,
    )  # fmt: skip
    async for batch in case_batches(columns, under(Case.owner_path, path) & Case.status.is_in(OPEN), BATCH):
        for row in batch:
            yield row


async def subtree_agents(path: str) -> list[dict[str, Any]]:
    units = Unit.select(Unit.code).where(under(Unit.path, path))
    return list(
        await Agent.select(
            Agent.id, Agent.username, Agent.name, Agent.unit_code, Agent.role, Agent.capacity, Agent.skills
        )
        .where(Agent.unit_code.is_in(units) & (Agent.active == True) & (Agent.role != Role.ADMIN.value))  # noqa: E712
        .output(load_json=True)
    )


async def workload(code: str, actor: Actor, now: datetime) -> Workload:
    """The load of unit ``code``: one row for it and one per child, and its own agents."""
    top = await scoped_unit(code, actor)
    children = (
        await Unit.select(Unit.code, Unit.name, Unit.level, Unit.path)
        .where(Unit.parent_code == code)
        .order_by(Unit.sort_key)
    )
    rows = {u["code"]: UnitLoad(code=u["code"], name=u["name"], level=Level(u["level"])) for u in [top, *children]}
    ages: dict[str, list[float]] = {c: [] for c in rows}
    agents = await subtree_agents(top["path"])
    unit_paths = {
        u["code"]: u["path"] for u in await Unit.select(Unit.code, Unit.path).where(under(Unit.path, top["path"]))
    }
    prefix = len(top["path"])

    def rows_for(path: str) -> Iterable[str]:
        yield code
        child = path[prefix:].split("/", 1)[0]
        if child in rows:
            yield child

    for a in agents:
        for key in rows_for(unit_paths[a["unit_code"]]):
            rows[key].agents += 1
            rows[key].capacity += a["capacity"]
    own = {
        a["id"]: AgentLoad(
            id=a["id"],
            username=a["username"],
            name=a["name"],
            role=Role(a["role"]),
            capacity=a["capacity"],
            skills=list(a["skills"] or []),
        )
        for a in agents
        if a["unit_code"] == code
    }
    agent_ages: dict[int, list[float]] = {a: [] for a in own}
    async for case in open_cases(top["path"]):
        status = case["status"]
        overdue = now > effective_due(case, now)[0]
        age = (now - case["accepted_at"]).total_seconds() / 3600
        for key in rows_for(case["owner_path"]):
            row = rows[key]
            row.open += 1
            row.queued += status == Status.QUEUED.value
            row.in_progress += status == Status.IN_PROGRESS.value
            row.waiting += status == Status.WAITING_APPLICANT.value
            row.overdue += overdue
            ages[key].append(age)
        agent = own.get(case["assignee_id"])
        if agent is not None:
            agent.open += 1
            agent.in_progress += status == Status.IN_PROGRESS.value
            agent.waiting += status == Status.WAITING_APPLICANT.value
            agent.overdue += overdue
            agent_ages[agent.id].append(age)
    for key, row in rows.items():
        row.utilisation = _util(row.open, row.capacity)
        row.median_age_hours = _median_hours(ages[key])
    for agent in own.values():
        agent.utilisation = _util(agent.open, agent.capacity)
        agent.median_age_hours = _median_hours(agent_ages[agent.id])
    return Workload(unit=code, name=top["name"], at=now, units=list(rows.values()), agents=list(own.values()))
