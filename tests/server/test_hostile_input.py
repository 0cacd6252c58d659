"""Hostile input on every operation the API documents gets a 4xx problem with a code.

The operations come from the app's own OpenAPI document, so a new route is covered
without touching this file: a NUL byte in every path segment and query parameter,
control characters and 5 MB strings in bodies, numbers no column holds, JSON nested
10,000 deep and bodies that are not UTF-8. Runs on both engines.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import msgspec
from factories import Client, assert_problem, case_payload, headers, register_device, sync_op

FUZZ_ID = str(uuid.uuid4())
DEEP = b"[" * 10_000 + b"]" * 10_000
PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete") and not path.startswith("/schema")
    ]


def fill(path: str, op: dict[str, Any], poison: str | None = None) -> str:
    """The path with each parameter filled with a plausible value, or ``poison`` in the first."""
    types = {p["name"]: p.get("schema", {}) for p in op.get("parameters", []) if p["in"] == "path"}

    def value(match: re.Match[str]) -> str:
        nonlocal poison
        if poison is not None:
            bad, poison = poison, None
            return bad
        schema = types.get(match.group(1), {})
        if schema.get("type") == "integer":
            return "1"
        if schema.get("format") == "uuid":
            return FUZZ_ID
        return "640500"

    return PARAM.sub(value, path)


async def test_every_operation_refuses_hostile_input(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    admin = await headers(client, "admin")
    ops = operations(schema)
    assert len(ops) >= 25
    tried = 0
    for method, path, op in ops:
        why = f"{method} {path}"
        if PARAM.search(path):
            r = await client.request(method, fill(path, op, poison="a%00b"), headers=admin)
            # A segment a typed parameter cannot match leaves no route (404) before any check.
            body = assert_problem(r, (400, 404), why=why)
            assert body["code"] in ("request.invalid_characters", "route.not_found"), (why, body)
            tried += 1
        for param in op.get("parameters", []):
            if param["in"] == "query":
                r = await client.request(method, fill(path, op), params={param["name"]: "a\x00b"}, headers=admin)
                assert_problem(r, 400, "request.invalid_characters", why=(why, param["name"]))
                tried += 1
        if "requestBody" in op:
            url = fill(path, op)
            as_json = admin | {"content-type": "application/json"}
            for name, raw in (
                ("nul", b'{"reason": "a\\u0000b", "name": "x\\u001fy"}'),
                ("deep", DEEP),
                ("utf8", b'{"reason": "\xff\xfe\xfd"}'),
                ("surrogate", b'{"reason": "\\ud800"}'),
                ("five_mb", b'{"reason": "' + b"x" * 5_000_000 + b'"}'),
            ):
                r = await client.request(method, url, content=raw, headers=as_json)
                assert_problem(r, (400, 401, 403, 404, 405, 409, 413, 415, 422), why=(why, name))
                tried += 1
    assert tried > 60


async def test_numbers_no_column_holds(client: Client) -> None:
    admin = await headers(client, "admin")
    for path in ("/api/v1/workload/plans/2147483648", "/api/v1/workload/plans/99999999999999999999999"):
        assert_problem(await client.get(path, headers=admin), 400, "request.invalid", why=path)
    r = await client.get("/api/v1/sync/pull", params={"client_id": FUZZ_ID, "cursor": str(2**63)}, headers=admin)
    assert_problem(r, 400, "request.invalid")
    case = f"/api/v1/cases/{FUZZ_ID}/escalate"
    r = await client.post(case, json={"reason": "x", "expected_version": 2**31}, headers=admin)
    assert_problem(r, 400, "request.invalid")


async def test_text_is_bounded_before_storage(client: Client) -> None:
    villager = await headers(client, "a640502100002")
    for field, size in (("description", 2001), ("title", 201)):
        body = {"id": str(uuid.uuid4()), "item_code": "N01-newborn-birth", field: "长" * size,
                "applicant": {"type": "person", "name": "马玉兰"}}  # fmt: skip
        r = await client.post("/api/v1/cases", json=body, headers=villager)
        assert assert_problem(r, 400, "request.invalid")["errors"][0]["key"] == field
    schema = (await client.get("/schema/openapi.json")).json()
    create = schema["components"]["schemas"]["CaseCreate"]["properties"]
    assert create["description"]["maxLength"] == 2000 and create["title"]["maxLength"] == 200


async def test_msgpack_push_with_nul_text_is_rejected_per_operation(client: Client) -> None:
    """MessagePack bodies are not scanned at the door: the typed arguments refuse NUL."""
    who = await headers(client, "a640502100002")
    cid = await register_device(client, who)
    body = case_payload(title="nul\x00title")
    case_id = body.pop("id")
    fine = case_payload()
    fine_id = fine.pop("id")
    deferral = {"code": "marriage-certificate", "state": "deferred", "commitment": "承诺\x00", "due": "2999-01-01"}
    batch = {"client_id": cid, "ops": [
        sync_op(cid, 1, case_id, "create", **body),
        sync_op(cid, 2, fine_id, "create", **fine),
        sync_op(cid, 3, fine_id, "escalate", reason="x\x00y"),
        sync_op(cid, 4, fine_id, "edit", materials=[deferral]),
    ]}  # fmt: skip
    mp = {"content-type": "application/msgpack", "accept": "application/msgpack"}
    r = await client.post("/api/v1/sync/push", content=msgspec.msgpack.encode(batch), headers=who | mp)
    assert r.status_code == 200, r.text
    results = msgspec.msgpack.decode(r.content)["results"]
    assert [x["result"] for x in results] == ["rejected", "applied", "rejected", "rejected"], results
