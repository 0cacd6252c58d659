"""Workload of a subtree (per child unit and per agent) and rebalancing plans.

Definitions, for the dashboard and the plans alike:

- an agent's **active** cases are the open cases assigned to them (in progress or
  waiting for the applicant); a unit's are all open cases it owns, queued included;
- **capacity** is the agent's own, or the sum over the active agents of a unit;
- **utilisation** = active cases / capacity; **overdue** = open and past the due time
  (a waiting case's due time credits its pause); **median age** = hours since
  acceptance, over the open cases.

Plans are computed by :mod:`server.balance`, stored in the ``workload_plan`` table and
applied later as handovers, each a conditional update keyed on the version the plan
saw: a case that changed since is skipped and reported, never moved blindly.
"""

from __future__ import annotations

import dataclasses
import statistics
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec
from piccolo.engine.base import Engine

from hierarchy.cases import Actor, Status, system_actor
from hierarchy.errors import Conflict, DaibanError, Forbidden, NotFound
from hierarchy.machine import Action, Decision, UnitRef, decide
from hierarchy.roles import Role
from hierarchy.tree import Level
from server import balance
from server.auth import load_actor
from server.cases import fetch_row, to_state, unit_ref, utc, write_decision
from server.jobs import notify as nt
from server.jobs.queue import JobQueue
from server.jobs.sweep import effective_due
from server.queries import under
from server.reports import scoped_unit
from server.tables import Agent, Case, Plan, Unit

BATCH = 5000
OPEN = [Status.QUEUED.value, Status.IN_PROGRESS.value, Status.WAITING_APPLICANT.value]
PLANNERS = frozenset({Role.COUNTY_LEAD, Role.DISPATCHER, Role.ADMIN})


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


class MoveOut(msgspec.Struct, kw_only=True):
    case_id: str
    ref: str | None = None
    item: str
    version: int
    kind: str
    from_unit: str
    to_unit: str
    from_agent: int | None = None
    to_agent: int | None = None
    locality: str


class PlanOut(msgspec.Struct, kw_only=True):
    id: int
    unit: str
    created_at: datetime
    created_by: int | None = None
    moves: list[MoveOut]
    before_max_agent_utilisation: float
    after_max_agent_utilisation: float
    before_max_unit_utilisation: float
    after_max_unit_utilisation: float
    applied_at: datetime | None = None
    result: dict[str, Any] | None = None


class PlanCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    unit: str


def _util(active: int, capacity: int) -> float | None:
    return round(active / capacity, 4) if capacity else None


def _median_hours(ages: list[float]) -> float | None:
    return round(statistics.median(ages), 1) if ages else None


async def _open_cases(path: str) -> Any:
    """Open cases owned in the subtree at ``path``, in batches keyset by id."""
    after: uuid.UUID | None = None
    while True:
        query = (
            Case.select(
                Case.id,
                Case.ref,
                Case.item_code,
                Case.status,
                Case.owner_unit,
                Case.owner_path,
                Case.assignee_id,
                Case.due_at,
                Case.accepted_at,
                Case.promised_days,
                Case.open_weekends,
                Case.sla_events,
                Case.version,
            )
            .where(under(Case.owner_path, path) & Case.status.is_in(OPEN))
            .order_by(Case.id)
            .limit(BATCH)
            .output(load_json=True)
        )
        if after is not None:
            query = query.where(Case.id > after)
        batch = await query
        if not batch:
            return
        for row in batch:
            yield row
        after = batch[-1]["id"]


async def _subtree_agents(path: str) -> list[dict[str, Any]]:
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
    agents = await _subtree_agents(top["path"])
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
    async for case in _open_cases(top["path"]):
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


# --- plans --------------------------------------------------------------------------------


def require_planner(actor: Actor) -> None:
    if actor.role not in PLANNERS:
        raise Forbidden("workload.forbidden", "only county leads, the city dispatcher and admins plan workload")


async def load_pool(path: str) -> tuple[list[balance.UnitSlot], list[balance.OpenCase]]:
    """Units, agents and open cases of the subtree at ``path``, as the planner sees them."""
    units = {
        u["code"]: balance.UnitSlot(code=u["code"], path=u["path"], level=u["level"])
        for u in await Unit.select(Unit.code, Unit.path, Unit.level).where(under(Unit.path, path))
    }
    agents: dict[int, balance.AgentSlot] = {}
    for a in await _subtree_agents(path):
        unit = units[a["unit_code"]]
        slot = balance.AgentSlot(
            id=a["id"],
            username=a["username"],
            unit=unit.code,
            unit_path=unit.path,
            level=unit.level,
            capacity=a["capacity"],
            skills=frozenset(a["skills"] or []),
        )
        agents[slot.id] = slot
        unit.agents.append(slot)
    cases: list[balance.OpenCase] = []
    async for c in _open_cases(path):
        units[c["owner_unit"]].load += 1
        if c["assignee_id"] in agents:
            agents[c["assignee_id"]].load += 1
        cases.append(
            balance.OpenCase(
                id=str(c["id"]),
                item=c["item_code"],
                status=c["status"],
                owner_unit=c["owner_unit"],
                version=c["version"],
                assignee=c["assignee_id"],
                ref=c["ref"],
            )
        )
    return list(units.values()), cases


