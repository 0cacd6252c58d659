"""A case out of scope answers exactly like one that does not exist; creates are idempotent."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from factories import Client, case_payload, headers
from factories import register_device as device
from factories import sync_op as op

VILLAGE = "640502100002"
TOWN = "640502100"

#: Every push operation kind with arguments a rule would accept.
KINDS: dict[str, dict[str, Any]] = {
    "edit": {"title": "改个标题"},
    "claim": {},
    "release": {"reason": "x"},
    "escalate": {"reason": "需上级办理"},
    "return": {"reason": "不属本级"},
    "dispatch": {"unit": VILLAGE},
    "handover": {"agent": f"a{VILLAGE}", "reason": "x"},
    "wait": {"reason": "等材料"},
    "resume": {},
    "extend": {"days": 3, "reason": "x"},
    "approve-extension": {"approve": True},
    "resolve": {"note": "办结"},
    "confirm": {"rating": 5},
    "reopen": {"reason": "x"},
    "cancel": {"reason": "x"},
    "no-such-kind": {},
}


def _without(value: Any, *ids: str) -> Any:
    """``value`` with the given ids, op ids and seqs blanked out, for comparison."""
    if isinstance(value, dict):
        return {k: _without(v, *ids) for k, v in value.items() if k not in ("op_id", "seq")}
    if isinstance(value, list):
        return [_without(v, *ids) for v in value]
    if isinstance(value, str):
        for i in ids:
            value = value.replace(i, "<id>")
    return value


async def test_out_of_scope_answers_as_nonexistent(client: Client) -> None:
    town = await headers(client, f"a{TOWN}")
    village = await headers(client, f"a{VILLAGE}")
    hidden = (await client.post("/api/v1/cases", json=case_payload(), headers=town)).json()["id"]
    cid = await device(client, village)
    ops, seq = [], 0
    for kind, args in KINDS.items():
        for target in (hidden, str(uuid.uuid4())):
            seq += 1
            ops.append(op(cid, seq, target, kind, **args))
    answer = await client.post("/api/v1/sync/push", json={"client_id": cid, "ops": ops}, headers=village)
    assert answer.status_code == 200, answer.text
    results = answer.json()["results"]
    assert len(results) == 2 * len(KINDS)
    for kind, first, second in zip(KINDS, results[::2], results[1::2], strict=True):
        assert first["result"] == "rejected", (kind, first)
        assert _without(first) == _without(second), kind
    # The case did not move and no event was written for it.
    history = (await client.get(f"/api/v1/cases/{hidden}/history", headers=town)).json()
    assert [e["action"] for e in history] == ["create"]
    # Online, too: reading or acting on it answers as for a random id.
    fake = str(uuid.uuid4())
    for path in ("", "/history", "/claim", "/escalate"):
        method = client.get if path in ("", "/history") else client.post
        a = await method(f"/api/v1/cases/{hidden}{path}", headers=village)
        b = await method(f"/api/v1/cases/{fake}{path}", headers=village)
        assert a.status_code == b.status_code == 404, path
        assert _without(a.json(), hidden) == _without(b.json(), fake), path


async def test_create_with_a_taken_id_answers_alike(client: Client) -> None:
    town = await headers(client, f"a{TOWN}")
    village = await headers(client, f"a{VILLAGE}")
    foreign = (await client.post("/api/v1/cases", json=case_payload(), headers=town)).json()["id"]
    mine = case_payload()
    assert (await client.post("/api/v1/cases", json=mine, headers=village)).status_code == 201
    # Online: someone else's id (out of scope) and one's own id sent with another body.
    body = case_payload()
    r_foreign = await client.post("/api/v1/cases", json={**body, "id": foreign}, headers=village)
    r_mine = await client.post("/api/v1/cases", json={**body, "id": mine["id"]}, headers=village)
    assert r_foreign.status_code == r_mine.status_code == 409
    assert r_foreign.json()["code"] == "case.id_conflict"
    assert _without(r_foreign.json(), foreign) == _without(r_mine.json(), mine["id"])
    # The same through push.
    cid = await device(client, village)
    args = {k: v for k, v in body.items() if k != "id"}
    batch = {"client_id": cid, "ops": [op(cid, 1, foreign, "create", **args), op(cid, 2, mine["id"], "create", **args)]}
    results = (await client.post("/api/v1/sync/push", json=batch, headers=village)).json()["results"]
    assert results[0]["result"] == "rejected" and results[0]["code"] == "case.id_conflict"
    assert _without(results[0]) == _without(results[1])
    # The same create sent again is the same case.
    again = await client.post("/api/v1/cases", json=mine, headers=village)
    assert again.status_code == 200 and again.json()["id"] == mine["id"]


async def test_identical_concurrent_creates_make_one_case(client: Client) -> None:
    village = await headers(client, f"a{VILLAGE}")
    body = case_payload()
    answers = await asyncio.gather(*[client.post("/api/v1/cases", json=body, headers=village) for _ in range(8)])
    assert sorted(r.status_code for r in answers) == [200] * 7 + [201], [r.text for r in answers]
    assert len({r.content for r in answers}) == 1
    page = (await client.get("/api/v1/cases", params={"view": "mine"}, headers=village)).json()
    assert [c["id"] for c in page["cases"]] == [body["id"]]
    other = await client.post("/api/v1/cases", json={**body, "title": "另一件事"}, headers=village)
    assert other.status_code == 409 and other.json()["code"] == "case.id_conflict"
