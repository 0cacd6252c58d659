"""The allowed-actions rule: what a menu offers is exactly what the machine accepts."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from hierarchy.allowed import allowed_actions
from hierarchy.cases import Actor, CaseKind, CaseState, Status
from hierarchy.machine import Action, UnitRef, decide
from hierarchy.roles import Role
from hierarchy.tree import Level

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
CITY, COUNTY, TOWN, VILLAGE = "640500", "640502", "640502100", "640502100002"
PATHS = {
    CITY: f"/{CITY}/",
    COUNTY: f"/{CITY}/{COUNTY}/",
    TOWN: f"/{CITY}/{COUNTY}/{TOWN}/",
    VILLAGE: f"/{CITY}/{COUNTY}/{TOWN}/{VILLAGE}/",
}
LEVELS = {CITY: Level.CITY, COUNTY: Level.COUNTY, TOWN: Level.TOWN, VILLAGE: Level.VILLAGE}


def agent(agent_id: int, unit: str, role: Role) -> Actor:
    return Actor(id=agent_id, unit_code=unit, unit_path=PATHS[unit], role=role, level=LEVELS[unit])


VILLAGER = agent(1, VILLAGE, Role.VILLAGE_AGENT)
OTHER_VILLAGER = agent(2, VILLAGE, Role.VILLAGE_AGENT)
COUNTY_LEAD = agent(3, COUNTY, Role.COUNTY_LEAD)


def case(**changes: object) -> CaseState:
    base = CaseState(
        id="c1", kind=CaseKind.SERVICE, item_code="N01", status=Status.QUEUED, origin_unit=VILLAGE,
        origin_path=PATHS[VILLAGE], owner_unit=VILLAGE, owner_path=PATHS[VILLAGE], created_by=1,
        accepted_at=NOW - timedelta(days=1), due_at=NOW + timedelta(days=5), promised_days=5,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_a_queued_village_case_for_its_agent():
    allowed = allowed_actions(case(), VILLAGER, NOW)
    assert Action.CLAIM in allowed and Action.ESCALATE in allowed and Action.CANCEL in allowed
    assert Action.DISPATCH not in allowed  # villages send nothing down
    assert Action.RELEASE not in allowed and Action.RESOLVE not in allowed and Action.RESUME not in allowed


def test_someone_elses_case_in_progress():
    held = case(status=Status.IN_PROGRESS, assignee_id=OTHER_VILLAGER.id)
    assert Action.CLAIM not in allowed_actions(held, VILLAGER, NOW)
    assert Action.RESOLVE in allowed_actions(held, OTHER_VILLAGER, NOW)
    assert Action.RESOLVE not in allowed_actions(held, VILLAGER, NOW)


def test_closed_cases_cannot_be_escalated_or_claimed():
    closed = case(status=Status.CLOSED, closed_at=NOW - timedelta(days=1), assignee_id=1)
    allowed = allowed_actions(closed, VILLAGER, NOW)
    assert Action.ESCALATE not in allowed and Action.CLAIM not in allowed
    assert allowed == (Action.REOPEN,)


def test_handover_to_a_colleague_but_not_to_another_unit_from_a_village():
    mine = case(status=Status.IN_PROGRESS, assignee_id=VILLAGER.id)
    assert Action.HANDOVER in allowed_actions(mine, VILLAGER, NOW)
    assert Action.HANDOVER not in allowed_actions(case(), VILLAGER, NOW)


def test_county_lead_dispatches_down():
    at_county = case(owner_unit=COUNTY, owner_path=PATHS[COUNTY])
    allowed = allowed_actions(at_county, COUNTY_LEAD, NOW)
    assert Action.DISPATCH in allowed and Action.CLAIM in allowed


def test_an_offered_dispatch_goes_through_with_a_real_target():
    at_county = case(owner_unit=COUNTY, owner_path=PATHS[COUNTY])
    assert Action.DISPATCH in allowed_actions(at_county, COUNTY_LEAD, NOW)
    target = UnitRef(code=TOWN, path=PATHS[TOWN], level=Level.TOWN)
    decision = decide(at_county, COUNTY_LEAD, Action.DISPATCH, {"reason": "镇里办"}, NOW, target_unit=target)
    assert decision.changes["owner_unit"] == TOWN


@pytest.mark.parametrize("status", [Status.RESOLVED, Status.CLOSED, Status.CANCELLED])
def test_nothing_that_moves_an_open_case_is_offered_on_a_finished_one(status):
    finished = case(status=status, assignee_id=1, resolved_at=NOW, closed_at=NOW)
    offered = set(allowed_actions(finished, VILLAGER, NOW))
    assert not offered & {Action.CLAIM, Action.RELEASE, Action.ESCALATE, Action.DISPATCH, Action.HANDOVER}
