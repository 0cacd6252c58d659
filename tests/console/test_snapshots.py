"""What the console looks like at 80×24: the queue, a case, the dashboard.

Deterministic: a fixed seed database, cases made at fixed times on a server whose clock
the test sets, and the console on the same fixed clock. ``--snapshot-update`` rewrites
the pictures after a deliberate change.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from console_kit import FIXED_NOW, TOWN, VILLAGE, Api, screen_text, serve, sign_in, wait_for
from live import free_port
from textual.pilot import Pilot

from console.app import DaibanConsole
from console.http_client import HttpDataClient
from console.replica_client import ReplicaDataClient
from console.screens.dashboard import DashboardScreen
from console.screens.detail import DetailScreen
from console.widgets.case_table import CaseTable
from server.settings import Settings

VILLAGER = f"a{VILLAGE}"
TOWN_AGENT = f"a{TOWN}"
SnapCompare = Callable[..., bool]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


#: Ninety characters: the detail header wraps it and keeps its badges; lists cut it with "…".
LONG_TITLE = (
    "新生儿出生一件事（容缺）：出生医学证明、户口登记、医保参保和社保卡申领一次办好，"
    "父母结婚证三日内补交，申请人已签署告知承诺书，村代办员全程帮办并上门送达办理结果，请镇里协调卫健和医保部门"
)[:90]
SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


def story(api: Api, clock: Clock) -> dict[str, str]:
    """Four cases in 滨河镇: overdue, due soon, a priority one, and one held with a 容缺 deferral."""
    ids: dict[str, str] = {}
    for name, days_ago, serial, extra in (
        ("late", 10, 1, {}),
        ("soon", 6, 2, {}),
        ("priority", 0, 3, {"groups": ["elderly"], "title": "高龄老人新生儿出生登记"}),
        ("held", 0, 4, {"title": LONG_TITLE}),
    ):
        clock.now = FIXED_NOW - timedelta(days=days_ago)
        case = api.create(VILLAGER, serial, **extra)
        ids[name] = case["id"]
        if name == "held":
            api.act(
                VILLAGER,
                case["id"],
                "update",
                materials=[
                    {"code": "birth-medical-certificate", "state": "provided"},
                    {"code": "parents-id-cards", "state": "provided"},
                    {"code": "household-register", "state": "provided"},
                    {
                        "code": "marriage-certificate",
                        "state": "deferred",
                        "commitment": "申请人承诺12月1日前补交结婚证",
                        "due": "2026-12-01",
                    },
                ],
            )
        api.act(VILLAGER, case["id"], "escalate", reason="需要镇里协调")
    clock.now = FIXED_NOW
    api.act(TOWN_AGENT, ids["held"], "claim")
    return ids


@pytest.fixture
def scene(db_settings: Settings) -> Iterator[tuple[str, dict[str, str]]]:
    clock = Clock(FIXED_NOW)
    with serve(db_settings, clock=clock) as url:
        api = Api(url)
        ids = story(api, clock)
        api.close()
        yield url, ids


def console_for(url: str) -> DaibanConsole:
    fixed = lambda: FIXED_NOW  # noqa: E731
    return DaibanConsole(HttpDataClient(url, clock=fixed), clock=fixed, status_every=3600, sync_every=3600)


def signed_in(username: str, then: Callable[[Pilot[Any]], Any] | None = None) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        await sign_in(pilot, username)
        if then is not None:
            await then(pilot)
        await pilot.pause(0.2)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_queue(snap_compare: SnapCompare, scene: tuple[str, dict[str, str]], size: tuple[int, int]) -> None:
    url, _ = scene
    assert snap_compare(console_for(url), terminal_size=size, run_before=signed_in(TOWN_AGENT))


@pytest.mark.parametrize("size", SIZES)
def test_case_detail(snap_compare: SnapCompare, scene: tuple[str, dict[str, str]], size: tuple[int, int]) -> None:
    url, ids = scene

    async def open_held(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await pilot.press("1")
        table = app.screen.query_one(CaseTable)
        await wait_for(pilot, lambda: [str(r.id) for r in table.rows_shown] == [ids["held"]])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.case is not None)

    assert snap_compare(console_for(url), terminal_size=size, run_before=signed_in(TOWN_AGENT, open_held))


@pytest.mark.parametrize("size", SIZES)
def test_dashboard(snap_compare: SnapCompare, scene: tuple[str, dict[str, str]], size: tuple[int, int]) -> None:
    url, _ = scene

    async def open_dashboard(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.workload is not None)

    assert snap_compare(console_for(url), terminal_size=size, run_before=signed_in("lead640502", open_dashboard))


async def device_with_a_conflict(url: str, path: Path) -> None:
    """A village device whose offline escalation the server refused (the case was
    cancelled meanwhile); times in the replica are set to the fixed clock."""
    api = Api(url)
    case = api.create(VILLAGER, 9)
    device = ReplicaDataClient.open(path, server=url, attempts=1, timeout=3)
    await device.sign_in(VILLAGER, "demo")
    await device.sync()
    device.sc.transport.base_url = f"http://127.0.0.1:{free_port()}"
    await device.act(case["id"], "escalate", reason="请镇里协调卫健部门")
    api.act(VILLAGER, case["id"], "cancel", reason="申请人撤回申请")
    api.close()
    device.sc.transport.base_url = url
    await device.sync()
    await device.close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE conflicts SET at = ?", (FIXED_NOW.isoformat(),))
        db.execute("UPDATE meta SET value = ? WHERE key = 'last_sync'", (FIXED_NOW.isoformat(),))


@pytest.mark.parametrize("size", SIZES)
def test_conflicts(
    snap_compare: SnapCompare, scene: tuple[str, dict[str, str]], size: tuple[int, int], tmp_path: Path
) -> None:
    url, _ = scene
    path = tmp_path / "village.sqlite"
    asyncio.run(device_with_a_conflict(url, path))
    # Offline from here on: nothing moves while the picture is taken.
    client = ReplicaDataClient.open(path, server=f"http://127.0.0.1:{free_port()}", attempts=1, timeout=1)
    client.sc.transport.base_url = client.server
    fixed = lambda: FIXED_NOW  # noqa: E731
    app = DaibanConsole(client, clock=fixed, status_every=3600, sync_every=3600)

    async def open_conflicts(pilot: Pilot[Any]) -> None:
        await pilot.press("f3")
        await wait_for(pilot, lambda: bool(getattr(pilot.app.screen, "conflicts", None)))
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=signed_in(VILLAGER, open_conflicts))


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_the_queue_reads_chinese_open_first_and_cut_with_an_ellipsis(
    scene: tuple[str, dict[str, str]], size: tuple[int, int]
) -> None:
    url, _ids = scene
    app = console_for(url)
    async with app.run_test(size=size) as pilot:
        await sign_in(pilot, TOWN_AGENT)
        table = app.screen.query_one(CaseTable)
        await wait_for(pilot, lambda: len(table.rows_shown) >= 3)
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "编号" in text and "来源" in text and "类型" in text and "标题" in text
        assert "服务" in text and "向阳巷" in text  # kind and origin (the village that escalated)
        assert all(r.status in ("queued", "in_progress", "waiting_applicant") for r in table.rows_shown)
        if size[0] == 80:
            assert "…" in text  # the long titles are cut, visibly
        assert "Ref" not in text and "queued" not in text
    await app.client.close()


async def test_no_color_keeps_the_sla_in_words(
    scene: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, _ = scene
    monkeypatch.setenv("NO_COLOR", "1")
    app = console_for(url)
    async with app.run_test() as pilot:
        await sign_in(pilot, TOWN_AGENT)
        assert app.no_color
        text = screen_text(app)
        assert "超期" in text and "临期1天" in text and "正常7天" in text
    await app.client.close()
