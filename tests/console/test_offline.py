"""The console on a village device's replica: it keeps working offline, marks what waits
to be synced, and shows what the server refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from console_kit import TOWN, VILLAGE, Api, notes, screen_name, screen_text, sign_in, wait_for
from live import free_port
from textual.pilot import Pilot
from textual.widgets import OptionList

from console.app import DaibanConsole
from console.replica_client import ReplicaDataClient
from console.screens.conflicts import ConflictsScreen
from console.screens.detail import DetailScreen
from console.screens.main import MainScreen
from console.screens.pickers import HandoverPicker
from console.widgets.case_table import CaseTable
from console.widgets.status_bar import StatusBar

VILLAGER = f"a{VILLAGE}"


@pytest.fixture
async def device(server: str, tmp_path: Path) -> AsyncIterator[ReplicaDataClient]:
    client = ReplicaDataClient.open(tmp_path / "replica.sqlite", server=server, attempts=1, timeout=3)
    yield client
    await client.close()


def go_offline(client: ReplicaDataClient) -> str:
    """Point the device at a port nobody listens on; returns the real server to come back to."""
    url = client.sc.transport.base_url
    client.sc.transport.base_url = f"http://127.0.0.1:{free_port()}"
    return url


async def open_case(pilot: Pilot[None], case_id: str) -> None:
    await select(pilot, case_id)
    await pilot.press("enter")
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.case is not None)
    await pilot.pause()


async def select(pilot: Pilot[None], case_id: str) -> CaseTable:
    table = pilot.app.screen.query_one(CaseTable)
    await wait_for(pilot, lambda: any(str(r.id) == case_id for r in table.rows_shown))
    table.move_cursor(row=next(i for i, r in enumerate(table.rows_shown) if str(r.id) == case_id))
    await pilot.pause()
    return table


def row_of(table: CaseTable, case_id: str) -> object:
    return next(r for r in table.rows_shown if str(r.id) == case_id)


async def test_escalate_offline_then_sync(device: ReplicaDataClient, api: Api) -> None:
    case = api.create(VILLAGER)
    app = DaibanConsole(device, status_every=0.2, sync_every=60)
    async with app.run_test(notifications=True) as pilot:
        await sign_in(pilot, VILLAGER)
        assert isinstance(app.screen, MainScreen) and app.screen.view == "mine"  # a village agent's own cases first
        await open_case(pilot, case["id"])

        server = go_offline(device)
        await pilot.press("e")
        await wait_for(pilot, lambda: screen_name(app) == "ActionForm")
        await pilot.press(*"请镇里办理", "enter")
        await wait_for(pilot, lambda: any("联网后同步" in n for n in notes(app)))
        bar = app.screen.query_one(StatusBar)
        await wait_for(pilot, lambda: bar.sync_status is not None and not bar.sync_status.online)
        assert bar.sync_status is not None and bar.sync_status.pending == 1
        # Applied here at once (the same rules as the server), marked until synced.
        await pilot.press("escape")
        await pilot.press("3")
        table = await select(pilot, case["id"])
        bar = app.screen.query_one(StatusBar)
        assert row_of(table, case["id"]).pending  # type: ignore[attr-defined]
        assert "离线" in screen_text(app) and "↑" in screen_text(app)
        assert api.case(VILLAGER, case["id"])["owner_unit"] == VILLAGE  # the server has not heard yet

        device.sc.transport.base_url = server
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: bar.sync_status is not None and bar.sync_status.pending == 0)
        await wait_for(pilot, lambda: not row_of(table, case["id"]).pending)  # type: ignore[attr-defined]
        assert bar.sync_status is not None and bar.sync_status.online
    on_server = api.case(VILLAGER, case["id"])
    assert (on_server["owner_unit"], on_server["status"]) == (TOWN, "queued")


async def test_a_refused_operation_shows_as_a_conflict(device: ReplicaDataClient, api: Api) -> None:
    case = api.create(VILLAGER)
    app = DaibanConsole(device, status_every=0.2, sync_every=60)
    async with app.run_test(notifications=True) as pilot:
        await sign_in(pilot, VILLAGER)
        await open_case(pilot, case["id"])
        server = go_offline(device)
        await pilot.press("e")
        await wait_for(pilot, lambda: screen_name(app) == "ActionForm")
        await pilot.press(*"请镇里办理", "enter")
        await wait_for(pilot, lambda: any("联网后同步" in n for n in notes(app)))
        # Meanwhile, from another device, the matter is withdrawn.
        api.act(VILLAGER, case["id"], "cancel", reason="申请人撤回")

        device.sc.transport.base_url = server
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any("被服务器拒绝" in n for n in notes(app)))
        bar = app.screen.query_one(StatusBar)
        await wait_for(pilot, lambda: bar.sync_status is not None and bar.sync_status.conflicts == 1)
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, ConflictsScreen) and bool(app.screen.conflicts))
        assert isinstance(app.screen, ConflictsScreen)
        conflict = app.screen.conflicts[0]
        assert (conflict.case_id, conflict.action, conflict.code) == (case["id"], "escalate", "case.illegal_transition")
    assert api.case(VILLAGER, case["id"])["status"] == "cancelled"


async def test_a_town_device_claims_and_hands_over_through_its_replica(server: str, api: Api, tmp_path: Path) -> None:
    town_agent, colleague = f"a{TOWN}", f"a{TOWN}-2"
    case = api.queued_at_town()
    device = ReplicaDataClient.open(tmp_path / "town.sqlite", server=server, attempts=1, timeout=3)
    app = DaibanConsole(device, status_every=0.2, sync_every=60)
    async with app.run_test(notifications=True) as pilot:
        await sign_in(pilot, town_agent)
        await open_case(pilot, case["id"])
        await pilot.press("c")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
        await pilot.press("y")
        # Applied on the device at once, then pushed in the background.
        await wait_for(pilot, lambda: api.case(town_agent, case["id"])["assignee_id"] == api.agent_id(town_agent))

        await pilot.press("escape")
        await pilot.press("1")
        await open_case(pilot, case["id"])
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HandoverPicker))
        agents = app.screen.query_one("#agents", OptionList)
        await wait_for(
            pilot, lambda: any(agents.get_option_at_index(i).id == colleague for i in range(agents.option_count))
        )
        await pilot.press(*colleague, "enter")
        await wait_for(pilot, lambda: screen_name(app) == "ActionForm")
        await pilot.press(*"请同事跟进", "enter")
        await wait_for(pilot, lambda: api.case(colleague, case["id"])["assignee_id"] == api.agent_id(colleague))
        bar = app.screen.query_one(StatusBar)
        await wait_for(pilot, lambda: bar.sync_status is not None and bar.sync_status.pending == 0)
    await device.close()
    assert api.history(colleague, case["id"])[-1]["reason"] == "请同事跟进"


async def test_sign_out_returns_to_the_sign_in_screen(device: ReplicaDataClient, api: Api) -> None:
    app = DaibanConsole(device, status_every=60, sync_every=60)
    async with app.run_test() as pilot:
        await sign_in(pilot, VILLAGER)
        titles = {c.title.split("  ")[0]: c for c in app.get_system_commands(app.screen)}
        assert {"我的案件", "本单位待办", "辖区", "筛选", "退出登录"} <= set(titles)
        assert "退出登录  Sign out" in {c.title for c in app.get_system_commands(app.screen)}  # English finds it too
        titles["退出登录"].callback()
        await wait_for(pilot, lambda: screen_name(app) == "SignInScreen")
        assert app.me is None


async def test_hand_over_offline_to_a_colleague_known_from_the_last_sign_in(
    server: str, api: Api, tmp_path: Path
) -> None:
    town_agent, colleague = f"a{TOWN}", f"a{TOWN}-2"
    case = api.queued_at_town()
    api.act(town_agent, case["id"], "claim")
    path = tmp_path / "town.sqlite"
    device = ReplicaDataClient.open(path, server=server, attempts=1, timeout=3)
    app = DaibanConsole(device, status_every=60, sync_every=60)
    async with app.run_test() as pilot:
        await sign_in(pilot, town_agent)  # online: the unit's agents are kept on the device
        await pilot.press("1")
        await select(pilot, case["id"])
    await device.close()

    # The next morning, no network: the device starts from its replica alone.
    device = ReplicaDataClient.open(path, server=f"http://127.0.0.1:{free_port()}", attempts=1, timeout=3)
    device.sc.transport.base_url = device.server
    app = DaibanConsole(device, status_every=0.2, sync_every=60)
    async with app.run_test(notifications=True) as pilot:
        await sign_in(pilot, town_agent)
        await pilot.press("1")
        await open_case(pilot, case["id"])
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HandoverPicker))
        agents = app.screen.query_one("#agents", OptionList)
        await wait_for(pilot, lambda: agents.option_count > 0 and agents.get_option_at_index(0).id == colleague)
        assert "滨河镇代办员二" in str(agents.get_option_at_index(0).prompt)
        await pilot.press("down", "enter")  # to the list, pick the colleague
        await wait_for(pilot, lambda: screen_name(app) == "ActionForm")
        await pilot.press(*"下午请同事接手", "enter")
        # Checked here by the same rules as the server, and queued.
        await wait_for(pilot, lambda: any("联网后同步" in n for n in notes(app)))
        assert device.sc.case(case["id"]).assignee_id == api.agent_id(colleague)  # type: ignore[union-attr]
        assert api.case(town_agent, case["id"])["assignee_id"] == api.agent_id(town_agent)

        device.sc.transport.base_url = server
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: device.sc.status().pending == 0)
    await device.close()
    assert api.case(colleague, case["id"])["assignee_id"] == api.agent_id(colleague)
    assert api.history(colleague, case["id"])[-1]["reason"] == "下午请同事接手"
