"""The push/pull protocol through the HTTP API, on both engines."""

from __future__ import annotations

import asyncio
import uuid

import msgspec
from factories import Client, case_payload, headers, register_device, sync_op

VILLAGE = "640502100002"
TOWN = "640502100"
N01_MATERIALS = (
    "birth-medical-certificate", "parents-id-cards", "household-register", "marriage-certificate",
    "insurance-enrolment-form",
)  # fmt: skip


op = sync_op
device = register_device


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
        op(cid, 3, case_id, "resolve", note="办结"),  # materials missing: rejected
        op(cid, 4, case_id, "edit", materials=[{"code": m, "state": "provided"} for m in N01_MATERIALS]),
        op(cid, 5, case_id, "resolve", note="办结"),  # materials fine, assignee: applied
    ]}  # fmt: skip
    res = (await client.post("/api/v1/sync/push", json=batch, headers=who)).json()
    assert [x["result"] for x in res["results"]] == ["rejected", "applied", "rejected", "applied", "applied"]
    assert res["results"][0]["code"] == "case.not_found"
    assert res["results"][2]["code"] == "case.materials_missing"
    assert res["last_seq"] == 5


async def test_revoked_device_token_is_refused_everywhere(client: Client) -> None:
    who = await headers(client, f"a{VILLAGE}")
    admin = await headers(client, "admin")
    cid = await device(client, who)
    # The token that registered the device serves it and no other.
    r = await client.post("/api/v1/devices", json={"client_id": str(uuid.uuid4())}, headers=who)
    assert r.status_code == 403 and r.json()["code"] == "device.token_bound"
    r = await client.post(f"/api/v1/devices/{cid}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["revoked"] is True
    calls = [
        client.post("/api/v1/sync/push", json={"client_id": cid, "ops": []}, headers=who),
        client.get("/api/v1/sync/pull", params={"client_id": cid}, headers=who),
        client.post("/api/v1/devices", json={"client_id": cid}, headers=who),
        client.post("/api/v1/devices", json={"name": "新平板"}, headers=who),
        client.post("/api/v1/devices", json={"client_id": str(uuid.uuid4())}, headers=who),
        client.get("/api/v1/cases", headers=who),
        client.post("/api/v1/cases", json=case_payload(), headers=who),
    ]
    for call in calls:
        r = await call
        assert r.status_code == 401 and r.json()["code"] == "auth.token_invalid", r.text
    # Signing in again does not bring the revoked device back.
    again = await headers(client, f"a{VILLAGE}")
    r = await client.post("/api/v1/devices", json={"client_id": cid}, headers=again)
    assert r.status_code == 409 and r.json()["code"] == "device.id_conflict"
    r = await client.post("/api/v1/sync/push", json={"client_id": cid, "ops": []}, headers=again)
    assert r.status_code == 403 and r.json()["code"] == "sync.device_revoked"
    r = await client.get("/api/v1/sync/pull", params={"client_id": cid}, headers=again)
    assert r.status_code == 403 and r.json()["code"] == "sync.device_revoked"


async def test_device_ids_leak_nothing_and_registration_is_idempotent(client: Client) -> None:
    mine = await headers(client, f"a{VILLAGE}")
    other = await headers(client, f"a{TOWN}")
    cid = await device(client, mine)
    # Another agent's device id and one's own revoked device id answer alike.
    r_foreign = await client.post("/api/v1/devices", json={"client_id": cid}, headers=other)
    spare = await headers(client, f"a{VILLAGE}")
    own = await device(client, spare)
    await client.post(f"/api/v1/devices/{own}/revoke", headers=spare)
    fresh = await headers(client, f"a{VILLAGE}")
    r_revoked = await client.post("/api/v1/devices", json={"client_id": own}, headers=fresh)
    assert r_foreign.status_code == r_revoked.status_code == 409
    assert r_foreign.json() == r_revoked.json()
    assert r_foreign.json()["code"] == "device.id_conflict"
    # Pushing as another agent's device: as if it did not exist.
    r_other = await client.post("/api/v1/sync/push", json={"client_id": cid, "ops": []}, headers=other)
    r_none = await client.post("/api/v1/sync/push", json={"client_id": str(uuid.uuid4()), "ops": []}, headers=other)
    assert r_other.status_code == r_none.status_code == 404 and r_other.json() == r_none.json()
    # Eight identical registrations at once: one device, one 201, seven 200 with the same body.
    new_id = str(uuid.uuid4())
    answers = await asyncio.gather(
        *[client.post("/api/v1/devices", json={"client_id": new_id, "name": "平板"}, headers=fresh) for _ in range(8)]
    )
    assert sorted(r.status_code for r in answers) == [200] * 7 + [201]
    assert len({r.content for r in answers}) == 1


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
    params = {"client_id": cid, "cursor": cursor}
    page = (await client.get("/api/v1/sync/pull", params=params, headers=village)).json()
    # An ordinary pull: the change took the case out of scope, so it is evicted; the scope
    # itself is not compared.
    assert created["id"] in page["evicted"] and page["checksum"] is None
    # Not acknowledged: a full pull sends the eviction again, with the scope's checksum.
    page = (await client.get("/api/v1/sync/pull", params=params | {"full": "true"}, headers=village)).json()
    assert created["id"] in page["evicted"]
    assert page["scope_size"] == 3 and page["checksum"]
    # Acknowledged: gone for good.
    page = (
        await client.get("/api/v1/sync/pull", params=params | {"ack": page["ack"], "full": "true"}, headers=village)
    ).json()
    assert page["evicted"] == [] and page["scope_size"] == 3


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
