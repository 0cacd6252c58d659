"""A park's project as its task force works it: issues, blockers handed to city departments,
and the project view following the departments' cases."""

from __future__ import annotations

import uuid
from typing import Any

from factories import Client, case_payload, credit_code, headers

PARK = "640502401"  # 中卫工业园区
CITY = "640500"
PROJECT = {"code": "ZWGY-2026-017", "name": "年产5万吨新材料项目", "firm": "宁夏某新材料有限公司"}


async def department(client: Client, name: str) -> str:
    kids = (await client.get(f"/api/v1/units/{CITY}/children")).json()
    [code] = [k["code"] for k in kids if k["name"] == name and k["level"] == "department"]
    return str(code)


def firm() -> dict[str, Any]:
    return {"type": "firm", "name": PROJECT["firm"], "credit_code": credit_code(), "contact": "王经理"}


async def test_park_project_blockers_follow_the_department_cases(client: Client) -> None:
    lead, agent = await headers(client, f"lead{PARK}"), await headers(client, f"a{PARK}")
    land, reform = await department(client, "市自然资源局"), await department(client, "市发展改革委")

    r = await client.post("/api/v1/projects", json={**PROJECT, "stage": "permitting", "investment": 52000},
                          headers=lead)  # fmt: skip
    assert r.status_code == 201, r.text
    assert (await client.post("/api/v1/projects", json=PROJECT, headers=lead)).json()["code"] == "project.exists"
    village = await headers(client, "a640502100002")
    assert (await client.post("/api/v1/projects", json={**PROJECT, "code": "X"}, headers=village)).status_code == 403

    # A project issue is raised for an enterprise, and needs no catalogue item.
    issue_body = case_payload(kind="project_issue", item_code="", title="用地与能评手续卡住", project=PROJECT)
    r = await client.post("/api/v1/cases", json=issue_body, headers=agent)
    assert (r.status_code, r.json()["code"]) == (422, "case.enterprise_required")
    r = await client.post("/api/v1/cases", json={**issue_body, "applicant": firm()}, headers=agent)
    assert r.status_code == 201, r.text
    issue = r.json()["id"]

    blockers = []
    for title, dept, due in (("建设用地预审", land, "2026-12-20"), ("节能审查", reform, "2026-12-25"),
                             ("园区道路接入", land, "2027-01-10")):  # fmt: skip
        r = await client.post(f"/api/v1/projects/issues/{issue}/blockers",
                              json={"title": title, "department": dept, "due_date": due}, headers=lead)  # fmt: skip
        assert r.status_code == 201, r.text
        blockers.append(r.json()["id"])
    r = await client.post(f"/api/v1/projects/issues/{issue}/blockers",
                          json={"title": "x", "department": PARK, "due_date": "2026-12-01"}, headers=lead)  # fmt: skip
    assert (r.status_code, r.json()["code"]) == (422, "blocker.not_a_department")

    handed = {}
    for b in blockers[:2]:
        r = await client.post(f"/api/v1/projects/blockers/{b}/hand", headers=lead)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "handed" and r.json()["case_status"] == "queued"
        handed[b] = r.json()["case_id"]
    again = await client.post(f"/api/v1/projects/blockers/{blockers[0]}/hand", headers=lead)
    assert (again.status_code, again.json()["code"]) == (409, "blocker.already_handed")

    async def view(who: dict[str, str]) -> dict[int, dict[str, Any]]:
        r = await client.get(f"/api/v1/projects/{PROJECT['code']}", headers=who)
        assert r.status_code == 200, r.text
        [shown] = r.json()["issues"]
        assert shown["id"] == issue
        return {b["id"]: b for b in shown["blockers"]}

    seen = await view(lead)
    assert [seen[b]["status"] for b in blockers] == ["handed", "handed", "open"]
    assert seen[blockers[0]]["department_name"] == "市自然资源局"

    # Each department finds the blocker in its own queue, with the project named.
    land_agent, reform_agent = await headers(client, f"a{land}"), await headers(client, f"a{reform}")
    for who, b in ((land_agent, blockers[0]), (reform_agent, blockers[1])):
        queue = (await client.get("/api/v1/cases", params={"view": "queue"}, headers=who)).json()["cases"]
        [case] = [c for c in queue if c["id"] == handed[b]]
        assert case["project"]["code"] == PROJECT["code"] and case["project"]["blocker"] == b
        assert (await client.get("/api/v1/notifications/unread-count", headers=who)).json()["unread"] == 1

    async def act(who: dict[str, str], cid: str, action: str, **args: Any) -> None:
        r = await client.post(f"/api/v1/cases/{cid}/{action}", json=args, headers=who)
        assert r.status_code == 200, (action, r.text)

    await act(land_agent, handed[blockers[0]], "claim")
    await act(land_agent, handed[blockers[0]], "resolve", note="用地预审意见已出具")
    seen = await view(lead)
    assert [seen[b]["status"] for b in blockers] == ["resolved", "handed", "open"]
    assert seen[blockers[0]]["case_status"] == "resolved"

    # The other department works from a device: its synced resolve moves the blocker too.
    r = await client.post("/api/v1/devices", json={"name": "发改委平板"}, headers=reform_agent)
    device = r.json()["client_id"]
    ops = [
        {"op_id": str(uuid.uuid4()), "client_id": device, "seq": seq, "case_id": handed[blockers[1]],
         "kind": kind, "args": args}
        for seq, (kind, args) in enumerate((("claim", {}), ("resolve", {"note": "节能审查意见已批复"})), start=1)
    ]  # fmt: skip
    r = await client.post("/api/v1/sync/push", json={"client_id": device, "ops": ops}, headers=reform_agent)
    assert [x["result"] for x in r.json()["results"]] == ["applied", "applied"], r.text
    r = await client.get(f"/api/v1/projects/{PROJECT['code']}", headers=reform_agent)  # a department sees it too
    assert r.status_code == 200
    body = r.json()
    assert (body["stage"], body["investment"], body["blockers_open"], body["blockers_resolved"]) == (
        "permitting", 52000, 1, 2,
    )  # fmt: skip
    assert [b["status"] for b in body["issues"][0]["blockers"]] == ["resolved", "resolved", "open"]
    # Outside the park's line the project does not exist.
    other = await headers(client, "lead640521")
    assert (await client.get(f"/api/v1/projects/{PROJECT['code']}", headers=other)).status_code == 404
