"""Request log, sync push log and metrics, and no personal data in any log line."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from factories import Client, all_provided, case_payload, headers, resident_id

from server import logs
from server.settings import Settings

VILLAGE = "640502100002"
TOWN = "640502100"


class Lines(logging.Handler):
    """Every record rendered exactly as production writes it (the JSON formatter)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logs.formatter(msgspec.structs.replace(settings, log_format="json")))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def events(self, name: str) -> list[dict[str, Any]]:
        found = [json.loads(line) for line in self.lines]
        return [e for e in found if e.get("event") == name]


@pytest.fixture
def lines(client: Client, settings: Settings) -> Iterator[Lines]:
    """Installed after the app (its logging plugin configures the root logger)."""
    handler = Lines(settings)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value from the exposition text (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        metric, _, value = line.rpartition(" ")
        m = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?", metric)
        if m and m.group(1) == name:
            got = ",".join(sorted((m.group(2) or "").split(","))) if m.group(2) else ""
            if got == wanted:
                return float(value)
    return 0.0


def op(client_id: str, seq: int, case_id: str, op_kind: str, **args: Any) -> dict[str, Any]:
    hlc = f"{1_780_000_000_000 + seq:013d}:000000:{client_id[:8]}"
    return {"op_id": str(uuid.uuid4()), "client_id": client_id, "seq": seq, "case_id": case_id, "kind": op_kind,
            "args": args, "hlc": hlc}  # fmt: skip


async def test_push_leaves_a_request_line_a_push_line_and_metrics(client: Client, lines: Lines) -> None:
    before = (await client.get("/metrics")).text
    who = await headers(client, f"a{VILLAGE}")
    cid = (await client.post("/api/v1/devices", json={"name": "平板"}, headers=who)).json()["client_id"]
    body = case_payload()
    case_id = body.pop("id")
    batch = {"client_id": cid, "ops": [
        op(cid, 1, case_id, "create", **body),
        op(cid, 2, str(uuid.uuid4()), "claim"),  # no such case: rejected
    ]}  # fmt: skip
    r = await client.post("/api/v1/sync/push", json=batch, headers=who, params={"x": "1"})
    assert r.status_code == 200, r.text
    request_id = r.headers["x-request-id"]
    again = await client.post("/api/v1/sync/push", json=batch, headers={**who, "X-Request-ID": "proxy-given-id-42"})
    assert again.headers["x-request-id"] == "proxy-given-id-42"

    [push, replay] = lines.events("sync.push")
    assert push["request_id"] == request_id and replay["request_id"] == "proxy-given-id-42"
    assert (push["applied"], push["duplicate"], push["rejected"], push["codes"]) == (1, 0, 1, ["case.not_found"])
    assert (replay["applied"], replay["duplicate"], replay["rejected"]) == (0, 2, 0)
    line = next(e for e in lines.events("http.request") if e["request_id"] == request_id)
    assert line["route"] == "/api/v1/sync/push" and line["method"] == "POST" and line["status"] == 200
    assert isinstance(line["agent"], int) and line["unit"] == VILLAGE and line["ms"] > 0
    assert line["level"] == "info" and "timestamp" in line

    after = (await client.get("/metrics")).text
    assert sample(after, "daiban_sync_operations_total", outcome="applied") - sample(
        before, "daiban_sync_operations_total", outcome="applied") == 1  # fmt: skip
    for outcome, n in (("duplicate", 2), ("rejected", 1)):
        assert sample(after, "daiban_sync_operations_total", outcome=outcome) - sample(
            before, "daiban_sync_operations_total", outcome=outcome) == n  # fmt: skip
    assert sample(after, "daiban_sync_rejections_total", code="case.not_found") - sample(
        before, "daiban_sync_rejections_total", code="case.not_found") == 1  # fmt: skip
    route = {"method": "POST", "route": "/api/v1/sync/push", "status": "200"}
    requests = "daiban_http_requests_total"
    assert sample(after, requests, **route) - sample(before, requests, **route) == 2
    assert sample(after, "daiban_http_request_duration_seconds_count", method="POST", route="/api/v1/sync/push") >= 2

    pull = await client.get("/api/v1/sync/pull", params={"client_id": cid, "cursor": 0}, headers=who)
    assert pull.status_code == 200
    scraped = (await client.get("/metrics")).text
    assert sample(scraped, "daiban_sync_pull_lag_changes_count") > sample(after, "daiban_sync_pull_lag_changes_count")


async def test_refused_requests_are_logged_with_their_status(client: Client, lines: Lines) -> None:
    r = await client.get("/api/v1/cases", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    [line] = [e for e in lines.events("http.request") if e["route"] == "/api/v1/cases"]
    assert line["status"] == 401 and "agent" not in line and line["request_id"]
    await client.get("/health")
    assert not [e for e in lines.events("http.request") if e["route"] == "/health"], "probes stay out of the log"


async def test_a_full_case_walk_logs_no_resident_id_phone_or_name(client: Client, lines: Lines) -> None:
    rid, phone, name = resident_id(), "13912345678", "马玉兰"
    villager = await headers(client, f"a{VILLAGE}")
    town = await headers(client, f"a{TOWN}")
    applicant = {"type": "person", "name": name, "resident_id": rid, "phone": phone}
    r = await client.post("/api/v1/cases", json=case_payload(applicant=applicant), headers=villager)
    assert r.status_code == 201, r.text
    case_id = r.json()["id"]
    for who, action, body in (
        (villager, "escalate", {"reason": "需镇里办理"}),
        (town, "claim", {}),
        (town, "update", all_provided(r.json())),
        (town, "resolve", {"note": "已办结"}),
        (villager, "confirm", {"rating": 5, "comment": "很好"}),
    ):
        r = await client.post(f"/api/v1/cases/{case_id}/{action}", json=body, headers=who)
        assert r.status_code == 200, (action, r.text)
    assert (await client.get(f"/api/v1/cases/{case_id}", headers=town)).status_code == 200
    assert (await client.get(f"/api/v1/cases/{case_id}/history", headers=villager)).status_code == 200
    assert (await client.get("/api/v1/cases", params={"q": name}, headers=villager)).status_code == 200
    # Bad input echoes nothing into the log either: a wrong check digit, a malformed phone.
    bad = {**applicant, "resident_id": rid[:-1] + ("0" if rid[-1] != "0" else "1")}
    assert (await client.post("/api/v1/cases", json=case_payload(applicant=bad), headers=villager)).status_code == 422
    # The same applicant again, through a device's push.
    cid = (await client.post("/api/v1/devices", json={}, headers=villager)).json()["client_id"]
    body = case_payload(applicant=applicant)
    pushed_id = str(body.pop("id"))
    batch = {"client_id": cid, "ops": [op(cid, 1, pushed_id, "create", **body)]}
    assert (await client.post("/api/v1/sync/push", json=batch, headers=villager)).status_code == 200
    assert (await client.get("/api/v1/sync/pull", params={"client_id": cid}, headers=villager)).status_code == 200

    assert len(lines.events("http.request")) >= 12
    leaks = [line for line in lines.lines if rid in line or phone in line or name in line or rid[-8:] in line]
    assert leaks == []


def test_redaction_masks_what_slips_through(settings: Settings) -> None:
    handler = Lines(settings)
    record = logging.LogRecord("daiban.x", logging.INFO, __file__, 1, "resident %s phone %s", None, None)
    record.args = ("11010519491231002X", "13895512345")
    handler.emit(record)
    [line] = handler.lines
    assert "11010519491231002X" not in line and "13895512345" not in line
    assert "110105********002X" in line and "138****2345" in line


async def test_throttled_sign_ins_are_counted(client: Client) -> None:
    def hits(text: str) -> float:
        return sum(sample(text, "daiban_throttle_hits_total", limit=k) for k in ("account", "username", "address"))

    before = hits((await client.get("/metrics")).text)
    statuses = [
        (await client.post("/api/v1/auth/token", json={"username": "dispatcher", "password": "wrong"})).status_code
        for _ in range(7)
    ]
    assert statuses.count(429) >= 1
    assert hits((await client.get("/metrics")).text) - before == statuses.count(429)


async def test_a_job_logs_its_work_and_stays_quiet_when_idle(settings: Settings) -> None:
    from server.jobs.observed import observed

    async def sla_sweep(ctx: dict[str, Any], found: int) -> dict[str, int]:
        return {"scanned": 40, "overdue": found}

    async def broken(ctx: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    logs.configure(settings)  # as the worker does when it starts
    handler = Lines(settings)
    log = logging.getLogger("daiban.jobs")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        await observed(sla_sweep)({}, 0)  # nothing due: nothing at info level
        assert handler.lines == []
        await observed(sla_sweep)({}, 2)
        with pytest.raises(RuntimeError):
            await observed(broken)({})
    finally:
        log.removeHandler(handler)
        log.setLevel(logging.NOTSET)
    [done] = handler.events("job.done")
    assert (done["job"], done["outcome"], done["overdue"], done["scanned"]) == ("sla_sweep", "ok", 2, 40)
    assert done["ms"] >= 0
    [failed] = handler.events("job.failed")
    assert (failed["job"], failed["error"], failed["level"]) == ("broken", "RuntimeError", "error")


async def test_open_cases_and_breaches_per_county(settings: Settings) -> None:
    from litestar.testing import AsyncTestClient

    from server import db
    from server.app import create_app
    from server.jobs.gauges import case_gauges
    from server.metrics import scrape

    async with AsyncTestClient(app=create_app(settings)) as client:
        villager = await headers(client, f"a{VILLAGE}")
        for _ in range(3):
            r = await client.post("/api/v1/cases", json=case_payload(), headers=villager)
            assert r.status_code == 201, r.text
    engine = db.connect(settings)  # the job's own engine, as a worker has
    await db.start(engine)
    try:
        await case_gauges({})
        now = scrape().decode()
        later = datetime.now(UTC) + timedelta(days=60)  # every one of them past due by then
        await case_gauges({"clock": lambda: later})
        then = scrape().decode()
    finally:
        await db.stop(engine)
    assert sample(now, "daiban_open_cases", county="640502") == 3
    assert sample(now, "daiban_breached_cases", county="640502") == 0
    assert sample(then, "daiban_breached_cases", county="640502") == 3
