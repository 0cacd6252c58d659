"""Due times, pauses, extensions and the bad-rating review, with the API's clock in hand.

Expected times are worked out by hand from the rules in ``hierarchy.calendar`` and
chinese_calendar's 2026 data: the acceptance day is not counted; the due time is 18:00
Beijing time on the N-th working day after it. 2026 holidays used here: 清明 4-4..4-6,
中秋 9-25..9-27, 国庆 10-1..10-7 with Saturday 10-10 a make-up working day (调休).
新生儿出生一件事 (N01) promises 5 working days (seeds/items.json).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from factories import Client, case_payload, headers, provide_all
from litestar import Litestar

from hierarchy.calendar import TZ
from server.app import create_app
from server.settings import Settings

CASES = "/api/v1/cases"
VILLAGE = "640502100002"  # 向阳巷居委会 (open_weekends false)
TOWN = "640502100"
COUNTY = "640502"  # 沙坡头区 (open_weekends true in the demo network)


def cst(text: str) -> datetime:
    """A Beijing wall-clock time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


class Clock:
    """The app's clock: tests set it; the server reads it for every request."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, text: str) -> None:
        self.now = cst(text)


@pytest.fixture
def clock() -> Clock:
    return Clock(cst("2026-09-25T10:00"))


@pytest.fixture
def app(settings: Settings, clock: Clock) -> Litestar:
    return create_app(settings, clock=clock)


async def act(client: Client, who: dict[str, str], cid: str, action: str, **body: Any) -> dict[str, Any]:
    r = await client.post(f"{CASES}/{cid}/{action}", json=body, headers=who)
    assert r.status_code == 200, (action, r.status_code, r.text)
    return dict(r.json())


def due(case: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(case["due_at"])


async def create(client: Client, who: dict[str, str], **over: Any) -> dict[str, Any]:
    r = await client.post(CASES, json=case_payload(**over), headers=who)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_due_time_counts_working_days_after_acceptance(client: Client, clock: Clock) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    county = await headers(client, f"a{COUNTY}")
    # Accepted on 中秋 Friday: Sept 28, 29, 30, then 国庆, then Oct 8, 9.
    case = await create(client, villager)
    assert datetime.fromisoformat(case["accepted_at"]) == cst("2026-09-25T10:00")
    assert due(case) == cst("2026-10-09T18:00")
    # A working Friday before 清明: Apr 7, 8, 9, 10, and Monday Apr 13.
    clock.at("2026-04-03T09:30")
    assert due(await create(client, villager)) == cst("2026-04-13T18:00")
    # The same at a 周末不打烊 unit: the holiday weekend stays closed, Saturday Apr 11 is open.
    assert due(await create(client, county)) == cst("2026-04-11T18:00")
    # The social-security card (3 days) on a plain Thursday: Fri, Mon, Tue.
    clock.at("2026-11-05T16:59")
    assert due(await create(client, villager, item_code="N03-social-security-card")) == cst("2026-11-10T18:00")


async def test_pause_extension_and_a_bad_rating_review(client: Client, clock: Clock) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    town = await headers(client, f"a{TOWN}")
    county = await headers(client, f"a{COUNTY}")
    case = await create(client, villager)
    cid = case["id"]
    assert due(case) == cst("2026-10-09T18:00")

    # Waiting for the applicant from Monday Sept 28 to Thursday Oct 8: Sept 29, 30 and
    # Oct 8 are the working days paused, so the due time moves by three working days
    # (Oct 9 → Oct 10 (调休 Saturday), 12, 13).
    clock.at("2026-09-28T09:00")
    waiting = await act(client, villager, cid, "wait", reason="等申请人补交结婚证")
    assert waiting["status"] == "waiting_applicant" and due(waiting) == cst("2026-10-09T18:00")
    clock.at("2026-10-08T09:00")
    resumed = await act(client, villager, cid, "resume")
    assert resumed["status"] == "in_progress"
    assert due(resumed) == cst("2026-10-13T18:00")

    # An extension of two working days, asked by the assignee, approved by the town above.
    clock.at("2026-10-09T10:00")
    asked = await act(client, villager, cid, "extend", reason="需要卫健部门补证", days=2)
    assert asked["extension"]["state"] == "requested" and due(asked) == cst("2026-10-13T18:00")
    r = await client.post(f"{CASES}/{cid}/approve-extension", json={"approve": True}, headers=villager)
    assert (r.status_code, r.json()["code"]) == (403, "case.forbidden")
    clock.at("2026-10-09T11:00")
    approved = await act(client, town, cid, "approve-extension", approve=True)
    assert approved["extension"]["state"] == "approved"
    assert due(approved) == cst("2026-10-15T18:00")
    clock.at("2026-10-09T12:00")
    r = await client.post(f"{CASES}/{cid}/extend", json={"reason": "再延", "days": 1}, headers=villager)
    assert (r.status_code, r.json()["code"]) == (409, "case.extension_used")

    # Resolved; the applicant rates it 不满意 (2): a review opens at the origin county.
    clock.at("2026-10-12T10:00")
    await provide_all(client, villager, cid)
    await act(client, villager, cid, "resolve", note="出生登记已办结")
    clock.at("2026-10-12T15:00")
    # The villager resolved it, so the applicant rates it with the receipt's code.
    r = await client.post("/api/v1/ratings", json={"code": case["rating_code"], "rating": 2, "comment": "跑了两趟"})
    assert r.status_code == 200, r.text
    reviewed = (await client.get(f"{CASES}/{cid}", headers=villager)).json()
    assert (reviewed["status"], reviewed["owner_unit"], reviewed["assignee_id"]) == ("queued", COUNTY, None)
    review = reviewed["review"]
    assert (review["state"], review["rating"], review["unit"]) == ("open", 2, COUNTY)
    # 15 working days after Monday Oct 12: Oct 13 … Oct 30 is 14, Monday Nov 2 is the 15th.
    assert datetime.fromisoformat(review["due_at"]) == cst("2026-11-02T18:00")
    # The review's deadline is the case's due time now: the county gets its 15 days even
    # though the original SLA (Oct 15) has passed, so the sweep does not take it away.
    assert datetime.fromisoformat(reviewed["due_at"]) == cst("2026-11-02T18:00") and not reviewed["overdue"]
    queue = (await client.get(CASES, params={"view": "queue"}, headers=county)).json()["cases"]
    assert [c["id"] for c in queue] == [cid]

    # The county's task force takes it and upholds the result with a reason.
    clock.at("2026-10-13T09:30")
    await act(client, county, cid, "claim")
    clock.at("2026-10-14T16:00")
    upheld = await act(client, county, cid, "resolve", note="经核实已按规定办结，向申请人解释", uphold=True)
    assert upheld["status"] == "closed"
    assert upheld["review"]["state"] == "upheld" and upheld["review"]["reason"].startswith("经核实")

    # The origin side may reopen within 15 days of closing …
    clock.at("2026-10-28T16:00")
    reopened = await act(client, villager, cid, "reopen", reason="申请人补充诉求")
    assert (reopened["status"], reopened["reopens"], reopened["rating"]) == ("queued", 1, None)
    await act(client, county, cid, "claim")
    clock.at("2026-10-29T10:00")
    await act(client, county, cid, "resolve", note="补充诉求已办结")
    closed = await act(client, villager, cid, "confirm", rating=5)
    assert closed["status"] == "closed"
    # … and not after.
    clock.now = datetime.fromisoformat(closed["closed_at"]) + timedelta(days=15, minutes=1)
    r = await client.post(f"{CASES}/{cid}/reopen", json={"reason": "又有问题"}, headers=villager)
    assert (r.status_code, r.json()["code"]) == (409, "case.reopen_window_passed")

    hist = (await client.get(f"{CASES}/{cid}/history", headers=villager)).json()
    assert [e["action"] for e in hist] == [
        "create", "wait", "resume", "extend", "approve-extension", "update", "resolve", "confirm",
        "claim", "resolve", "reopen", "claim", "resolve", "confirm",
    ]  # fmt: skip
    assert [e["version"] for e in hist] == list(range(1, 15))