def _agent_max(units: list[balance.UnitSlot]) -> float:
    return round(balance.max_utilisation(a for u in units for a in u.agents), 4)


def _unit_max(units: list[balance.UnitSlot]) -> float:
    return round(balance.max_utilisation(u for u in units if u.agents or u.load), 4)


async def create_plan(actor: Actor, code: str, now: datetime) -> PlanOut:
    require_planner(actor)
    top = await scoped_unit(code, actor)
    units, cases = await load_pool(top["path"])
    before = (_agent_max(units), _unit_max(units))
    moves = balance.plan_moves(units, cases)
    summary = {
        "before_max_agent_utilisation": before[0],
        "after_max_agent_utilisation": _agent_max(units),
        "before_max_unit_utilisation": before[1],
        "after_max_unit_utilisation": _unit_max(units),
    }
    rows = await Plan.insert(
        Plan(
            unit_code=code,
            created_by=actor.id,
            created_at=utc(now),
            moves=[dataclasses.asdict(m) for m in moves],
            summary=summary,
        )
    ).returning(Plan.id)
    return await get_plan(actor, rows[0]["id"])


async def get_plan(actor: Actor, plan_id: int) -> PlanOut:
    row = await Plan.select().where(Plan.id == plan_id).output(load_json=True).first()
    if row is None:
        raise NotFound("plan.not_found", "no such plan", plan=plan_id)
    try:
        await scoped_unit(row["unit_code"], actor)
    except NotFound:
        raise NotFound("plan.not_found", "no such plan", plan=plan_id) from None
    return msgspec.convert(
        {
            **row["summary"],
            "id": row["id"],
            "unit": row["unit_code"],
            "created_at": row["created_at"],
            "created_by": row["created_by"],
            "moves": row["moves"],
            "applied_at": row["applied_at"],
            "result": row["result"],
        },
        PlanOut,
    )


async def apply_plan(engine: Engine, actor: Actor, plan_id: int, now: datetime, jobs: JobQueue) -> PlanOut:
    """Apply every move still valid; report the others. A plan is applied once."""
    require_planner(actor)
    plan = await get_plan(actor, plan_id)
    claimed = (
        await Plan.update({Plan.applied_at: utc(now)})
        .where((Plan.id == plan_id) & Plan.applied_at.is_null())
        .returning(Plan.id)
    )
    if not claimed:
        raise Conflict("plan.already_applied", "this plan has already been applied", plan=plan_id)
    note = f"rebalance plan {plan_id}"
    applied: list[str] = []
    skipped: list[dict[str, str]] = []
    for move in plan.moves:
        try:
            told = await _apply_move(engine, actor, move, note, now)
        except DaibanError as exc:
            skipped.append({"case_id": move.case_id, "code": exc.code})
            continue
        applied.append(move.case_id)
        if told:
            await jobs.enqueue(
                "notify_agents", agent_ids=told, kind=nt.CASE_REASSIGNED, message=note, case_id=move.case_id
            )
    result = {"applied": applied, "skipped": skipped}
    await Plan.update({Plan.result: result}).where(Plan.id == plan_id)
    return await get_plan(actor, plan_id)


async def _apply_move(engine: Engine, actor: Actor, move: MoveOut, note: str, now: datetime) -> list[int]:
    """One move as a handover; returns whom to tell. Raises when the case moved on."""
    row = await fetch_row(move.case_id)
    if row is None or row["version"] != move.version:
        raise Conflict("case.version_changed", "the case changed since the plan was made")
    state = to_state(row)
    if move.kind == "unit":
        target = await unit_ref(move.to_unit)
        decision = decide(state, actor, Action.HANDOVER, {"note": note}, now, target_unit=target)
        told = await nt.unit_agents(move.to_unit)
    else:
        assert move.to_agent is not None
        decision = await _agent_decision(row, move, note, now)
        told = [move.to_agent]
    if not await write_decision(engine, row, actor, decision, now):
        raise Conflict("case.version_changed", "the case changed since the plan was made")
    return told


async def _agent_decision(row: dict[str, Any], move: MoveOut, note: str, now: datetime) -> Decision:
    state = to_state(row)
    loaded = await load_actor(int(move.to_agent or 0))
    if loaded is None or not loaded[1]["active"]:
        raise Conflict("agent.unavailable", "the target agent is no longer active")
    target = loaded[0]
    holders = state.holders if target.id in state.holders else (*state.holders, target.id)
    if target.unit_code == state.owner_unit:
        # The plan carries the planner's authority over the unit; the event records who applied it.
        decision = decide(
            state,
            system_actor(state.owner_unit, state.owner_path),
            Action.HANDOVER,
            {"note": note},
            now,
            target_agent=target,
        )
        decision.changes["holders"] = holders
        return decision
    if state.status is not Status.IN_PROGRESS:
        raise Conflict("case.illegal_transition", "only cases in progress move between agents")
    unit: UnitRef = await unit_ref(target.unit_code)
    changes = {
        "owner_unit": unit.code,
        "owner_path": unit.path,
        "assignee_id": target.id,
        "last_from_unit": state.owner_unit,
        "last_from_path": state.owner_path,
        "holders": holders,
        "version": state.version + 1,
    }
    return Decision(action=Action.HANDOVER, changes=changes, reason=note)
