"""Workload of a subtree: where the load is, what is late and what is stranded.

For a unit it answers, all with the definitions of :mod:`hierarchy.breaches`:

- **rows**: the whole subtree (``line="total"``, first), the unit's own queue and agents
  (``line="own"``) and each child's subtree (``line="child"``); the total is the own line
  plus the children. A row also names its hottest unit (the highest own utilisation
  inside it), so a swamped town is not averaged away by its villages' idle capacity;
- **agents**: every active agent of the subtree, sorted by ``sort`` (utilisation by
  default), and the overloaded ones (utilisation above 1) apart;
- **overloaded units**: every unit of the subtree whose own open cases exceed its own
  agents' capacity (or that has a queue and no agent);
- **stranded**: open cases assigned to a disabled agent — nobody works on them;
- **breached** and **about to breach**: open cases past their due time, and those with at
  most one working day left, most urgent first (the first :data:`LIST_LIMIT` of each);
- **on-time rate**: cases resolved in the last :data:`ON_TIME_DAYS` days on time.

Definitions: an agent's **active** cases are the open cases assigned to them (in progress
or waiting for the applicant); a unit's are all open cases it owns, queued included;
**capacity** is the agent's own, or the sum over a unit's active agents; **utilisation**
= active / capacity.

Rebalancing plans over the same loads are in :mod:`server.plans`.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec

from hierarchy.breaches import about_to_breach, effective_due, is_overdue, on_time, rate, utilisation
from hierarchy.calendar import span_known, working_days_between
from hierarchy.cases import OPEN_VALUES, Actor, Status
from hierarchy.roles import Role
from hierarchy.tree import Level, in_subtree
from server.queries import case_batches, under
from server.reports import scoped_unit
from server.tables import Agent, Case, Unit

BATCH = 5000
LIST_LIMIT = 100
ON_TIME_DAYS = 30
AgentSort = Literal["utilisation", "open", "overdue", "name"]
Line = Literal["total", "own", "child", "unit"]


class UnitLoad(msgspec.Struct, kw_only=True):
    code: str
    name: str
    level: Level
    line: Line = "unit"
    open: int = 0
    queued: int = 0
    in_progress: int = 0
    waiting: int = 0
    overdue: int = 0
    about_to_breach: int = 0
    stranded: int = 0
    agents: int = 0
    capacity: int = 0
    utilisation: float | None = None
    median_age_hours: float | None = None
    resolved: int = 0
    on_time: int = 0
    on_time_rate: float | None = None
    #: The unit inside this row with the highest own utilisation, and that utilisation.
    hottest_unit: str | None = None
    hottest_utilisation: float | None = None


class AgentLoad(msgspec.Struct, kw_only=True):
    id: int
    username: str
    name: str
    role: Role
    unit_code: str = ""
    open: int = 0
    in_progress: int = 0
    waiting: int = 0
    overdue: int = 0
    about_to_breach: int = 0
    capacity: int = 0
    utilisation: float | None = None
    median_age_hours: float | None = None
    skills: list[str] = []


class CaseBrief(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    ref: str | None
    item_code: str
    status: Status
    owner_unit: str
    assignee_id: int | None
    assignee: str | None = None
    due_at: datetime
    #: The due time counts days of a year whose holidays are not known yet.
    due_estimated: bool = False
    #: Working days past due (positive) or left (0 or more) at the time of the answer.
    days_late: int = 0
    days_left: int = 0


class Workload(msgspec.Struct, kw_only=True):
    unit: str
    name: str
    at: datetime
    units: list[UnitLoad]
    agents: list[AgentLoad]
    overloaded_agents: list[AgentLoad] = []
    overloaded_units: list[UnitLoad] = []
    stranded: list[CaseBrief] = []
    breached: list[CaseBrief] = []
    breached_total: int = 0
    about_to_breach: list[CaseBrief] = []
    about_to_breach_total: int = 0
    #: Breached cases nobody can attend to: stranded, or held by an agent or queued at a
    #: unit over capacity (or with no agent).
    late_unattended: int = 0
    on_time_rate: float | None = None


def _median_hours(ages: list[float]) -> float | None:
    return round(statistics.median(ages), 1) if ages else None


OPEN_COLUMNS = (
    Case.id, Case.ref, Case.item_code, Case.status, Case.owner_unit, Case.owner_path, Case.assignee_id,
    Case.due_at, Case.accepted_at, Case.promised_days, Case.open_weekends, Case.sla_events, Case.version,
    Case.applicant,
)  # fmt: skip


async def open_cases(path: str) -> AsyncIterator[dict[str, Any]]:
    """Open cases owned in the subtree at ``path``, in batches keyset by id."""
    async for batch in case_batches(
        OPEN_COLUMNS, under(Case.owner_path, path) & Case.status.is_in(list(OPEN_VALUES)), BATCH
    ):
        for row in batch:
            yield row


async def subtree_agents(path: str, *, disabled: bool = False) -> list[dict[str, Any]]:
    """Agents of the subtree (not admins): the active ones, or with ``disabled`` every one."""
    units = Unit.select(Unit.code).where(under(Unit.path, path))
    where = Agent.unit_code.is_in(units) & (Agent.role != Role.ADMIN.value)
    if not disabled:
        where &= Agent.active == True  # noqa: E712
    return list(
        await Agent.select(
            Agent.id,
            Agent.username,
            Agent.name,
            Agent.unit_code,
            Agent.role,
            Agent.capacity,
            Agent.skills,
            Agent.active,
        )
        .where(where)
        .output(load_json=True)
    )


def _brief(case: dict[str, Any], now: datetime, names: dict[int, str]) -> CaseBrief:
    due = effective_due(case, now)[0]
    late = now > due
    days = working_days_between(*((due, now) if late else (now, due)), open_weekends=case["open_weekends"])
    return CaseBrief(
        id=case["id"],
        ref=case["ref"],
        item_code=case["item_code"],
        status=Status(case["status"]),
        owner_unit=case["owner_unit"],
        assignee_id=case["assignee_id"],
        assignee=names.get(case["assignee_id"]),
        due_at=due,
        due_estimated=not span_known(case["accepted_at"], due),
        days_late=days if late else 0,
        days_left=0 if late else days,
    )


class _Tally:
    """Per-unit own figures, summed into rows afterwards."""

    def __init__(self, units: list[dict[str, Any]]) -> None:
        self.own = {u["code"]: UnitLoad(code=u["code"], name=u["name"], level=Level(u["level"])) for u in units}
        self.ages: dict[str, list[float]] = {u["code"]: [] for u in units}

    def count(self, case: dict[str, Any], now: datetime, overdue: bool, soon: bool, stranded: bool) -> None:
        row = self.own[case["owner_unit"]]
        status = case["status"]
        row.open += 1
        row.queued += status == Status.QUEUED.value
        row.in_progress += status == Status.IN_PROGRESS.value
        row.waiting += status == Status.WAITING_APPLICANT.value
        row.overdue += overdue
        row.about_to_breach += soon
        row.stranded += stranded
        self.ages[row.code].append((now - case["accepted_at"]).total_seconds() / 3600)

    def finish_own(self) -> None:
        for row in self.own.values():
            row.utilisation = utilisation(row.open, row.capacity)
            row.on_time_rate = rate(row.on_time, row.resolved)

    def sum_rows(self, key: str, name: str, level: str, line: Line, codes: Iterable[str]) -> UnitLoad:
        out = UnitLoad(code=key, name=name, level=Level(level), line=line)
        ages: list[float] = []
        for code in codes:
            part = self.own[code]
            for f in ("open", "queued", "in_progress", "waiting", "overdue", "about_to_breach", "stranded",
                      "agents", "capacity", "resolved", "on_time"):  # fmt: skip
                setattr(out, f, getattr(out, f) + getattr(part, f))
            ages += self.ages[code]
            if part.utilisation is not None and (
                out.hottest_utilisation is None or part.utilisation > out.hottest_utilisation
            ):
                out.hottest_unit, out.hottest_utilisation = code, part.utilisation
        out.utilisation = utilisation(out.open, out.capacity)
        out.on_time_rate = rate(out.on_time, out.resolved)
        out.median_age_hours = _median_hours(ages)
        return out


async def _resolved(path: str, now: datetime, tally: _Tally) -> None:
    since = now - timedelta(days=ON_TIME_DAYS)
    window = under(Case.owner_path, path) & Case.resolved_at.is_not_null() & (Case.resolved_at >= since)
    async for batch in case_batches((Case.id, Case.owner_unit, Case.resolved_at, Case.due_at), window, BATCH):
        for c in batch:
            row = tally.own.get(c["owner_unit"])
            if row is not None:
                row.resolved += 1
                row.on_time += on_time(c["resolved_at"], c["due_at"])


async def workload(code: str, actor: Actor, now: datetime, sort: AgentSort = "utilisation") -> Workload:
    """The load of unit ``code``: total, own line and one row per child; every agent below it."""
    top = await scoped_unit(code, actor)
    units = list(
        await Unit.select(Unit.code, Unit.name, Unit.level, Unit.path, Unit.parent_code)
        .where(under(Unit.path, top["path"]))
        .order_by(Unit.sort_key)
    )
    tally = _Tally(units)
    people = await subtree_agents(top["path"], disabled=True)
    names = {a["id"]: a["username"] for a in people}
    active = {a["id"]: a for a in people if a["active"]}
    loads = {
        a["id"]: AgentLoad(
            id=a["id"],
            username=a["username"],
            name=a["name"],
            role=Role(a["role"]),
            unit_code=a["unit_code"],
            capacity=a["capacity"],
            skills=list(a["skills"] or []),
        )
        for a in active.values()
    }
    for a in active.values():
        tally.own[a["unit_code"]].agents += 1
        tally.own[a["unit_code"]].capacity += a["capacity"]
    agent_ages: dict[int, list[float]] = {a: [] for a in loads}
    stranded: list[CaseBrief] = []
    breached: list[tuple[datetime, dict[str, Any]]] = []
    soon_list: list[tuple[datetime, dict[str, Any]]] = []
    async for case in open_cases(top["path"]):
        overdue = is_overdue(case, now)
        soon = not overdue and about_to_breach(case, now)
        assignee = case["assignee_id"]
        lost = assignee is not None and assignee in names and assignee not in active
        tally.count(case, now, overdue, soon, lost)
        if lost:
            stranded.append(_brief(case, now, names))
        if overdue:
            breached.append((effective_due(case, now)[0], case))
        elif soon:
            soon_list.append((effective_due(case, now)[0], case))
        agent = loads.get(assignee) if assignee is not None else None
        if agent is not None:
            agent.open += 1
            agent.in_progress += case["status"] == Status.IN_PROGRESS.value
            agent.waiting += case["status"] == Status.WAITING_APPLICANT.value
            agent.overdue += overdue
            agent.about_to_breach += soon
            agent_ages[agent.id].append((now - case["accepted_at"]).total_seconds() / 3600)
    await _resolved(top["path"], now, tally)
    tally.finish_own()
    for agent in loads.values():
        agent.utilisation = utilisation(agent.open, agent.capacity)
        agent.median_age_hours = _median_hours(agent_ages[agent.id])

    paths = {u["code"]: u["path"] for u in units}
    rows = [
        tally.sum_rows(code, top["name"], top["level"], "total", paths),
        tally.sum_rows(code, top["name"], top["level"], "own", [code]),
    ]
    for c in (u for u in units if u["parent_code"] == code):
        inside = [u for u, p in paths.items() if in_subtree(p, c["path"])]
        rows.append(tally.sum_rows(c["code"], c["name"], c["level"], "child", inside))
    agents = sort_agents(list(loads.values()), sort)
    # Over capacity, or cases and no active agent at all (utilisation is then unmeasurable).
    hot_units = [u for u in tally.own.values() if (u.utilisation or 0) > 1 or (u.open and not u.capacity)]
    hot = {u.code for u in hot_units}
    unattended = sum(
        1
        for _, c in breached
        if (c["assignee_id"] in names and c["assignee_id"] not in active)  # stranded
        or (c["assignee_id"] is None and c["owner_unit"] in hot)
        or (c["assignee_id"] in loads and (loads[c["assignee_id"]].utilisation or 0) > 1)
    )
    breached.sort(key=lambda t: t[0])
    soon_list.sort(key=lambda t: t[0])
    stranded.sort(key=lambda b: b.due_at)
    return Workload(
        unit=code,
        name=top["name"],
        at=now,
        units=rows,
        agents=agents,
        overloaded_agents=[a for a in sort_agents(agents, "utilisation") if (a.utilisation or 0) > 1],
        overloaded_units=sorted(hot_units, key=lambda u: (u.capacity > 0, -(u.utilisation or 0), u.code)),
        stranded=stranded,
        breached=[_brief(c, now, names) for _, c in breached[:LIST_LIMIT]],
        breached_total=len(breached),
        about_to_breach=[_brief(c, now, names) for _, c in soon_list[:LIST_LIMIT]],
        about_to_breach_total=len(soon_list),
        late_unattended=unattended,
        on_time_rate=rows[0].on_time_rate,
    )


def sort_agents(agents: list[AgentLoad], sort: AgentSort) -> list[AgentLoad]:
    """Most loaded first (by ``sort``); by name, alphabetically."""
    if sort == "name":
        return sorted(agents, key=lambda a: a.username)
    if sort == "utilisation":
        return sorted(agents, key=lambda a: (-(a.utilisation or 0.0), -a.open, a.username))
    return sorted(agents, key=lambda a: (-getattr(a, sort), -(a.utilisation or 0.0), a.username))
