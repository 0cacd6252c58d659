"""The real console, driven by keys, against a real server; every effect checked through the API."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from console_kit import COUNTY, TOWN, VILLAGE, Api, notes, screen_name, screen_text, sign_in, wait_for
from textual.pilot import Pilot
from textual.widgets import Input, Static

from console.app import DaibanConsole
from console.http_client import HttpDataClient
from console.screens.detail import DetailScreen
from console.screens.main import MainScreen
from console.widgets.case_table import CaseTable
from console.widgets.scope_tree import ScopeTree

TOWN_AGENT = f"a{TOWN}"
TOWN_AGENT_2 = f"a{TOWN}-2"


@pytest.fixture
async def console(server: str) -> AsyncIterator[DaibanConsole]:
    client = HttpDataClient(server)
    yield DaibanConsole(client, status_every=60)
    await client.close()


@contextlib.asynccontextmanager
async def console_for(server: str) -> AsyncIterator[DaibanConsole]:
    client = HttpDataClient(server)
    try:
        yield DaibanConsole(client, status_every=60)
    finally:
        await client.close()


async def select(pilot: Pilot[None], case_id: str) -> None:
    """Put the list's cursor on ``case_id`` once it is listed."""
    app = pilot.app

    def listed() -> bool:
        return isinstance(app.screen, MainScreen) and any(
            str(r.id) == case_id for r in app.screen.query_one(CaseTable).rows_shown
        )

    await wait_for(pilot, listed)
    table = app.screen.query_one(CaseTable)
    table.move_cursor(row=next(i for i, r in enumerate(table.rows_shown) if str(r.id) == case_id))
    await pilot.pause()


async def open_case(pilot: Pilot[None], case_id: str) -> None:
    """Select ``case_id`` in the list and open it: case actions are taken on its detail."""
    await select(pilot, case_id)
    await pilot.press("enter")
    app = pilot.app

    def opened() -> bool:
        screen = app.screen
        return isinstance(screen, DetailScreen) and screen.case is not None and str(screen.case.id) == case_id

    await wait_for(pilot, opened)
    await pilot.pause()


async def confirm(pilot: Pilot[None]) -> None:
    await wait_for(pilot, lambda: screen_name(pilot.app) == "ConfirmScreen")
    await pilot.press("y")


async def noted(pilot: Pilot[None], text: str) -> None:
    await wait_for(pilot, lambda: any(text in n for n in notes(pilot.app)))


async def fill(pilot: Pilot[None], text: str) -> None:
    """Type into the focused field of the open form, then send it."""
    await wait_for(pilot, lambda: screen_name(pilot.app) == "ActionForm")
    await pilot.press(*text, "enter")


async def test_claim_from_the_queue_then_escalate_with_a_reason(console: DaibanConsole, api: Api) -> None:
    case = api.queued_at_town()
    async with console.run_test(notifications=True) as pilot:
        await sign_in(pilot, TOWN_AGENT)
        assert isinstance(console.screen, MainScreen) and console.screen.view == "queue"
        await open_case(pilot, case["id"])
        await pilot.press("c")
        await confirm(pilot)
        await noted(pilot, "已签收")
        claimed = api.case(TOWN_AGENT, case["id"])
        assert claimed["status"] == "in_progress"
        assert claimed["assignee_id"] == api.agent_id(TOWN_AGENT)

        await pilot.press("escape")
        await pilot.press("1")  # my cases
        await open_case(pilot, case["id"])
        await pilot.press("e")
        await wait_for(pilot, lambda: screen_name(console) == "ActionForm")
        assert "至 640502" in screen_text(console) or "至 沙坡头区" in screen_text(console)  # names the parent
        await fill(pilot, "涉及县级部门")
        await noted(pilot, "已上报")
        up = api.case(TOWN_AGENT, case["id"])
        assert (up["owner_unit"], up["status"], up["assignee_id"], up["escalations"]) == (COUNTY, "queued", None, 2)
        last = api.history(TOWN_AGENT, case["id"])[-1]
        assert (last["action"], last["reason"]) == ("escalate", "涉及县级部门")


async def test_a_refusal_is_told_with_its_code(console: DaibanConsole, api: Api) -> None:
    case = api.queued_at_town()
    async with console.run_test(notifications=True) as pilot:
        await sign_in(pilot, TOWN_AGENT)
        await open_case(pilot, case["id"])
        api.act(TOWN_AGENT_2, case["id"], "claim")  # a colleague is quicker
        await pilot.press("c")
        await confirm(pilot)
        await noted(pilot, "case.already_claimed")
        assert api.case(TOWN_AGENT, case["id"])["assignee_id"] == api.agent_id(TOWN_AGENT_2)


