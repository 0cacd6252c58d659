"""The inbox: an unread badge on every screen, F4 lists what reached the agent, Enter opens
the case; on a device it works from the replica with no network, and so does
``daiban village inbox``."""

from __future__ import annotations

import asyncio
from pathlib import Path

from click.testing import CliRunner
from console_kit import TOWN, VILLAGE, Api, serve, sign_in, wait_for
from textual.widgets import DataTable

from cli import main
from console.app import DaibanConsole
from console.http_client import HttpDataClient
from console.replica_client import ReplicaDataClient
from console.screens.detail import DetailScreen
from console.screens.inbox import InboxScreen
from console.widgets.status_bar import StatusBar
from server.settings import Settings

TOWN_AGENT = f"a{TOWN}"
VILLAGER = f"a{VILLAGE}"


def unread_shown(app: DaibanConsole) -> int | None:
    bar = app.screen.query_one(StatusBar)
    return bar.sync_status.unread if bar.sync_status else None


async def test_badge_then_inbox_opens_the_case(server: str, api: Api) -> None:
    client = HttpDataClient(server)
    app = DaibanConsole(client, status_every=0.2, sync_every=60)
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await sign_in(pilot, TOWN_AGENT)
            case = api.queued_at_town()  # the village escalates: the town's agents hear of it
            await wait_for(pilot, lambda: unread_shown(app) == 1)
            assert "✉" in str(app.screen.query_one(StatusBar).render())

            await pilot.press("f4")
            await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen) and bool(app.screen.notices))
            inbox = app.screen
            assert isinstance(inbox, InboxScreen)
            assert unread_shown(app) == 1  # the badge is on this screen too
            [notice] = inbox.notices
            assert notice.case_id == case["id"] and not notice.read and case["ref"] in notice.message
            inbox.query_one(DataTable).focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.case is not None)
            detail = app.screen
            assert isinstance(detail, DetailScreen) and detail.case is not None
            assert str(detail.case.id) == case["id"]
            await wait_for(pilot, lambda: unread_shown(app) == 0)  # read now, on the detail screen's badge
            r = api.http.get("/api/v1/notifications/unread-count", headers=api.auth(TOWN_AGENT))
            assert r.json()["unread"] == 0
    finally:
        await client.close()


async def test_device_inbox_offline_in_console_and_cli(db_settings: Settings, tmp_path: Path) -> None:
    replica = tmp_path / "replica.sqlite"
    with serve(db_settings) as url:
        api = Api(url)
        case = api.create(VILLAGER)
        api.act(VILLAGER, case["id"], "escalate", reason="需要镇里办理")
        device = ReplicaDataClient.open(replica, server=url, attempts=1, timeout=3)
        app = DaibanConsole(device, status_every=0.2, sync_every=60)
        async with app.run_test(size=(140, 40)) as pilot:
            await sign_in(pilot, VILLAGER)  # the first sync comes behind the first list
            api.act(TOWN_AGENT, case["id"], "claim")
            provided = [{"code": m["code"], "state": "provided"} for m in case["materials"]]
            api.act(TOWN_AGENT, case["id"], "update", materials=provided)
            api.act(TOWN_AGENT, case["id"], "resolve", note="已办结，请告知申请人")
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: unread_shown(app) == 1)
        await device.close()
        api.close()
    # The server is gone: the device still has the notification, and opens its case.
    device = ReplicaDataClient.open(replica, server=url, attempts=1, timeout=1)
    app = DaibanConsole(device, status_every=0.2, sync_every=60)
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await sign_in(pilot, VILLAGER)  # offline sign-in against the last online one
            await wait_for(pilot, lambda: unread_shown(app) == 1)
            await pilot.press("f4")
            await wait_for(pilot, lambda: isinstance(app.screen, InboxScreen) and bool(app.screen.notices))
            app.screen.query_one(DataTable).focus()
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.case is not None)
            await wait_for(pilot, lambda: unread_shown(app) == 0)
    finally:
        await device.close()

    # (The command runs its own event loop: give it a thread of its own.)
    result = await asyncio.to_thread(CliRunner().invoke, main, ["village", "--replica", str(replica), "inbox"])
    assert result.exit_code == 0, result.output
    assert case["ref"] in result.output and "已办结" in result.output and "未读 0 条" in result.output
    result = CliRunner().invoke(main, ["village", "--replica", str(replica), "inbox", "--help"])
    assert result.exit_code == 0 and "--read-all" in result.output
