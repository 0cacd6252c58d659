"""One reading of "overdue": a case waiting for the applicant, read four ways.

A case taken on Friday 3 April 2026 is due on Monday 13 April at 18:00 (stored). It
waits for the applicant from Tuesday the 7th. On Tuesday the 14th its stored due time has
passed, but the pause in progress is credited (up to five working days), so it is not
overdue — the case API, the list filter, the workload, the SLA sweep and the report all
say so. A week later the pause allowance is used up and all of them say it is overdue.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from factories import Client, case_payload, headers
from jobkit import Clock, in_app, put_cases
from litestar.testing import AsyncTestClient

from hierarchy.calendar import TZ
from server.app import create_app
from server.settings import Settings

VILLAGE = "640502100002"
TOWN = "640502100"
FRIDAY = datetime(2026, 4, 3, 10, 0, tzinfo=TZ)
WAITING_FROM = datetime(2026, 4, 7, 10, 0, tzinfo=TZ)
PAST_STORED_DUE = datetime(2026, 4, 14, 10, 0, tzinfo=TZ)
PAST_PAUSE_CAP = datetime(2026, 4, 21, 10, 0, tzinfo=TZ)


async def four_readings(client: Client, case_id: str, lead: dict[str, str]) -> dict[str, Any]:
    """What the case API, the list filter, the workload, the sweep and the report say."""
    case = (await client.get(f"/api/v1/cases/{case_id}", headers=lead)).json()
    listed = {
        flag: [
            c["id"] for c in (await client.get("/api/v1/cases", params={"overdue": flag}, headers=lead)).json()["cases"]
        ]
        for flag in ("true", "false")
    }
    load = (await client.get("/api/v1/workload", params={"unit": TOWN}, headers=lead)).json()
    jobs = client.app.state.jobs
    await in_app(client, lambda: jobs.enqueue("sla_sweep"))
    swept = jobs.results["sla_sweep"]
    day = str(FRIDAY.date())
    report = (
        await client.get("/api/v1/reports/summary", params={"unit": TOWN, "from": day, "to": day}, headers=lead)
    ).json()
    return {
        "api": case["overdue"],
        "list": (case_id in listed["true"], case_id in listed["false"]),
        "workload": (load["units"][0]["overdue"], [b["id"] for b in load["breached"]]),
        "sweep": swept["flagged"] + swept["overdue"],
        "report": report["rows"][0]["overdue_open"],
    }


async def test_a_paused_case_is_overdue_alike_everywhere(settings: Settings) -> None:
    clock = Clock(FRIDAY)
    async with AsyncTestClient(app=create_app(settings, clock)) as client:
        villager = await headers(client, f"a{VILLAGE}")
        lead = await headers(client, "lead640502")
        case = (await client.post("/api/v1/cases", json=case_payload(), headers=villager)).json()
        assert case["due_at"].startswith("2026-04-13T")
        clock.at = WAITING_FROM
        r = await client.post(f"/api/v1/cases/{case['id']}/wait", json={"reason": "等申请人补材料"}, headers=villager)
        assert r.status_code == 200, r.text

        clock.at = PAST_STORED_DUE
        stored = (await client.get(f"/api/v1/cases/{case['id']}", headers=lead)).json()
        assert datetime.fromisoformat(stored["due_at"]) < clock.at  # the stored due time has passed
        assert await four_readings(client, case["id"], lead) == {
            "api": False,
            "list": (False, True),
            "workload": (0, []),
            "sweep": 0,
            "report": 0,
        }

        clock.at = PAST_PAUSE_CAP
        assert await four_readings(client, case["id"], lead) == {
            "api": True,
            "list": (True, False),
            "workload": (1, [case["id"]]),
            "sweep": 1,
            "report": 1,
        }


async def test_a_steady_sweep_reads_no_handled_breach(settings: Settings) -> None:
    """Once the sweep has acted on late cases, the next run selects none of them again."""
    now = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
    async with AsyncTestClient(app=create_app(settings, Clock(now))) as client:
        late = [{"owner": "640502100", "status": "in_progress", "assignee": "a640502100", "item": "N01-newborn-birth"}]
        await in_app(client, lambda: put_cases(late * 3, now - timedelta(days=30)))
        jobs = client.app.state.jobs
        await in_app(client, lambda: jobs.enqueue("sla_sweep"))
        first = jobs.results["sla_sweep"]
        await in_app(client, lambda: jobs.enqueue("sla_sweep"))
        again = jobs.results["sla_sweep"]
        assert first["overdue"] == 3 and first["scanned"] >= 3
        assert again["scanned"] == 0 and again["overdue"] == 0
