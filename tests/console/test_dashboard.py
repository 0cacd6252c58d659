"""The dispatcher dashboard against the real workload API: load down the tree, a plan
previewed as moves and applied with one key after confirming."""

from __future__ import annotations

from console_kit import COUNTY, TOWN, Api, notes, screen_name, screen_text, sign_in, wait_for
from textual.widgets import DataTable

from console.app import DaibanConsole
from console.http_client import HttpDataClient
from console.screens.dashboard import DashboardScreen, PlanScreen

TOWN_AGENT = f"a{TOWN}"


async def test_drill_down_preview_and_apply_a_plan(server: str, api: Api) -> None:
    # One agent holds twelve cases, the colleague none: a plan should even them out.
    held = []
    for _ in range(12):
        case = api.queued_at_town()
        api.act(TOWN_AGENT, case["id"], "claim")
        held.append(case["id"])
    client = HttpDataClient(server)
    app = DaibanConsole(client, status_every=60)
    async with app.run_test(notifications=True, size=(100, 30)) as pilot:
        await sign_in(pilot, f"lead{COUNTY}")
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.workload is not None)
        dash = app.screen
        assert isinstance(dash, DashboardScreen) and dash.workload is not None
        assert dash.workload.unit == COUNTY
        town_row = next(i for i, u in enumerate(dash.unit_rows) if u.code == TOWN)
        assert dash.unit_rows[town_row].in_progress == 12
        dash.query_one("#units", DataTable).move_cursor(row=town_row)
        await pilot.press("enter")
        await wait_for(pilot, lambda: dash.workload is not None and dash.workload.unit == TOWN)
        loads = {a.username: a.open for a in dash.workload.agents}
        assert loads[TOWN_AGENT] == 12 and loads[f"{TOWN_AGENT}-2"] == 0
        assert "滨河镇 640502100" in screen_text(app)

        await pilot.press("p")
        await wait_for(pilot, lambda: screen_name(app) == "PlanScreen")
        assert isinstance(app.screen, PlanScreen)
        plan = app.screen.plan
        assert plan.moves and all(m.kind == "agent" for m in plan.moves)
        assert "滨河镇代办员二" in screen_text(app)  # moves name the agents
        await pilot.press("a")
        await wait_for(pilot, lambda: screen_name(app) == "ConfirmScreen")
        await pilot.press("y")
        await wait_for(pilot, lambda: any(f"方案 {plan.id} 已执行：调配 {len(plan.moves)} 件" in n for n in notes(app)))
        await wait_for(pilot, lambda: dash.workload is not None and dash.workload.agents[0].open != 12)
        await pilot.press("backspace")
        await wait_for(pilot, lambda: dash.workload is not None and dash.workload.unit == COUNTY)
    await client.close()
    moved = {api.case(TOWN_AGENT, cid)["assignee_id"] for cid in held}
    assert moved == {api.agent_id(TOWN_AGENT), api.agent_id(f"{TOWN_AGENT}-2")}


async def test_agents_do_not_get_the_dashboard(server: str) -> None:
    client = HttpDataClient(server)
    app = DaibanConsole(client, status_every=60)
    async with app.run_test(notifications=True) as pilot:
        await sign_in(pilot, TOWN_AGENT)
        await pilot.press("f2")
        await wait_for(pilot, lambda: any("看板供" in n for n in notes(app)))
        assert screen_name(app) == "MainScreen"
    await client.close()
