"""The notification rule: who is told of what, decided without I/O."""

from __future__ import annotations

from datetime import UTC, datetime

from hierarchy import notices as hn
from hierarchy.cases import Actor, CaseKind, CaseState, Status
from hierarchy.machine import Action
from hierarchy.roles import Role
from hierarchy.tree import Level

VILLAGE = "640502100002"
TOWN = "640502100"
COUNTY = "640502"


def _state(**over: object) -> CaseState:
    at = datetime(2026, 11, 2, 9, tzinfo=UTC)
    base: dict[str, object] = dict(
        id="c", kind=CaseKind.SERVICE, item_code="x", status=Status.IN_PROGRESS, origin_unit=VILLAGE,
        origin_path=f"/640500/{COUNTY}/{TOWN}/{VILLAGE}/", owner_unit=TOWN, owner_path=f"/640500/{COUNTY}/{TOWN}/",
        created_by=1, accepted_at=at, due_at=at, promised_days=5, assignee_id=2,
    )  # fmt: skip
    base.update(over)
    return CaseState(**base)  # type: ignore[arg-type]


def test_rule_extension_goes_to_the_parent_and_its_verdict_to_the_requester() -> None:
    town_agent = Actor(id=2, unit_code=TOWN, unit_path=f"/640500/{COUNTY}/{TOWN}/", role=Role.TOWN_AGENT,
                       level=Level.TOWN)  # fmt: skip
    before = _state()
    asked = _state(extension={"state": "requested", "requested_by": 2, "days": 3})
    [n] = hn.notices(before, asked, Action.EXTEND, town_agent)
    assert n.kind == hn.EXTENSION_REQUESTED and n.to == (hn.Audience(approvers=COUNTY),)
    lead = Actor(id=9, unit_code=COUNTY, unit_path=f"/640500/{COUNTY}/", role=Role.COUNTY_LEAD, level=Level.COUNTY)
    rejected = _state(extension={"state": "rejected", "requested_by": 2, "days": 3})
    [n] = hn.notices(asked, rejected, Action.APPROVE_EXTENSION, lead)
    assert n.to == (hn.Audience(agent=2),) and "驳回" in n.message("ZW-1")
    # Reopened by the origin side: the queue it lands in and the last assignee hear of it.
    closed = _state(status=Status.CLOSED, assignee_id=2)
    reopened = _state(status=Status.QUEUED, assignee_id=None)
    origin = Actor(id=1, unit_code=VILLAGE, unit_path=f"/640500/{COUNTY}/{TOWN}/{VILLAGE}/",
                   role=Role.VILLAGE_AGENT, level=Level.VILLAGE)  # fmt: skip
    [n] = hn.notices(closed, reopened, Action.REOPEN, origin)
    assert n.to == (hn.Audience(unit=TOWN), hn.Audience(agent=2))
    assert hn.without_actor([1, 2, 2, 3], origin) == [2, 3]
    # Claiming, pausing, editing reach nobody.
    assert hn.notices(before, _state(status=Status.WAITING_APPLICANT), Action.WAIT, town_agent) == []
