"""Who may read and act on a case: every endpoint × every role, inside and outside its scope.

The case starts at a community under 滨河镇 (沙坡头区) and is escalated to the town, so it
sits in the town's queue. Agents of 中宁县 (and of a sibling community) are outside its
scope: to them it does not exist. Inside the scope reads work, identity numbers are
masked for all but the assignee and the creator, and every action answers 200 or a 4xx
problem with a code (for the roles the rules allow, 200; for the others, 403).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from factories import Client, all_provided, case_payload, headers

from hierarchy.machine import Action

CASES = "/api/v1/cases"
VILLAGE = "640502100002"  # 向阳巷居委会, under 滨河镇
TOWN = "640502100"  # 滨河镇
CREATOR = f"a{VILLAGE}"
ASSIGNEE = f"a{TOWN}-2"

IN_SCOPE = {
    "village_agent": CREATOR,
    "town_agent": f"a{TOWN}",
    "county_member": "a640502",
    "county_lead": "lead640502",
    "city_agent": "a640500",
    "dispatcher": "dispatcher",
    "admin": "admin",
}
OUT_OF_SCOPE = {
    "village_agent": "a640521100001",  # 振兴社区, 中宁县
    "sibling_village_agent": "a640502100006",  # another community of the same town
    "town_agent": "a640521100",  # 宁安镇, 中宁县
    "county_member": "a640521",
    "county_lead": "lead640521",
}

#: action → (the state the case is in, the body, the roles whose request succeeds).
#: States: Q queued at the town (escalated there by the creator); P claimed by the town's
#: second agent; WE P + an extension request + waiting for the applicant; R P resolved.
MATRIX: dict[str, tuple[str, dict[str, Any], set[str]]] = {
    "claim": ("Q", {}, {"town_agent"}),
    "release": ("P", {}, {"town_agent"}),
    "escalate": ("Q", {"reason": "需要区里协调"}, {"town_agent"}),
    "return": ("Q", {"reason": "不属于本镇"}, {"town_agent"}),
    "dispatch": ("Q", {"unit": VILLAGE, "reason": "下派社区办理"},
                 {"county_member", "county_lead", "city_agent", "dispatcher", "admin"}),
    "handover": ("P", {"agent": f"a{TOWN}", "note": "交给同事"}, {"town_agent"}),
    "wait": ("P", {"reason": "等申请人补材料"}, set()),
    "resume": ("WE", {}, {"town_agent"}),
    "extend": ("P", {"reason": "需要部门会商", "days": 2}, set()),
    "approve-extension": ("WE", {"approve": True}, {"county_lead", "dispatcher"}),
    "resolve": ("P", {"note": "已办结"}, set()),
    "confirm": ("R", {"rating": 5, "comment": "满意"}, {"village_agent"}),
    "reopen": ("R", {"reason": "申请人反映未办完"}, {"village_agent"}),
    "cancel": ("Q", {"reason": "申请人撤回"}, {"village_agent", "dispatcher"}),
    "update": ("P", {"title": "新生儿出生一件事（补正）"}, {"town_agent", "village_agent"}),
    "feedback": ("R", {"note": "已向反映人反馈办理结果"}, {"village_agent", "dispatcher"}),
    "close-unrated": ("R", {}, set()),  # the system's, after the rating window
}  # fmt: skip

MASKED_ID = re.compile(r"^\d{6}\*{8}[\dX]{4}$")
MASKED_PHONE = re.compile(r"^\d{3}\*{4}\d{4}$")


def test_the_matrix_covers_every_action() -> None:
    # Files need an upload first: attach and detach have their own scope checks (test_uploads).
    assert set(MATRIX) == {a.value for a in Action} - {Action.ATTACH.value, Action.DETACH.value}


def is_problem(r: httpx.Response) -> bool:
    return (
        400 <= r.status_code < 500
        and r.headers["content-type"].startswith("application/problem+json")
        and bool(r.json().get("code"))
    )


class Cases:
    """Cases in the states the matrix needs, made through the API and reused until used up."""

    def __init__(self, client: Client, creator: dict[str, str], assignee: dict[str, str]) -> None:
        self.client, self.creator, self.assignee = client, creator, assignee
        self.ready: dict[str, str] = {}
        self.applicant: dict[str, Any] = {}

    async def act(self, who: dict[str, str], cid: str, action: str, **body: Any) -> None:
        r = await self.client.post(f"{CASES}/{cid}/{action}", json=body, headers=who)
        assert r.status_code == 200, (action, r.text)

    async def make(self, state: str) -> str:
        payload = case_payload()
        self.applicant = payload["applicant"]
        r = await self.client.post(CASES, json=payload, headers=self.creator)
        assert r.status_code == 201, r.text
        cid = str(r.json()["id"])
        await self.act(self.creator, cid, "escalate", reason="需要镇里办理")
        if state == "Q":
            return cid
        await self.act(self.assignee, cid, "claim")
        if state == "WE":
            await self.act(self.assignee, cid, "extend", reason="需要部门会商", days=2)
            await self.act(self.assignee, cid, "wait", reason="等申请人补材料")
        elif state == "R":
            case = (await self.client.get(f"{CASES}/{cid}", headers=self.assignee)).json()
            await self.act(self.assignee, cid, "update", **all_provided(case))
            await self.act(self.assignee, cid, "resolve", note="已办结")
        return cid

    async def take(self, state: str) -> str:
        if state not in self.ready:
            self.ready[state] = await self.make(state)
        return self.ready[state]

    def used_up(self, state: str) -> None:
        self.ready.pop(state, None)


def order(role: str) -> list[str]:
    """Refused actions first, so one prepared case serves as many requests as it can."""
    return sorted(MATRIX, key=lambda a: (role in MATRIX[a][2], a != "confirm"))


@pytest.mark.parametrize("role", list(IN_SCOPE))
async def test_in_scope(client: Client, role: str) -> None:
    creator = await headers(client, CREATOR)
    assignee = await headers(client, ASSIGNEE)
    me = creator if IN_SCOPE[role] == CREATOR else await headers(client, IN_SCOPE[role])
    cases = Cases(client, creator, assignee)

    # Reads: the case, its history and the lists; masking for all but creator and assignee.
    queued = await cases.take("Q")
    applicant = cases.applicant
    r = await client.get(f"{CASES}/{queued}", headers=me)
    assert r.status_code == 200, r.text
    shown = r.json()["applicant"]
    if role == "village_agent":
        assert (shown["resident_id"], shown["phone"]) == (applicant["resident_id"], applicant["phone"])
    else:
        assert MASKED_ID.match(shown["resident_id"]) and shown["resident_id"][-4:] == applicant["resident_id"][-4:]
        assert shown["resident_id"][:6] == applicant["resident_id"][:6] == "640502"
        assert MASKED_PHONE.match(shown["phone"]), shown
    r = await client.get(f"{CASES}/{queued}/history", headers=me)
    assert r.status_code == 200 and [e["action"] for e in r.json()] == ["create", "escalate"]
    for view, listed in (("scope", True), ("queue", role == "town_agent"), ("mine", False)):
        r = await client.get(CASES, params={"view": view}, headers=me)
        assert r.status_code == 200, r.text
        assert (queued in [c["id"] for c in r.json()["cases"]]) is listed, (view, role)

    held = await cases.take("P")
    for who, whole in ((me, role == "village_agent"), (assignee, True)):
        shown = (await client.get(f"{CASES}/{held}", headers=who)).json()["applicant"]
        assert (shown["resident_id"] == cases.applicant["resident_id"]) is whole, (role, shown)
        assert (shown["phone"] == cases.applicant["phone"]) is whole, (role, shown)

    # Every action: the roles the rules allow succeed, the others get 403, nobody a 500.
    outcomes: dict[str, int] = {}
    for action in order(role):
        state, body, allowed = MATRIX[action]
        cid = await cases.take(state)
        r = await client.post(f"{CASES}/{cid}/{action}", json=body, headers=me)
        outcomes[action] = r.status_code
        assert r.status_code == 200 or is_problem(r), (action, r.status_code, r.text)
        if role in allowed:
            assert r.status_code == 200, (action, r.text)
            cases.used_up(state)
        elif action == "confirm":  # the rating rules name why (hierarchy.ratings)
            assert r.status_code == 403 and r.json()["code"].startswith("rating."), (action, r.text)
        else:
            assert (r.status_code, r.json()["code"]) == (403, "case.forbidden"), (action, r.text)
    assert {a for a, s in outcomes.items() if s == 200} == {a for a, m in MATRIX.items() if role in m[2]}


@pytest.mark.parametrize("role", list(OUT_OF_SCOPE))
async def test_out_of_scope_is_not_found(client: Client, role: str) -> None:
    creator = await headers(client, CREATOR)
    outsider = await headers(client, OUT_OF_SCOPE[role])
    r = await client.post(CASES, json=case_payload(), headers=creator)
    assert r.status_code == 201
    case = r.json()
    cid = case["id"]
    r = await client.post(f"{CASES}/{cid}/escalate", json={"reason": "需要镇里办理"}, headers=creator)
    assert r.status_code == 200
    secrets = [case["ref"], case["title"], case["applicant"]["name"], VILLAGE, TOWN, "queued", "滨河"]
    ghost = str(uuid.uuid4())

    def assert_hidden(r: httpx.Response, twin: httpx.Response | None, what: str) -> None:
        assert r.status_code == 404, (what, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        body = r.json()
        assert body["code"] == "case.not_found", (what, body)
        assert not [s for s in secrets if s in r.text], (what, r.text)
        if twin is not None:
            # Byte for byte what a case that does not exist gets, but for the id asked about.
            assert r.text.replace(cid, ghost) == twin.text, (what, r.text, twin.text)

    for suffix in ("", "/history"):
        real = await client.get(f"{CASES}/{cid}{suffix}", headers=outsider)
        assert_hidden(real, await client.get(f"{CASES}/{ghost}{suffix}", headers=outsider), f"GET {suffix}")
    for action, (_, body, _) in MATRIX.items():
        real = await client.post(f"{CASES}/{cid}/{action}", json=body, headers=outsider)
        twin = None
        if action in ("claim", "dispatch", "handover"):
            twin = await client.post(f"{CASES}/{ghost}/{action}", json=body, headers=outsider)
        assert_hidden(real, twin, action)
    for params in ({"view": "scope"}, {"view": "queue"}, {"view": "mine"}, {"unit": TOWN}, {"q": case["ref"]}):
        r = await client.get(CASES, params=params, headers=outsider)
        assert r.status_code == 200, r.text
        assert r.json()["cases"] == [], (params, r.text)

    # And none of it moved the case.
    hist = (await client.get(f"{CASES}/{cid}/history", headers=creator)).json()
    assert [e["action"] for e in hist] == ["create", "escalate"]
