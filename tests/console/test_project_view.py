"""The project view in the console: from a project issue's detail, every blocker with its
department and state."""

from __future__ import annotations

from typing import Any

from console_kit import Api, sign_in, wait_for
from factories import case_payload, credit_code
from textual.widgets import DataTable

from console.app import DaibanConsole
from console.http_client import HttpDataClient
from console.screens.detail import DetailScreen
from console.screens.project import ProjectScreen

PARK = "640502401"
PROJECT = {"code": "ZWGY-2026-031", "name": "光伏组件扩产项目", "firm": "宁夏某光伏科技有限公司"}


def scene(api: Api) -> tuple[str, list[int]]:
    lead = api.auth(f"lead{PARK}")
    r = api.http.post("/api/v1/projects", json={**PROJECT, "stage": "building", "investment": 80000}, headers=lead)
    assert r.status_code == 201, r.text
    firm: dict[str, Any] = {"type": "firm", "name": PROJECT["firm"], "credit_code": credit_code()}
    body = case_payload(kind="project_issue", item_code="", title="并网接入迟迟未批", project=PROJECT, applicant=firm)
    r = api.http.post("/api/v1/cases", json=body, headers=api.auth(f"a{PARK}"))
    assert r.status_code == 201, r.text
    issue = r.json()["id"]
    units = api.http.get("/api/v1/units/640500/children").json()
    dept = {u["name"]: u["code"] for u in units if u["level"] == "department"}
    blockers = []
    for title, name in (("并网接入批复", "市发展改革委"), ("用地手续", "市自然资源局")):
        r = api.http.post(f"/api/v1/projects/issues/{issue}/blockers", headers=lead,
                          json={"title": title, "department": dept[name], "due_date": "2026-12-31"})  # fmt: skip
        assert r.status_code == 201, r.text
        blockers.append(r.json()["id"])
    assert api.http.post(f"/api/v1/projects/blockers/{blockers[0]}/hand", headers=lead).status_code == 200
    return issue, blockers


async def test_project_view_from_an_issue(server: str, api: Api) -> None:
    issue, _ = scene(api)
    client = HttpDataClient(server)
    app = DaibanConsole(client, status_every=60, sync_every=60)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await sign_in(pilot, f"lead{PARK}")
            app.open_case(issue)
            await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.case is not None)
            app.action_project()
            await wait_for(pilot, lambda: isinstance(app.screen, ProjectScreen) and app.screen.project is not None)
            screen = app.screen
            assert isinstance(screen, ProjectScreen) and screen.project is not None
            assert (screen.project.blockers_open, screen.project.blockers_resolved) == (2, 0)
            table = screen.query_one(DataTable)
            rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
            assert rows[0][0].endswith("并网接入迟迟未批")
            assert [r[0].strip() for r in rows[1:]] == ["└ 并网接入批复", "└ 用地手续"]
            assert [r[2] for r in rows[1:]] == ["市发展改革委", "市自然资源局"]
            assert rows[1][1] != rows[2][1] and rows[1][4].startswith("ZW-") and rows[2][4] == ""  # handed / open
    finally:
        await client.close()
