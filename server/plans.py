"""Rebalancing plans: computed by :mod:`server.balance`, stored, applied later.

A plan is stored in the ``workload_plan`` table with the version of every case it
moves. Applying it turns each move into a handover — through the case rules
(:func:`hierarchy.machine.decide`) where they allow it, otherwise as a conditional
update with a ``handover`` event — keyed on that version: a case that changed since is
skipped and reported, never moved blindly. A plan is applied once.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

import msgspec

from hierarchy.cases import Actor, Status, system_actor
from hierarchy.errors import Conflict, DaibanError, NotFound
from hierarchy.machine import Action, Decision, UnitRef, decide
from server import balance
from server.auth import load_actor
from server.cases import fetch_row, to_state, unit_ref, utc, write_decision
from server.db import Database
from server.queries import under
from server.reports import scoped_unit
from server.tables import Plan, Unit
from server.workload import open_cases, subtree_agents


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


async def load_pool(path: str) -> tuple[list[balance.UnitSlot], list[balance.OpenCase]]:
    """Units, agents and open cases of the subtree at ``path``, as the planner sees them."""
    units = {
        u["code"]: balance.UnitSlot(code=u["code"], path=u["path"], level=u["level"])
        for u in await Unit.select(Unit.code, Unit.path, Unit.level).where(under(Unit.path, path))
    }
    agents: dict[int, balance.AgentSlot] = {}
    for a in await subtree_agents(path):
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


async def apply_plan(engine: Database, actor: Actor, plan_id: int, now: datetime) -> PlanOut:
    """Apply every move still valid; report the others. A plan is applied once."""
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
            await _apply_move(engine, actor, move, note, now)
        except DaibanError as exc:
            skipped.append({"case_id": move.case_id, "code": exc.code})
            continue
        applied.append(move.case_id)
    result = {"applied": applied, "skipped": skipped}
    await Plan.update({Plan.result: result}).where(Plan.id == plan_id)
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