async def test_a_refused_form_keeps_what_was_typed(console: DaibanConsole, api: Api) -> None:
    case = api.queued_at_town()
    async with console.run_test(notifications=True) as pilot:
        await sign_in(pilot, TOWN_AGENT)
        await open_case(pilot, case["id"])
        # An escalation without a reason never leaves the form.
        await pilot.press("e")
        await wait_for(pilot, lambda: screen_name(console) == "ActionForm")
        await pilot.press("enter")
        assert screen_name(console) == "ActionForm"
        # The case is claimed and escalated elsewhere meanwhile: the server refuses, the text stays.
        api.act(TOWN_AGENT_2, case["id"], "claim")
        api.act(TOWN_AGENT_2, case["id"], "escalate", reason="同事已上报")
        await pilot.press(*"需县里协调", "enter")

        def error() -> str:
            if screen_name(console) != "ActionForm":
                return ""
            return str(console.screen.query_one("#error", Static).content)

        await wait_for(pilot, lambda: "case." in error())
        assert console.screen.query_one("#reason", Input).value == "需县里协调"
        await pilot.press("x")  # typing again clears the stale error
        assert error() == ""
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(console) == "DetailScreen")


async def test_hand_over_to_another_agent(console: DaibanConsole, api: Api) -> None:
    case = api.queued_at_town()
    api.act(TOWN_AGENT, case["id"], "claim")
    async with console.run_test(notifications=True) as pilot:
        await sign_in(pilot, TOWN_AGENT)
        await pilot.press("1")
        await open_case(pilot, case["id"])
        await pilot.press("h")
        await wait_for(pilot, lambda: screen_name(console) == "HandoverPicker")
        await pilot.press(*TOWN_AGENT_2, "enter")
        await wait_for(pilot, lambda: screen_name(console) == "ActionForm")
        assert "滨河镇代办员二" in screen_text(console)  # the form names the agent
        await fill(pilot, "交给熟悉出生登记的同事")
        await noted(pilot, "已移交")
    after = api.case(TOWN_AGENT_2, case["id"])
    assert (after["status"], after["assignee_id"]) == ("in_progress", api.agent_id(TOWN_AGENT_2))
    last = api.history(TOWN_AGENT_2, case["id"])[-1]
    assert (last["action"], last["reason"]) == ("handover", "交给熟悉出生登记的同事")


async def test_agents_show_by_name(console: DaibanConsole, api: Api) -> None:
    case = api.queued_at_town()
    api.act(TOWN_AGENT_2, case["id"], "claim")
    async with console.run_test(notifications=True, size=(100, 30)) as pilot:
        await sign_in(pilot, TOWN_AGENT)
        await pilot.press("3")  # the scope: a colleague's case
        table = console.screen.query_one(CaseTable)
        await wait_for(pilot, lambda: any(str(r.id) == case["id"] for r in table.rows_shown))
        row = next(i for i, r in enumerate(table.rows_shown) if str(r.id) == case["id"])
        who = str(table.get_row_at(row)[table.get_column_index("who")])
        assert who.startswith("滨") and who.endswith("二") and "…" in who  # 滨河镇代办员二: both ends kept
        table.move_cursor(row=row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(console.screen, DetailScreen) and console.screen.case is not None)
        await pilot.pause()
        text = screen_text(console)
        assert "经办人 滨河镇代办员二" in text and "#" + str(api.agent_id(TOWN_AGENT_2)) not in text


async def test_resolve_then_confirm_with_a_rating(server: str, api: Api) -> None:
    case = api.queued_at_town()
    api.act(TOWN_AGENT, case["id"], "claim")
    materials = [{"code": m["code"], "state": "provided"} for m in case["materials"]]
    api.act(TOWN_AGENT, case["id"], "update", materials=materials)
    async with console_for(server) as console, console.run_test(notifications=True) as pilot:
        await sign_in(pilot, TOWN_AGENT)
        await pilot.press("1")
        await open_case(pilot, case["id"])
        await pilot.press("r")
        await fill(pilot, "出生医学证明、户口登记、医保参保已办结")
        await noted(pilot, "已办结")
        assert api.case(TOWN_AGENT, case["id"])["status"] == "resolved"
    # The applicant's rating is recorded by the village agent who took the matter, not by
    # the town agent who resolved it. Lists show open cases; the resolved one opens by id.
    async with console_for(server) as console, console.run_test(notifications=True) as pilot:
        await sign_in(pilot, f"a{VILLAGE}")
        console.open_case(case["id"])
        await wait_for(pilot, lambda: getattr(console.screen, "case", None) is not None)
        await pilot.pause()
        await pilot.press("k")
        await wait_for(pilot, lambda: screen_name(console) == "ActionForm")
        await pilot.press("5", "tab", *"很方便", "enter")
        await noted(pilot, "已回访")
    closed = api.case(TOWN_AGENT, case["id"])
    assert (closed["status"], closed["rating"], closed["rating_comment"]) == ("closed", 5, "很方便")


