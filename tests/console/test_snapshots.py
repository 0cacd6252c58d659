"""What the console looks like at 80×24: the queue, a case, the dashboard.

Deterministic: a fixed seed database, cases made at fixed times on a server whose clock
the test sets, and the console on the same fixed clock. ``--snapshot-update`` rewrites
the pictures after a deliberate change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from console_kit import FIXED_NOW, TOWN, VILLAGE, Api, screen_text, serve, sign_in, wait_for
from textual.pilot import Pilot

from console.app import DaibanConsole
from console.http_client import HttpDataClient
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


def story(api: Api, clock: Clock) -> dict[str, str]:
    """Four cases in 滨河镇: overdue, due soon, a priority one, and one held with a 容缺 deferral."""
    ids: dict[str, str] = {}
    for name, days_ago, serial, extra in (
        ("late", 10, 1, {}),
        ("soon", 6, 2, {}),
        ("priority", 0, 3, {"groups": ["elderly"], "title": "高龄老人新生儿出生登记"}),
        ("held", 0, 4, {"title": "新生儿出生一件事（容缺）"}),
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


def test_queue(snap_compare: SnapCompare, scene: tuple[str, dict[str, str]]) -> None:
    url, _ = scene
    assert snap_compare(console_for(url), terminal_size=(80, 24), run_before=signed_in(TOWN_AGENT))


def test_case_detail(snap_compare: SnapCompare, scene: tuple[str, dict[str, str]]) -> None:
    url, ids = scene

    async def open_held(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await pilot.press("1")
        table = app.screen.query_one(CaseTable)
        await wait_for(pilot, lambda: [str(r.id) for r in table.rows_shown] == [ids["held"]])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.case is not None)

    assert snap_compare(console_for(url), terminal_size=(80, 24), run_before=signed_in(TOWN_AGENT, open_held))


def test_dashboard(snap_compare: SnapCompare, scene: tuple[str, dict[str, str]]) -> None:
    url, _ = scene

    async def open_dashboard(pilot: Pilot[Any]) -> None:
        app = pilot.app
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.workload is not None)

    assert snap_compare(console_for(url), terminal_size=(80, 24), run_before=signed_in("lead640502", open_dashboard))


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
        assert "OVERDUE 2d" in text and "due 1d" in text and "ok 7d" in text
    await app.client.close()
