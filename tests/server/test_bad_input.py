"""Bad input never reaches a 500: every answer is a 4xx problem document with a code.

Each test walks a table of bad requests against one database, so both engines see every
row without paying a fresh database and sign-in per row.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

from factories import Client, assert_problem, case_payload, credit_code, headers, resident_id

from server.settings import Settings

VILLAGE = "640502100002"
CASES = "/api/v1/cases"
ZERO = "00000000-0000-0000-0000-000000000000"
Status = int | tuple[int, ...]


def wrong_check_char(value: str, alphabet: str) -> str:
    return value[:-1] + next(c for c in alphabet if c != value[-1])


def raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def person(**over: Any) -> dict[str, Any]:
    return {"type": "person", "name": "马玉兰", "resident_id": resident_id(), "phone": "13895512345"} | over


def firm(**over: Any) -> dict[str, Any]:
    return {"type": "firm", "name": "中卫市沙坡头枸杞有限公司", "credit_code": credit_code()} | over


async def new_case(client: Client, who: dict[str, str], **over: Any) -> dict[str, Any]:
    r = await client.post(CASES, json=case_payload(**over), headers=who)
    assert r.status_code == 201, r.text
    return dict(r.json())


# --- create ---------------------------------------------------------------------------------

#: name: (payload overrides, status, code or None, field or None)
BAD_CREATES: dict[str, tuple[dict[str, Any], Status, str | None, str | None]] = {
    "resident_id_check_digit": (
        {"applicant": person(resident_id=wrong_check_char(resident_id(7), "0123456789X"))},
        422, "applicant.resident_id_invalid", "applicant.resident_id",
    ),
    "resident_id_missing": ({"applicant": person(resident_id=None)}, 422, "applicant.resident_id_required", None),
    "credit_code_check_char": (
        {
            "item_code": "N06-enterprise-info-change",
            "applicant": firm(credit_code=wrong_check_char(credit_code(7), "0123456789ABCDEFGHJKLMNPQRTUWXY")),
        },
        422, "applicant.credit_code_invalid", "applicant.credit_code",
    ),
    "phone": ({"applicant": person(phone="12345")}, 422, "applicant.phone_invalid", "applicant.phone"),
    "unknown_item": ({"item_code": "no-such-item"}, 422, "item.unknown", "item_code"),
    "project_issue_without_project": ({"kind": "project_issue"}, 422, "case.project_required", "project"),
    # Text the database cannot store (PostgreSQL: varchar(200), no NUL in text).
    # Lengths are declared on the wire types (and in OpenAPI); control characters are
    # refused before any decoding.
    "title_too_long": ({"title": "长" * 500}, 400, "request.invalid", None),
    "description_too_long": ({"description": "长" * 2001}, 400, "request.invalid", None),
    "name_too_long": ({"applicant": person(name="马" * 201)}, 400, "request.invalid", None),
    "project_too_long": ({"project": {"name": "项" * 201}}, 400, "request.invalid", None),
    "title_nul": ({"title": "nul\x00byte"}, 400, "request.invalid_characters", None),
    "description_nul": ({"description": "nul\x00byte"}, 400, "request.invalid_characters", None),
    "name_nul": ({"applicant": person(name="马\x00玉兰")}, 400, "request.invalid_characters", None),
    "name_bell": ({"applicant": person(name="马\x07玉兰")}, 400, "request.invalid_characters", None),
    # Bodies that do not fit the schema.
    "kind": ({"kind": "no-such-kind"}, (400, 422), None, None),
    "mode": ({"service_mode": "teleport"}, (400, 422), None, None),
    "group": ({"groups": ["astronaut"]}, (400, 422), None, None),
    "id": ({"id": "not-a-uuid"}, (400, 422), None, None),
    "applicant_type": ({"applicant": {"type": "robot", "name": "x"}}, (400, 422), None, None),
    "unknown_field": ({"surprise": True}, (400, 422), None, None),
    "unknown_nested_field": ({"applicant": person(shoe_size=42)}, (400, 422), None, None),
    "title_type": ({"title": 12}, (400, 422), None, None),
}  # fmt: skip


async def test_bad_creates(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    for name, (over, status, code, field) in BAD_CREATES.items():
        r = await client.post(CASES, json=case_payload(**over), headers=villager)
        body = assert_problem(r, status, code, why=name)
        if field is not None:
            assert body["field"] == field, (name, body)
    assert (await client.get(CASES, headers=villager)).json()["cases"] == []


async def test_bodies_that_cannot_be_read(client: Client, settings: Settings) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    as_json = villager | {"content-type": "application/json"}
    r = await client.post(CASES, content=b'{"id": "x", ', headers=as_json)
    assert_problem(r, 400, "request.malformed_json")
    r = await client.post(CASES, content=b"\xff\xfe not json", headers=as_json)
    assert_problem(r, 400, "request.malformed_json")
    r = await client.post(CASES, json=[1, 2, 3], headers=villager)
    assert_problem(r, (400, 422))
    body = case_payload(description="x" * (settings.max_body_bytes + 1))
    assert_problem(await client.post(CASES, json=body, headers=villager), 413, "request.too_large")
    assert_problem(await client.post(CASES, json=case_payload()), 401, "auth.required")
    r = await client.get(CASES, headers={"Authorization": "Bearer nonsense"})
    assert_problem(r, 401, "auth.token_invalid")


# --- actions ----------------------------------------------------------------------------------


async def test_unknown_targets_name_the_field(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    case = await new_case(client, villager)
    r = await client.post(f"{CASES}/{case['id']}/escalate", json={"reason": "镇里办"}, headers=villager)
    assert r.status_code == 200, r.text
    county = await headers(client, "a640502")
    r = await client.post(f"{CASES}/{case['id']}/dispatch", json={"unit": "999999"}, headers=county)
    assert assert_problem(r, 422, "unit.unknown")["field"] == "unit"
    r = await client.post(f"{CASES}/{case['id']}/dispatch", json={"reason": "x"}, headers=county)
    assert assert_problem(r, 422, "case.unit_required")["field"] == "unit"
    r = await client.post(f"{CASES}/{case['id']}/handover", json={"agent": "nobody", "note": "x"}, headers=villager)
    assert assert_problem(r, 422, "agent.unknown")["field"] == "agent"


async def test_illegal_transition_and_stale_version(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    cid = (await new_case(client, villager))["id"]
    r = await client.post(f"{CASES}/{cid}/confirm", json={"rating": 5}, headers=villager)
    body = assert_problem(r, 409, "case.illegal_transition")
    assert body["case_status"] == "in_progress" and body["action"] == "confirm"
    assert_problem(await client.post(f"{CASES}/{cid}/resume", headers=villager), 409, "case.illegal_transition")
    assert_problem(await client.post(f"{CASES}/{cid}/claim", headers=villager), 409, "case.already_claimed")
    r = await client.post(f"{CASES}/{cid}/escalate", json={"reason": "x", "expected_version": 7}, headers=villager)
    assert assert_problem(r, 409, "case.version_conflict")["actual"] == 1
    r = await client.post(f"{CASES}/{cid}/escalate", json={"reason": "x", "expected_version": 1}, headers=villager)
    assert r.status_code == 200 and r.json()["version"] == 2
    r = await client.post(f"{CASES}/{cid}/release", json={"expected_version": 1}, headers=villager)
    assert_problem(r, 409, "case.version_conflict")
    # Nothing above left a trace but the one escalation.
    hist = (await client.get(f"{CASES}/{cid}/history", headers=villager)).json()
    assert [e["action"] for e in hist] == ["create", "escalate"]


DEFERRAL = {"code": "marriage-certificate", "state": "deferred", "commitment": "承诺", "due": "2999-01-01"}

#: (action, body, status); every one is refused and leaves the case at version 1.
BAD_ACTIONS: list[tuple[str, Any, Status]] = [
    ("escalate", {}, 422),  # a reason is required
    ("escalate", {"reason": "   "}, 422),
    ("escalate", {"reason": "x" * 5000}, 400),
    ("escalate", {"reason": "nul\x00byte"}, 400),
    ("escalate", {"reason": "x", "colour": "red"}, (400, 422)),  # unknown field
    ("escalate", {"reason": 5}, (400, 422)),
    ("escalate", [1, 2], (400, 422)),
    ("extend", {"reason": "x", "days": 0}, 422),
    ("extend", {"reason": "x", "days": 99}, 422),
    ("extend", {"reason": "x", "days": "two"}, (400, 422)),
    ("update", {}, 422),
    ("update", {"title": "长" * 500}, 400),
    ("update", {"description": "nul\x00byte"}, 400),
    ("escalate", {"reason": "x", "expected_version": 2**31}, 400),
    ("extend", {"reason": "x", "days": 2**63}, 400),
    ("update", {"materials": [{"code": "nope", "state": "provided"}]}, 422),
    ("update", {"materials": [{"code": "parents-id-cards", "state": "lost"}]}, 422),
    ("update", {"materials": [{"code": "parents-id-cards", "state": "deferred"}]}, 422),  # not deferrable
    ("update", {"materials": [{"code": "marriage-certificate", "state": "deferred"}]}, 422),  # no due date
    ("update", {"materials": [DEFERRAL]}, 422),  # due after the case
    ("update", {"materials": [DEFERRAL | {"due": "2026-12-01", "commitment": ""}]}, 422),
    ("update", {"materials": ["x"]}, (400, 422)),
    ("update", {"expected_version": "one", "title": "x"}, (400, 422)),
    ("confirm", {"rating": 9}, 409),  # the state is checked before the rating
    ("teleport", {}, (400, 404, 422)),  # no such action
]


async def test_bad_action_arguments(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    case = await new_case(client, villager)
    for action, body, status in BAD_ACTIONS:
        r = await client.post(f"{CASES}/{case['id']}/{action}", json=body, headers=villager)
        assert_problem(r, status, why=(action, body))
    after = (await client.get(f"{CASES}/{case['id']}", headers=villager)).json()
    assert after["version"] == 1


async def test_bad_paths(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    case = await new_case(client, villager)
    for path in (f"{CASES}/not-a-uuid", f"{CASES}/not-a-uuid/history", f"{CASES}/1234"):
        assert_problem(await client.get(path, headers=villager), (400, 404), why=path)
    assert_problem(await client.post(f"{CASES}/1234/claim", headers=villager), (400, 404))
    assert_problem(await client.post(f"{CASES}/{uuid.uuid4()}/claim", headers=villager), 404, "case.not_found")
    assert_problem(await client.get(f"{CASES}/{uuid.uuid4()}/history", headers=villager), 404, "case.not_found")
    assert_problem(await client.delete(f"{CASES}/{case['id']}", headers=villager), 405)


BAD_QUERIES: dict[str, dict[str, str]] = {
    "view": {"view": "everything"},
    "status": {"status": "lost"},
    "kind": {"kind": "rumour"},
    "overdue": {"overdue": "perhaps"},
    "limit0": {"limit": "0"},
    "limit_huge": {"limit": "100000"},
    "limit_text": {"limit": "ten"},
    "q_long": {"q": "x" * 500},
    "unit": {"unit": "999999"},
    "cursor_garbage": {"cursor": "not a cursor"},
    "cursor_empty_list": {"cursor": raw_cursor("[]")},
    "cursor_object": {"cursor": raw_cursor('{"a": 1}')},
    "cursor_four": {"cursor": raw_cursor(f'[1, "2026-01-01T00:00:00+00:00", "{ZERO}", 4]')},
    "cursor_inf_priority": {"cursor": raw_cursor(f'[1e400, "2026-01-01T00:00:00+00:00", "{ZERO}"]')},
    "cursor_huge_priority": {"cursor": raw_cursor(f'[99999999999999999999, "2026-01-01T00:00:00+00:00", "{ZERO}"]')},
    "cursor_naive_time": {"cursor": raw_cursor(f'[1, "2026-01-01", "{ZERO}"]')},
    "cursor_bad_uuid": {"cursor": raw_cursor('[1, "2026-01-01T00:00:00+00:00", "x"]')},
}


async def test_bad_list_queries(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    await new_case(client, villager)
    for name, params in BAD_QUERIES.items():
        assert_problem(await client.get(CASES, params=params, headers=villager), (400, 422), why=name)
    r = await client.get(CASES, params={"cursor": "not a cursor"}, headers=villager)
    assert assert_problem(r, 422, "request.cursor_invalid")["field"] == "cursor"