async def test_dispatch_down_picks_a_unit_from_the_tree(server: str, api: Api) -> None:
    case = api.queued_at_town()
    api.act(TOWN_AGENT, case["id"], "claim")
    api.act(TOWN_AGENT, case["id"], "escalate", reason="涉及县级部门")
    client = HttpDataClient(server)
    app = DaibanConsole(client, status_every=60)
    async with app.run_test(notifications=True) as pilot:
        await sign_in(pilot, f"a{COUNTY}")
        await open_case(pilot, case["id"])
        await pilot.press("d")
        await wait_for(pilot, lambda: screen_name(app) == "UnitPicker")
        tree = app.screen.query_one("#units", ScopeTree)
        tree.move_cursor(tree.node_of(TOWN))
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen_name(app) == "ActionForm")
        assert "至 滨河镇" in screen_text(app)  # the unit by name, not its code
        await pilot.press("enter")  # dispatch needs a reason
        assert screen_name(app) == "ActionForm"
        await fill(pilot, "由镇便民服务中心办理")
        await noted(pilot, "已转办")
    await client.close()
    down = api.case(TOWN_AGENT, case["id"])
    assert (down["owner_unit"], down["status"]) == (TOWN, "queued")


async def test_palette_offers_the_actions_of_the_selected_case(console: DaibanConsole, api: Api) -> None:
    case = api.queued_at_town()
    async with console.run_test(notifications=True) as pilot:
        await sign_in(pilot, TOWN_AGENT)
        await select(pilot, case["id"])
        titles = [c.title for c in console.get_system_commands(console.screen)]
        assert "签收  Claim [c]" in titles and not any(t.startswith("办结") for t in titles)
        assert not any(t.startswith("转办") for t in titles)  # a town agent dispatches nothing
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: screen_name(console) == "CommandPalette")
        await pilot.press(*"签收")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await confirm(pilot)
        await noted(pilot, "已签收")
    assert api.case(TOWN_AGENT, case["id"])["assignee_id"] == api.agent_id(TOWN_AGENT)


async def test_detail_shows_masked_applicant_materials_and_history(console: DaibanConsole, api: Api) -> None:
    case = api.queued_at_town()
    async with console.run_test(notifications=True, size=(100, 40)) as pilot:
        await sign_in(pilot, TOWN_AGENT)
        await select(pilot, case["id"])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(console.screen, DetailScreen) and console.screen.case is not None)
        await pilot.pause()
        text = screen_text(console)
        assert case["ref"] in text
        assert "********" in text and case["applicant"]["resident_id"] not in text
        assert "材料" in text and "办理经过（2 条）" in text and "上报" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(console) == "MainScreen")


async def test_help_explains_sign_in_and_claiming(console: DaibanConsole) -> None:
    async with console.run_test() as pilot:
        await pilot.press("f1")
        await wait_for(pilot, lambda: screen_name(console) == "HelpScreen")
        from console.screens.help import help_text

        text = help_text()
        # Enough to sign in as a demo agent and claim, with nothing else to go on.
        assert "登录" in text and "签收与办理" in text
        assert "`a640502100`" in text and "`demo`" in text and "**c** 签收" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen_name(console) == "SignInScreen")


async def test_wrong_password_is_said_plainly(console: DaibanConsole) -> None:
    async with console.run_test() as pilot:
        await pilot.click("#username")
        await pilot.press(*TOWN_AGENT, "enter", *"nope", "enter")
        error = console.screen.query_one("#signin-error")
        await wait_for(pilot, lambda: "auth.invalid_credentials" in str(error.render()))
        assert screen_name(console) == "SignInScreen"


async def test_a_case_moved_away_is_told_on_reload(console: DaibanConsole, api: Api) -> None:
    case = api.queued_at_town()
    async with console.run_test(notifications=True) as pilot:
        await sign_in(pilot, TOWN_AGENT)
        await select(pilot, case["id"])
        await pilot.press("1", "2")  # another view and back: nothing is said
        await wait_for(pilot, lambda: console.screen.query_one(CaseTable).row_count > 0)
        await pilot.pause(0.2)
        assert not any("离开此列表" in n for n in notes(console))
        # Elsewhere the case leaves the queue (as the SLA sweep's escalation would take it).
        api.act(TOWN_AGENT_2, case["id"], "claim")
        api.act(TOWN_AGENT_2, case["id"], "escalate", reason="县里统筹")
        await pilot.press("f5")
        await noted(pilot, "离开此列表")
        assert any(case["ref"] in n for n in notes(console))
