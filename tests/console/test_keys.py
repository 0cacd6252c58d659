"""Keys that cannot surprise: in the list, letters search and never act on a case; the
detail asks before claim, release or resume; Esc leaves the search; q quits."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

import pytest
from console_kit import TOWN, Api, screen_name, sign_in, wait_for
from textual.widgets import Footer, Input

from console.app import DaibanConsole
from console.http_client import HttpDataClient
from console.screens.detail import DetailScreen
from console.screens.main import MainScreen
from console.widgets.case_table import CaseTable

TOWN_AGENT = f"a{TOWN}"


@pytest.fixture
async def console(server: str) -> AsyncIterator[DaibanConsole]:
    client = HttpDataClient(server)
    yield DaibanConsole(client, status_every=60)
    await client.close()


def listed(table: CaseTable, case_id: str) -> bool:
    return any(str(r.id) == case_id for r in table.rows_shown)


def footer_keys(app: DaibanConsole) -> set[str]:
    """The actions the footer shows now."""
    bindings = app.screen.active_bindings
    return {b.binding.action for b in bindings.values() if b.binding.show and b.enabled}


async def test_list_letters_search_and_never_act(console: DaibanConsole, api: Api) -> None:
    queued = api.queued_at_town()
    mine = api.queued_at_town()
    api.act(TOWN_AGENT, mine["id"], "claim")
    waiting = api.queued_at_town()
    api.act(TOWN_AGENT, waiting["id"], "claim")
    api.act(TOWN_AGENT, waiting["id"], "wait", reason="等申请人带户口本")
    before = {c["id"]: api.case(TOWN_AGENT, c["id"])["version"] for c in (queued, mine, waiting)}
    async with console.run_test(notifications=True) as pilot:
        await sign_in(pilot, TOWN_AGENT)
        screen = console.screen
        assert isinstance(screen, MainScreen)
        table = screen.query_one(CaseTable)
        await wait_for(pilot, lambda: any(str(r.id) == queued["id"] for r in table.rows_shown))
        for key, case in (("c", queued), ("l", mine), ("u", waiting)):
            await pilot.press("escape")
            await pilot.press("1" if case is not queued else "2")
            await wait_for(pilot, partial(listed, table, case["id"]))
            table.move_cursor(row=next(i for i, r in enumerate(table.rows_shown) if str(r.id) == case["id"]))
            await pilot.pause()
            await pilot.press(key)
            await pilot.pause(0.2)
            search = screen.query_one("#search", Input)
            assert search.has_focus and search.value == key  # the letter went to the search box
            assert screen_name(console) == "MainScreen"  # no form, no confirmation, nothing sent
            # Esc clears the search and goes back to the list.
            await pilot.press("escape")
            assert search.value == "" and table.has_focus
        # Typing a name searches; it never claims and opens a hand-over.
        await pilot.press(*"chen")
        assert screen.query_one("#search", Input).value == "chen"
        await pilot.press("escape")
    after = {c["id"]: api.case(TOWN_AGENT, c["id"])["version"] for c in (queued, mine, waiting)}
    assert after == before


async def test_detail_asks_before_claiming_and_offers_only_what_the_case_allows(
    console: DaibanConsole, api: Api
) -> None:
    case = api.queued_at_town()
    version = case["version"]
    async with console.run_test(notifications=True, size=(80, 24)) as pilot:
        await sign_in(pilot, TOWN_AGENT)
        table = console.screen.query_one(CaseTable)
        await wait_for(pilot, lambda: any(str(r.id) == case["id"] for r in table.rows_shown))
        table.move_cursor(row=next(i for i, r in enumerate(table.rows_shown) if str(r.id) == case["id"]))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(console.screen, DetailScreen) and console.screen.case is not None)
        await pilot.pause()
        shown = footer_keys(console)
        assert "case('claim')" in shown and "case('escalate')" in shown
        # A queued case: nothing that only a holder may do; a town agent dispatches nothing.
        assert not {"case('release')", "case('resolve')", "case('resume')", "case('dispatch')"} & shown
        assert console.screen.query_one(Footer).size.width <= 80

        await pilot.press("c")
        await wait_for(pilot, lambda: screen_name(console) == "ConfirmScreen")
        await pilot.press("n")  # declined: nothing happens
        await wait_for(pilot, lambda: screen_name(console) == "DetailScreen")
        assert api.case(TOWN_AGENT, case["id"])["version"] == version

        await pilot.press("l")  # release is not allowed on a queued case: the key does nothing
        await pilot.pause(0.2)
        assert screen_name(console) == "DetailScreen"
        assert api.case(TOWN_AGENT, case["id"])["version"] == version

        await pilot.press("c")
        await wait_for(pilot, lambda: screen_name(console) == "ConfirmScreen")
        await pilot.press("y")
        await wait_for(pilot, lambda: api.case(TOWN_AGENT, case["id"])["status"] == "in_progress")
        await wait_for(pilot, lambda: console.screen.case.status.value == "in_progress")
        await pilot.pause()
        shown = footer_keys(console)
        assert "case('release')" in shown and "case('claim')" not in shown


async def test_q_quits_and_says_what_is_pending(console: DaibanConsole) -> None:
    async with console.run_test() as pilot:
        await sign_in(pilot, TOWN_AGENT)
        await pilot.press("q")
        await wait_for(pilot, lambda: console.return_code is not None or not console.is_running)
    assert "没有待同步的内容" in console.quit_message
