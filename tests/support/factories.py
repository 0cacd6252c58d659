"""Builders for test data: sign-ins and valid case payloads."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient

from hierarchy.validation import make_credit_code, make_resident_id
from sync.client import SyncClient
from sync.replica import Replica
from sync.transport import Transport

Client = AsyncTestClient[Litestar]
_serial = itertools.count(1)
ITEM = "N01-newborn-birth"
#: The test client's base URL.
IN_PROCESS = "http://testserver.local"


def resident_id(n: int | None = None) -> str:
    n = next(_serial) if n is None else n
    return make_resident_id(f"64050219800101{n % 1000:03d}")


def credit_code(n: int | None = None) -> str:
    n = next(_serial) if n is None else n
    return make_credit_code(f"91640500MA7{n % 1000000:06d}")


def case_payload(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "kind": "service",
        "item_code": ITEM,
        "title": "新生儿出生一件事",
        "applicant": {"type": "person", "name": "马玉兰", "resident_id": resident_id(), "phone": "13895512345"},
        "groups": [],
        "service_mode": "assist",
    }
    body.update(over)
    return body


async def token(client: Client, username: str, password: str = "demo") -> str:
    r = await client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 201 or r.status_code == 200, r.text
    return str(r.json()["access_token"])


async def headers(client: Client, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {await token(client, username)}"}


def sync_op(client_id: str, seq: int, case_id: str, op_kind: str, **args: Any) -> dict[str, Any]:
    """One push operation as a device sends it."""
    return {
        "op_id": str(uuid.uuid4()),
        "client_id": client_id,
        "seq": seq,
        "case_id": case_id,
        "kind": op_kind,
        "args": args,
        "hlc": f"{1_780_000_000_000 + seq:013d}:000000:{client_id[:8]}",
    }


async def register_device(client: Client, who: dict[str, str]) -> str:
    r = await client.post("/api/v1/devices", json={"name": "村级平板"}, headers=who)
    assert r.status_code == 201, r.text
    return str(r.json()["client_id"])


def all_provided(case: dict[str, Any]) -> dict[str, Any]:
    """An update body marking every material of ``case`` provided (a resolve needs it)."""
    return {"materials": [{"code": m["code"], "state": "provided"} for m in case["materials"]]}


async def provide_all(client: Client, who: dict[str, str], case_id: str) -> dict[str, Any]:
    """Mark every material of a case provided, as the agent who holds it."""
    case = (await client.get(f"/api/v1/cases/{case_id}", headers=who)).json()
    r = await client.post(f"/api/v1/cases/{case_id}/update", json=all_provided(case), headers=who)
    assert r.status_code == 200, r.text
    return dict(r.json())


Status = int | tuple[int, ...]


def assert_problem(r: httpx.Response, status: Status, code: str | None = None, why: object = "") -> dict[str, Any]:
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, (why, r.status_code, r.text)
    assert r.headers["content-type"].startswith("application/problem+json"), (why, r.headers["content-type"])
    body = r.json()
    assert body["status"] == r.status_code, (why, body)
    assert isinstance(body["code"], str) and body["code"], (why, body)
    if code is not None:
        assert body["code"] == code, (why, body)
    return dict(body)


async def in_process_device(client: Client, replica: Path, user: str) -> SyncClient:
    """A device whose HTTP client is the test client: its requests reach the app in-process.

    One attempt per call, so a 5xx surfaces at once instead of being retried.
    """
    device = SyncClient(Replica(replica), Transport(IN_PROCESS, client=client, attempts=1))
    await device.init(IN_PROCESS, user, "demo", "村部平板")
    return device
