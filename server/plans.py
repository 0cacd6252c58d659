"""Rebalancing plans: computed by :mod:`server.balance`, stored, applied later.

A plan is stored in the ``workload_plan`` table with the version of every case it
moves. Applying it turns each move into a handover — through the case rules
(:func:`hierarchy.machine.decide`) where they allow it, otherwise as a conditional
update with a ``handover`` event — keyed on that version: a case that changed since is
skipped and reported, never moved blindly.

Applying is atomic per case and resumable: each move is written in one transaction with
its outcome recorded in the plan (``result.applied`` / ``result.skipped``), under a lock
on the plan row. An apply that stops half-way (a crash, a lost connection) is finished
by applying again: recorded moves are not tried twice. A plan fully applied is
``applied_at`` and cannot be applied again.

A plan for one agent (``PlanCreate.agent``) moves all of that agent's open cases away,
as if stranded: what an admin is offered when disabling them.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import msgspec

from hierarchy.breaches import is_overdue
from hierarchy.cases import Actor, Status, system_actor
from hierarchy.errors import Conflict, DaibanError, NotFound
from hierarchy.machine import Action, Decision, UnitRef, decide
from hierarchy.serving import EVERYONE
from hierarchy.tree import Level
from server import balance, db
from server.auth import load_actor
from server.cases import fetch_row, to_state, unit_ref, utc, write_decision
from server.db import Database
from server.queries import under
from server.reports import scoped_unit
from server.tables import Agent, Item, Plan, Unit
from server.workload import open_cases, subtree_agents
from sync.wire import Code, UnitCode


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
    why: str = "load"


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
    #: Late cases stranded or held by an agent or queue over capacity, before and after.
    before_late_unattended: int = 0
    after_late_unattended: int = 0
    #: Stranded cases nobody could be found for.
    unplaced: list[str] = []
    agent: str | None = None
    applied_at: datetime | None = None
    result: dict[str, Any] | None = None


class PlanCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    unit: UnitCode
    #: Plan only this agent's open cases away (username), e.g. before or after disabling them.
    agent: Code | None = None


def _peer_level(unit: dict[str, Any]) -> str:
    """The level units are balanced within. A department (职能部门) is a peer of no other
    unit: its cases may move between its own agents, never to another department."""
    level = str(unit["level"])
    return f"{level}:{unit['code']}" if level == Level.DEPARTMENT.value else level


async def load_pool(
    path: str, now: datetime, away: int | None = None
) -> tuple[list[balance.UnitSlot], list[balance.OpenCase]]:
    """Units, agents and open cases of the subtree at ``path``, as the planner sees them.

    Cases of a disabled agent of the subtree are stranded; so are those of agent ``away``,
    who is then left out as a target.
    """
    units = {
        u["code"]: balance.UnitSlot(
            code=u["code"], path=u["path"], level=_peer_level(u), serves=frozenset(u["serves"] or EVERYONE)
        )
        for u in await Unit.select(Unit.code, Unit.path, Unit.level, Unit.serves)
        .where(under(Unit.path, path))
        .output(load_json=True)
    }
    lifecycles = {i["code"]: i["lifecycle"] for i in await Item.select(Item.code, Item.lifecycle)}
    agents: dict[int, balance.AgentSlot] = {}
    gone: set[int] = set()
    for a in await subtree_agents(path, disabled=True):
        if not a["active"] or a["id"] == away:
            gone.add(a["id"])
            continue
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
    async for c in open_cases(path):
        units[c["owner_unit"]].load += 1
        if c["assignee_id"] in agents:
            agents[c["assignee_id"]].load += 1
        stranded = c["assignee_id"] in gone
        if away is not None and not stranded:
            continue
        cases.append(
            balance.OpenCase(
                id=str(c["id"]),
                item=c["item_code"],
                status=c["status"],
                owner_unit=c["owner_unit"],
                version=c["version"],
                assignee=c["assignee_id"],
                ref=c["ref"],
                lifecycle=lifecycles.get(c["item_code"], "individual"),
                applicant=(c["applicant"] or {}).get("type"),
                late=is_overdue(c, now),
                stranded=stranded,
            )
        )
    return list(units.values()), cases


def _agent_max(units: list[balance.UnitSlot]) -> float:
    return round(balance.max_utilisation(a for u in units for a in u.agents), 4)


def _unit_max(units: list[balance.UnitSlot]) -> float:
    return round(balance.max_utilisation(u for u in units if u.agents or u.load), 4)


async def create_plan(actor: Actor, code: str, now: datetime, agent: str | None = None) -> PlanOut:
    top = await scoped_unit(code, actor)
    away = None
    if agent is not None:
        found = await Agent.select(Agent.id).where(Agent.username == agent).first()
        if found is None:
            raise NotFound("agent.not_found", f"no agent {agent}", agent=agent)
        away = int(found["id"])
    units, cases = await load_pool(top["path"], now, away)
    before = (_agent_max(units), _unit_max(units), balance.late_unattended(units, cases))
    moves = balance.plan_moves(units, cases)
    summary = {
        "before_max_agent_utilisation": before[0],
        "after_max_agent_utilisation": _agent_max(units),
        "before_max_unit_utilisation": before[1],
        "after_max_unit_utilisation": _unit_max(units),
        "before_late_unattended": before[2],
        "after_late_unattended": balance.late_unattended(units, cases, moves),
        "unplaced": balance.unplaced(cases, moves),
        "agent": agent,
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


async def apply_plan(engine: Database, actor: Actor, plan_id: int, now: datetime) -> PlanOut:
    """Apply every move still valid, each in its own transaction with its outcome; report
    the others. Applying again finishes an apply that stopped half-way."""
    plan = await get_plan(actor, plan_id)
    if plan.applied_at is not None:
        raise Conflict("plan.already_applied", "this plan has already been applied", plan=plan_id)
    note = f"rebalance plan {plan_id}"
    for move in plan.moves:
        async with db.transaction(engine):
            query = Plan.select(Plan.result, Plan.applied_at).where(Plan.id == plan_id).output(load_json=True)
            if engine.engine_type == "postgres":
                query = query.lock_rows()
            row = await query.first()
            assert row is not None
            if row["applied_at"] is not None:
                raise Conflict("plan.already_applied", "this plan has already been applied", plan=plan_id)
            result = row["result"] or {"applied": [], "skipped": []}
            if move.case_id in result["applied"] or any(s["case_id"] == move.case_id for s in result["skipped"]):
                continue
            try:
                await _apply_move(engine, actor, move, note, now)
            except DaibanError as exc:
                result["skipped"].append({"case_id": move.case_id, "code": exc.code})
            else:
                result["applied"].append(move.case_id)
            await Plan.update({Plan.result: result}).where(Plan.id == plan_id)
    finished = (
        await Plan.update({Plan.applied_at: utc(now)})
        .where((Plan.id == plan_id) & Plan.applied_at.is_null())
        .returning(Plan.id)
    )
    if not finished:
        raise Conflict("plan.already_applied", "this plan has already been applied", plan=plan_id)
    if not plan.moves:
        await Plan.update({Plan.result: {"applied": [], "skipped": []}}).where(Plan.id == plan_id)
    return await get_plan(actor, plan_id)


async def _apply_move(engine: Database, actor: Actor, move: MoveOut, note: str, now: datetime) -> None:
    """One move as a handover (its new holders are told in the same transaction).
    Raises when the case moved on."""
    row = await fetch_row(move.case_id)
    if row is None or row["version"] != move.version:
        raise Conflict("case.version_changed", "the case changed since the plan was made")
    state = to_state(row)
    if move.kind == "unit":
        target = await unit_ref(move.to_unit)
        decision = decide(state, actor, Action.HANDOVER, {"note": note}, now, target_unit=target)
    else:
        assert move.to_agent is not None
        decision = await _agent_decision(row, move, note, now)
    if not await write_decision(engine, row, actor, decision, now, rebalance=True):
        raise Conflict("case.version_changed", "the case changed since the plan was made")


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
