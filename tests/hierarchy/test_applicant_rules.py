"""The applicant's loop as pure rules: what the server and an offline device both apply."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from hierarchy.calendar import TZ
from hierarchy.cases import Actor, CaseKind, CaseState, Status
from hierarchy.errors import Conflict, Forbidden, InvalidInput
from hierarchy.items import check_applicant_fits, cross_county_owner
from hierarchy.machine import Action, decide
from hierarchy.ratings import CODE_LENGTH, new_rating_code, normalise_rating_code
from hierarchy.results import correct_applicant, missing_materials
from hierarchy.roles import Role
from hierarchy.tree import Level
from hierarchy.validation import check_phone, mask_phone

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=TZ)  # a Monday
VILLAGE = Actor(1, "640502100002", "/640500/640502/640502100/640502100002/", Role.VILLAGE_AGENT, Level.VILLAGE)
TOWN = Actor(2, "640502100", "/640500/640502/640502100/", Role.TOWN_AGENT, Level.TOWN)
LEAD = Actor(3, "640502", "/640500/640502/", Role.COUNTY_LEAD, Level.COUNTY)
SYSTEM = Actor(None, "640502100002", VILLAGE.unit_path, Role.ADMIN, Level.CITY)


def resolved(**over: object) -> CaseState:
    base = CaseState(
        id="c1", kind=CaseKind.SERVICE, item_code="N01", status=Status.RESOLVED,
        origin_unit=VILLAGE.unit_code, origin_path=VILLAGE.unit_path, owner_unit=TOWN.unit_code,
        owner_path=TOWN.unit_path, created_by=1, accepted_at=NOW, due_at=NOW + timedelta(days=7), promised_days=5,
        assignee_id=2, holders=(1, 2), resolved_at=NOW,
    )  # fmt: skip
    return dataclasses.replace(base, **over)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("actor", "case", "code"),
    [
        (TOWN, resolved(), "rating.rater_is_assignee"),
        (VILLAGE, resolved(assignee_id=1), "rating.rater_is_assignee"),
        (LEAD, resolved(review={"state": "fixed", "unit": "640502"}, holders=(1, 2, 5), assignee_id=5),
         "rating.reviewing_unit"),
        (TOWN, resolved(assignee_id=9, holders=(1, 2, 9)), "rating.rater_held_case"),
        (LEAD, resolved(), "rating.not_origin"),
    ],
)  # fmt: skip
def test_who_may_not_rate(actor: Actor, case: CaseState, code: str) -> None:
    with pytest.raises(Forbidden) as refused:
        decide(case, actor, Action.CONFIRM, {"rating": 5}, NOW)
    assert refused.value.code == code


def test_origin_agent_and_applicant_rate_with_their_source() -> None:
    by_agent = decide(resolved(), VILLAGE, Action.CONFIRM, {"rating": 5}, NOW)
    assert by_agent.changes["rating_source"] == "agent" and by_agent.changes["status"] is Status.CLOSED
    by_code = decide(resolved(), SYSTEM, Action.CONFIRM, {"rating": 2}, NOW)
    assert by_code.changes["rating_source"] == "applicant" and by_code.changes["review"]["state"] == "open"


def test_unrated_close_waits_for_the_working_days() -> None:
    case = resolved()
    with pytest.raises(Conflict) as early:
        decide(case, SYSTEM, Action.CLOSE_UNRATED, {"days": 10}, NOW + timedelta(days=14, hours=7))
    assert early.value.code == "case.rating_window_open"
    closed = decide(case, SYSTEM, Action.CLOSE_UNRATED, {"days": 10}, NOW + timedelta(days=14, hours=9))
    assert (closed.changes["status"], closed.changes["rating_source"]) == (Status.CLOSED, "unrated")
    with pytest.raises(Forbidden):
        decide(case, VILLAGE, Action.CLOSE_UNRATED, {}, NOW + timedelta(days=30))


def test_resolve_needs_each_material_provided_or_deferred_under_commitment() -> None:
    materials = (
        {"code": "a", "state": "provided"},
        {"code": "b", "state": "deferred", "commitment": "承诺补交", "due": "2026-11-05"},
        {"code": "c", "state": "missing"},
        {"code": "d", "state": "deferred"},  # no commitment: not enough
        {"code": "e", "state": "missing", "required": False},
    )
    assert missing_materials(materials) == ["c", "d"]
    case = resolved(status=Status.IN_PROGRESS, materials=materials, resolved_at=None)
    with pytest.raises(Conflict) as refused:
        decide(case, TOWN, Action.RESOLVE, {"note": "已办结"}, NOW)
    assert refused.value.code == "case.materials_missing" and refused.value.data["materials"] == ["c", "d"]


def test_phones_landlines_and_masks() -> None:
    assert check_phone("0955-7012345") == check_phone("0955 7012345") == "0955-7012345"
    assert check_phone("+86 955 7012345") == "0955-7012345"
    assert check_phone("010-87654321") == "010-87654321"
    assert check_phone("+86 138 9551 2345") == "13895512345"
    for bad in ("12345", "0955-70123", "955-7012345", "1389551234x"):
        with pytest.raises(InvalidInput):
            check_phone(bad)
    assert mask_phone("0955-7012345") == "0955-***2345" and mask_phone("13895512345") == "138****2345"


def test_corrections_are_checked_like_a_new_applicant() -> None:
    person = {"type": "person", "name": "马玉兰", "resident_id": "11010519491231002X"}
    fixed = correct_applicant(person, {"name": " 马玉蓝 ", "phone": "09557012345"})
    assert fixed == {**person, "name": "马玉蓝", "phone": "0955-7012345"}
    refusals = (
        ({"credit_code": "x"}, "applicant.correction_invalid"),
        ({"type": "firm"}, "applicant.correction_invalid"),
        ({"resident_id": "110105194912310021"}, "applicant.resident_id_invalid"),
    )
    for patch, code in refusals:
        with pytest.raises(InvalidInput) as refused:
            correct_applicant(person, patch)
        assert refused.value.code == code


def test_items_serve_their_applicants_and_local_items_route_to_their_county() -> None:
    goji = {"code": "L03", "lifecycle": "enterprise", "serves": "enterprise", "locality_code": "640521",
            "locality_path": "/640500/640521/"}  # fmt: skip
    with pytest.raises(InvalidInput) as refused:
        check_applicant_fits(goji, "person", CaseKind.SERVICE)
    assert refused.value.code == "case.applicant_type_mismatch"
    with pytest.raises(InvalidInput) as refused:
        check_applicant_fits({"serves": "both"}, "person", CaseKind.PROJECT_ISSUE)
    assert refused.value.code == "case.enterprise_required"
    check_applicant_fits({"serves": "both"}, "firm", CaseKind.SERVICE)
    assert cross_county_owner(goji, "/640500/640522/640522100/640522100203/") == ("640521", "/640500/640521/")
    assert cross_county_owner(goji, "/640500/640521/640521100/") is None
    assert cross_county_owner({"locality_code": None}, VILLAGE.unit_path) is None


def test_rating_codes() -> None:
    code = new_rating_code()
    assert len(code) == CODE_LENGTH and normalise_rating_code(f" {code[:5].lower()}-{code[5:]} ") == code
    for bad in ("", "ILOU000000", "12345"):
        with pytest.raises(InvalidInput):
            normalise_rating_code(bad)
