"""The push/pull protocol through the HTTP API, on both engines."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from factories import Client, case_payload, headers

VILLAGE = "640502100002"
TOWN = "640502100"


def op(client_id: str, seq: int, case_id: str, op_kind: str, **args: Any) -> dict[str, Any]:
    return {
        "op_id": str(uuid.uuid4()),
        "client_id": client_id,
        "seq": seq,
        "case_id": case_id,
        "kind": op_kind,
        "args": args,
        "hlc": f"{1_780_000_000_000 + seq:013d}:000000:{client_id[:8]}",
    }


async def device(client: Client, who: dict[str, str]) -> str:
    r = await client.post("/api/v1/devices", json={"name": "村级平板"}, headers=who)
    assert r.status_code == 201, r.text
    return str(r.json()["client_id"])


async def test_replay_is_applied_once_then_duplicate(client: Client) -> None:
    who = await headers(client, f"a{VILLAGE}")
    cid = await device(client, who)
    body = case_payload()
    case_id = body.pop("id")
    batch = {"client_id": cid, "ops": [
        op(cid, 1, case_id, "create", **body),
        op(cid, 2, case_id, "edit", description="缺出生医学证明，明日补交"),
        op(cid, 3, case_id, "escalate", reason="需镇里办理"),
    ]}  # fmt: skip
    answers = [(await client.post("/api/v1/sync/push", json=batch, headers=who)).json() for _ in range(3)]
    assert [r["result"] for r in answers[0]["results"]] == ["applied"] * 3
    assert [r["result"] for r in answers[1]["results"]] == ["duplicate"] * 3
    assert [r["result"] for r in answers[2]["results"]] == ["duplicate"] * 3
    assert answers[2]["last_seq"] == 3
    case = (await client.get(f"/api/v1/cases/{case_id}", headers=who)).json()
    assert case["owner_unit"] == TOWN and case["version"] == 3 and case["ref"].startswith("ZW-")
    history = (await client.get(f"/api/v1/cases/{case_id}/history", headers=who)).json()
    assert [e["action"] for e in history] == ["create", "update", "escalate"]


async def test_seq_gap_and_rejection_do_not_stall(client: Client) -> None:
    who = await headers(client, f"a{VILLAGE}")
    cid = await device(client, who)
    body = case_payload()
    case_id = body.pop("id")
    gap = {"client_id": cid, "ops": [op(cid, 2, case_id, "create", **body)]}
    r = await client.post("/api/v1/sync/push", json=gap, headers=who)
    assert r.status_code == 409 and r.json()["code"] == "sync.seq_gap" and r.json()["expected"] == 1
    batch = {"client_id": cid, "ops": [
        op(cid, 1, case_id, "claim"),  # no such case yet: rejected, recorded, seq advances
        op(cid, 2, case_id, "create", **body),
        op(cid, 3, case_id, "resolve", note="办结"),  # materials fine, assignee: applied
    ]}  # fmt: skip
    res = (await client.post("/api/v1/sync/push", json=batch, headers=who)).json()
    assert [x["result"] for x in res["results"]] == ["rejected", "applied", "applied"]
    assert res["results"][0]["code"] == "case.not_found"
    assert res["last_seq"] == 3


async def test_revoked_device_cannot_push_or_pull(client: Client) -> None:
    who = await headers(client, f"a{VILLAGE}")
    admin = await headers(client, "admin")
    cid = await device(client, who)
    r = await client.post(f"/api/v1/devices/{cid}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["revoked"] is True
    r = await client.post("/api/v1/sync/push", json={"client_id": cid, "ops": []}, headers=who)
    assert r.status_code == 403 and r.json()["code"] == "sync.device_revoked"
    r = await client.get("/api/v1/sync/pull", params={"client_id": cid}, headers=who)
    assert r.status_code == 403


async def test_pull_pages_and_evicts_what_left_the_scope(client: Client) -> None:
    village = await headers(client, f"a{VILLAGE}")
    town = await headers(client, f"a{TOWN}")
    dispatcher = await headers(client, "dispatcher")
    cid = await device(client, village)
    # A case born at the town, dispatched down to the village, then returned up before
    # anyone there held it: it leaves the village device's scope.
    created = (await client.post("/api/v1/cases", json=case_payload(), headers=town)).json()
    await client.post(f"/api/v1/cases/{created['id']}/escalate", json={"reason": "x"}, headers=town)
    r = await client.post(f"/api/v1/cases/{created['id']}/dispatch", json={"unit": VILLAGE}, headers=dispatcher)
    assert r.status_code == 200, r.text
    for _ in range(3):
        await client.post("/api/v1/cases", json=case_payload(), headers=village)
    seen: list[str] = []
    cursor = 0
    while True:
        page = (
            await client.get(
                "/api/v1/sync/pull", params={"client_id": cid, "cursor": cursor, "limit": 2}, headers=village
            )
        ).json()
        seen += [c["id"] for c in page["cases"]]
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    assert created["id"] in seen and len(seen) == 4
    lead = await headers(client, f"a{VILLAGE}")
    r = await client.post(f"/api/v1/cases/{created['id']}/return", json={"reason": "不属本村"}, headers=lead)
    assert r.status_code == 200, r.text
    page = (await client.get("/api/v1/sync/pull", params={"client_id": cid, "cursor": cursor}, headers=village)).json()
    assert created["id"] in page["evicted"]
    assert page["scope_size"] == 3 and page["checksum"]


async def test_msgpack_round_trip(client: Client) -> None:
    who = await headers(client, f"a{VILLAGE}")
    cid = await device(client, who)
    body = case_payload()
    case_id = body.pop("id")
    batch = {"client_id": cid, "ops": [op(cid, 1, case_id, "create", **body)]}
    r = await client.post(
        "/api/v1/sync/push",
        content=msgspec.msgpack.encode(batch),
        headers=who | {"content-type": "application/msgpack", "accept": "application/msgpack"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/msgpack")
    assert msgspec.msgpack.decode(r.content)["results"][0]["result"] == "applied"


async def test_batch_and_body_limits(client: Client) -> None:
    who = await headers(client, f"a{VILLAGE}")
    cid = await device(client, who)
    too_many = {"client_id": cid, "ops": [op(cid, n + 1, str(uuid.uuid4()), "claim") for n in range(501)]}
    r = await client.post("/api/v1/sync/push", json=too_many, headers=who)
    assert r.status_code == 413 and r.json()["code"] == "sync.batch_too_large" and r.json()["limit"] == 500
    huge = {"client_id": cid, "ops": [op(cid, 1, str(uuid.uuid4()), "edit", description="长" * 3_000_000)]}
    r = await client.post("/api/v1/sync/push", json=huge, headers=who)
    assert r.status_code == 413 and r.json()["code"] == "request.too_large"
    r = await client.post("/api/v1/sync/push", content=b"{not json", headers=who | {"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "sync.malformed"


async def test_large_pulls_are_gzipped(client: Client) -> None:
    village = await headers(client, f"a{VILLAGE}")
    cid = await device(client, village)
    for _ in range(5):
        assert (await client.post("/api/v1/cases", json=case_payload(), headers=village)).status_code == 201
    r = await client.get("/api/v1/sync/pull", params={"client_id": cid}, headers=village | {"accept-encoding": "gzip"})
    assert r.status_code == 200 and r.headers.get("content-encoding") == "gzip"
    assert len(r.json()["cases"]) == 5  # httpx undoes the gzip
