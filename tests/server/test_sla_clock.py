"""Time under control: the app and its in-process jobs read an injected clock.

A case taken on the Friday before 清明 (4–6 April 2026) is due by the holiday calendar,
a pause for the applicant gives its days back, and the sweep warns, escalates and flags
accordingly — once each.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import msgspec
from factories import case_payload, headers
from jobkit import Clock, in_app, read
from litestar.testing import AsyncTestClient

from hierarchy.calendar import TZ
from server.app import create_app
from server.jobs.queue import InProcessQueue
from server.jobs.worker import SCHEDULE
from server.settings import Settings
from server.tables import Case, CaseEvent, Notification

VILLAGE = "640502100002"  # 向阳巷居委会: closed at weekends
TOWN = "640502100"
FRIDAY = datetime(2026, 4, 3, 10, 0, tzinfo=TZ)  # the working day before 清明
ITEM_DAYS = 5  # N01-newborn-birth


def at(day: str, hour: int = 10) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00").replace(tzinfo=TZ)


def due(case: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(case["due_at"])).astimezone(TZ)


async def sweep(client: AsyncTestClient) -> dict[str, int]:  # type: ignore[type-arg]
    """Enqueue the sweep as the web tier would; in-process, it runs at once."""
    jobs = client.app.state.jobs
    await in_app(client, lambda: jobs.enqueue("sla_sweep"))
    result: dict[str, int] = jobs.results["sla_sweep"]
    return result


async def test_holiday_due_time_pause_and_sweep(settings: Settings) -> None:
    clock = Clock(FRIDAY)
    app = create_app(settings, clock)
    async with AsyncTestClient(app=app) as client:
        villager = await headers(client, f"a{VILLAGE}")
        r = await client.post("/api/v1/cases", json=case_payload(), headers=villager)
        case = r.json()
        # Five working days after Friday 3 April: 7, 8, 9, 10 and — after the weekend —
        # Monday 13 April. Counting Monday to Friday alone would say Thursday the 9th,
        # and forgetting the holiday Friday the 10th.
        assert due(case) == at("2026-04-13", 18)
        paused = (await client.post("/api/v1/cases", json=case_payload(), headers=villager)).json()
        assert due(paused) == due(case)

        # The second case waits for the applicant from Tuesday to Thursday afternoon.
        clock.at = at("2026-04-07")
        r = await client.post(f"/api/v1/cases/{paused['id']}/wait", json={"reason": "等申请人补材料"}, headers=villager)
        assert r.status_code == 200
        clock.at = at("2026-04-09", 15)
        r = await client.post(f"/api/v1/cases/{paused['id']}/resume", headers=villager)
        resumed = r.json()
        # Wednesday and Thursday come back: due two working days later.
        assert due(resumed) == at("2026-04-15", 18)

        # Monday the 13th, the last day of the first case: one working day left → a
        # warning, once, however often the sweep runs.
        clock.at = at("2026-04-13", 9)
        first = await sweep(client)
        assert first["warned"] == 1
        assert (await sweep(client))["warned"] == 0
        warnings = await read(
            client, Notification.select(Notification.case_id).where(Notification.kind == "sla.warning")
        )
        assert [str(w["case_id"]) for w in warnings] == [case["id"]]

        # Tuesday the 14th: the first case is overdue and goes up; the paused one is not
        # overdue (its pause was credited) but is down to its last working day.
        clock.at = at("2026-04-14")
        result = await sweep(client)
        assert (result["overdue"], result["warned"]) == (1, 1)
        assert (await sweep(client))["overdue"] == 0
        rows = {
            str(r["id"]): r
            for r in await read(
                client, Case.select(Case.id, Case.owner_unit, Case.status, Case.flags).output(load_json=True)
            )
        }
        assert rows[case["id"]]["owner_unit"] == TOWN and rows[case["id"]]["status"] == "queued"
        assert rows[paused["id"]]["owner_unit"] == VILLAGE
        overdue = await read(client, CaseEvent.select(CaseEvent.case_id).where(CaseEvent.reason == "sla.overdue"))
        assert [str(e["case_id"]) for e in overdue] == [case["id"]]

        # Thursday the 16th: the paused case's own due time has passed too.
        clock.at = at("2026-04-16")
        result = await sweep(client)
        assert result["overdue"] == 1
        overdue = await read(client, CaseEvent.select(CaseEvent.case_id).where(CaseEvent.reason == "sla.overdue"))
        assert sorted(str(e["case_id"]) for e in overdue) == sorted([case["id"], paused["id"]])


async def test_waiting_case_is_flagged_not_moved_once_its_pause_is_used(settings: Settings) -> None:
    clock = Clock(FRIDAY)
    app = create_app(settings, clock)
    async with AsyncTestClient(app=app) as client:
        villager = await headers(client, f"a{VILLAGE}")
        case = (await client.post("/api/v1/cases", json=case_payload(), headers=villager)).json()
        clock.at = at("2026-04-08")
        r = await client.post(f"/api/v1/cases/{case['id']}/wait", json={"reason": "等申请人"}, headers=villager)
        assert r.status_code == 200
        # Paused while the clock is stopped: not overdue on the original due date.
        clock.at = at("2026-04-14")
        assert (await sweep(client))["flagged"] == 0
        # Five working days of pause are the most a case gets: 13 April + 5 = 20 April.
        clock.at = at("2026-04-21")
        assert (await sweep(client))["flagged"] == 1
        assert (await sweep(client))["flagged"] == 0
        row = await read(
            client,
            Case.select(Case.status, Case.owner_unit, Case.flags)
            .where(Case.id == case["id"])
            .output(load_json=True)
            .first(),
        )
        assert row["status"] == "waiting_applicant" and row["owner_unit"] == VILLAGE
        assert row["flags"]["sla"]["overdue"].startswith("2026-04-20T10:00")  # 18:00 Beijing
        told = await read(client, Notification.select(Notification.kind).where(Notification.case_id == case["id"]))
        assert [n["kind"] for n in told] == ["sla.overdue"]


async def test_overdue_deferral_is_flagged_once_a_day(settings: Settings) -> None:
    clock = Clock(FRIDAY)
    app = create_app(settings, clock)
    async with AsyncTestClient(app=app) as client:
        villager = await headers(client, f"a{VILLAGE}")
        case = (await client.post("/api/v1/cases", json=case_payload(), headers=villager)).json()
        deferral = {
            "code": "marriage-certificate",
            "state": "deferred",
            "commitment": "承诺三日内补交",
            "due": "2026-04-08",
        }
        r = await client.post(f"/api/v1/cases/{case['id']}/update", json={"materials": [deferral]}, headers=villager)
        assert r.status_code == 200, r.text
        clock.at = at("2026-04-08", 17)
        assert (await sweep(client))["deferrals"] == 0  # due today: not late yet
        clock.at = at("2026-04-09", 8)
        assert (await sweep(client))["deferrals"] == 1
        clock.at = at("2026-04-09", 9)
        assert (await sweep(client))["deferrals"] == 0
        row = await read(client, Case.select(Case.flags).where(Case.id == case["id"]).output(load_json=True).first())
        assert row["flags"]["sla"]["deferrals"] == {"marriage-certificate": "2026-04-08"}
        told = await read(
            client,
            Notification.select(Notification.kind, Notification.message).where(Notification.case_id == case["id"]),
        )
        assert [n["kind"] for n in told] == ["deferral.overdue"] and "父母结婚证" in told[0]["message"]


async def test_serve_without_redis_runs_the_timetable_in_process(settings: Settings) -> None:
    embedded = msgspec.structs.replace(settings, embedded_jobs=True)
    app = create_app(embedded)
    async with AsyncTestClient(app=app):
        jobs = app.state.jobs
        assert isinstance(jobs, InProcessQueue)
        # The worker's own timetable, whole: the sweep and the report first, then the rest.
        assert [s.name for s in jobs.schedule] == [s.name for s in SCHEDULE]
        assert [s.name for s in SCHEDULE[:2]] == ["sla_sweep", "daily_report"]
        assert jobs._task is not None and not jobs._task.done()
    assert jobs._task is None
    # The arq cron fields, read in Beijing time: every minute, and 07:00 for the report.
    sweep_next, report_next = (s.next_after(at("2026-04-03", 7) + timedelta(seconds=5)) for s in SCHEDULE[:2])
    assert sweep_next.replace(microsecond=0) == at("2026-04-03", 7) + timedelta(minutes=1)
    assert report_next.replace(microsecond=0) == at("2026-04-04", 7)


async def test_daily_report_job_tells_the_dispatchers(settings: Settings) -> None:
    clock = Clock(FRIDAY)
    app = create_app(settings, clock)
    async with AsyncTestClient(app=app) as client:
        villager = await headers(client, f"a{VILLAGE}")
        for _ in range(2):
            assert (await client.post("/api/v1/cases", json=case_payload(), headers=villager)).status_code == 201
        clock.at = at("2026-04-04", 7)  # the next morning's run reports Friday
        jobs = client.app.state.jobs
        await in_app(client, lambda: jobs.enqueue("daily_report"))
        report = jobs.results["daily_report"]
        assert (report["period_from"], report["rows"][0]["unit"], report["rows"][0]["cases"]) == (
            "2026-04-03",
            "640500",
            2,
        )
        told = await read(client, Notification.select(Notification.kind, Notification.message))
        assert [n["kind"] for n in told] == ["report.daily"] and "受理 2 件" in told[0]["message"]
