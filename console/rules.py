"""The rules' view of what the console shows: the signed-in agent as an ``Actor``, a case
(whole, or a list row) as a ``CaseState``, so screens can ask :mod:`hierarchy.allowed`."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from console.data import AgentOut, Case, CaseRow, Unit
from hierarchy.cases import Actor, CaseKind, CaseState, Status
from hierarchy.roles import Role
from hierarchy.tree import Level
from sync.wire import state_of

#: Division codes by length: 6 digits a city or county, 9 a town, 12 a village.
_LEVEL_BY_LENGTH = {9: Level.TOWN, 12: Level.VILLAGE}


def _path(code: str, units: Mapping[str, Unit]) -> str:
    unit = units.get(code)
    return unit.path if unit is not None and unit.path else f"/{code}/"


def actor_of(me: AgentOut | None, units: Mapping[str, Unit]) -> Actor | None:
    if me is None:
        return None
    unit = units.get(me.unit_code)
    try:
        role = Role(me.role)
    except ValueError:
        return None
    if unit is not None:
        level = Level(unit.level)
    else:
        default = Level.CITY if me.unit_code.endswith("00") and len(me.unit_code) == 6 else Level.COUNTY
        level = _LEVEL_BY_LENGTH.get(len(me.unit_code), default)
    return Actor(
        id=me.id, unit_code=me.unit_code, unit_path=_path(me.unit_code, units), role=role, level=level,
        username=me.username,
    )  # fmt: skip


def case_state(case: Case) -> CaseState:
    return state_of(case)


def row_state(row: CaseRow, units: Mapping[str, Unit], now: datetime | None = None) -> CaseState:
    """A list row as the rules see it: what the row does not carry takes a neutral value."""
    moment = now or datetime.now(UTC)
    return CaseState(
        id=str(row.id), kind=CaseKind(row.kind), item_code=row.item_code, status=Status(row.status),
        origin_unit=row.origin_unit, origin_path=_path(row.origin_unit, units), owner_unit=row.owner_unit,
        owner_path=_path(row.owner_unit, units), created_by=0, accepted_at=moment,
        due_at=row.due_at or moment, promised_days=0, assignee_id=row.assignee_id, version=row.version,
        priority=row.priority, escalations=row.escalations, title=row.title,
    )  # fmt: skip
