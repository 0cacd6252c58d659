"""一次性告知 and 一窗出件 on the server: materials at resolve, the result, 未评价, items
that serve persons or firms, and 跨域通办 for a local item opened in another county."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from factories import Client, all_provided, case_payload, credit_code, headers
from jobkit import Clock, in_app
from litestar.testing import AsyncTestClient

from hierarchy.calendar import TZ
from server.app import create_app
from server.settings import Settings

CASES = "/api/v1/cases"
VILLAGE = "640502100002"  # 向阳巷居委会, 沙坡头区
HAIYUAN_VILLAGE = "640522100203"  # 山门村委会, 海原县
ZHONGNING = "640521"  # 中宁县
GOJI = "L03-goji-geographical-indication"  # a local item of 中宁县
MONDAY = datetime(2026, 11, 2, 10, 0, tzinfo=TZ)


def firm(**over: Any) -> dict[str, Any]:
    return {"type": "firm", "name": "宁夏枸杞合作社", "credit_code": credit_code(), "phone": "0955-7012345", **over}


async def post(client: Client, who: dict[str, str], path: str, body: dict[str, Any]) -> Any:
    return await client.post(path, json=body, headers=who)


async def test_resolve_needs_every_material_and_records_the_result(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    case = (await post(client, villager, CASES, case_payload())).json()
    cid = case["id"]
    r = await post(client, villager, f"{CASES}/{cid}/resolve", {"note": "已办结"})
    assert (r.status_code, r.json()["code"]) == (409, "case.materials_missing")
    assert set(r.json()["materials"]) == {m["code"] for m in case["materials"]}
    # Everything provided but one deferrable material, deferred under a commitment: resolvable.
    body = all_provided(case)
    body["materials"][3] = {"code": "marriage-certificate", "state": "deferred", "commitment": "承诺十日内补交",
                            "due": case["due_at"][:10]}  # fmt: skip
    assert (await post(client, villager, f"{CASES}/{cid}/update", body)).status_code == 200
    r = await post(client, villager, f"{CASES}/{cid}/resolve",
                   {"note": "出生登记已办结", "issued": "出生医学证明、户口簿", "delivery": "village_point",
                    "delivered_on": "2026-12-01"})  # fmt: skip
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert (result["outcome"], result["issued"], result["delivery"], result["delivered_on"]) == (
        "出生登记已办结", "出生医学证明、户口簿", "village_point", "2026-12-01")  # fmt: skip
    r = await post(client, villager, f"{CASES}/{cid}/reopen", {"reason": "x"})
    assert r.json()["result"] is None


async def test_an_unrated_case_closes_as_unrated_and_is_counted_apart(settings: Settings) -> None:
    clock = Clock(MONDAY)
    async with AsyncTestClient(app=create_app(settings, clock)) as client:
        villager = await headers(client, f"a{VILLAGE}")
        case = (await post(client, villager, CASES, case_payload())).json()
        rated = (await post(client, villager, CASES, case_payload())).json()
        for c in (case, rated):
            await post(client, villager, f"{CASES}/{c['id']}/update", all_provided(c))
            assert (await post(client, villager, f"{CASES}/{c['id']}/resolve", {"note": "已办结"})).status_code == 200
        # The applicant rates one with the code; the other is never rated.
        r = await client.post("/api/v1/ratings", json={"code": rated["rating_code"], "rating": 5})
        assert r.status_code == 200, r.text
        jobs = client.app.state.jobs
        # Ten working days (the default) end at 18:00 on Monday Nov 16: still waiting at 17:00.
        clock.at = MONDAY + timedelta(days=14, hours=7)
        await in_app(client, lambda: jobs.enqueue("sla_sweep"))
        assert jobs.results["sla_sweep"]["unrated"] == 0
        clock.at = MONDAY + timedelta(days=14, hours=8, minutes=1)
        await in_app(client, lambda: jobs.enqueue("sla_sweep"))
        assert jobs.results["sla_sweep"]["unrated"] == 1
        await in_app(client, lambda: jobs.enqueue("sla_sweep"))
        assert jobs.results["sla_sweep"]["unrated"] == 0
        closed = (await client.get(f"{CASES}/{case['id']}", headers=villager)).json()
        assert (closed["status"], closed["rating"], closed["rating_source"]) == ("closed", None, "unrated")
        history = (await client.get(f"{CASES}/{case['id']}/history", headers=villager)).json()
        assert history[-1]["action"] == "close-unrated" and history[-1]["actor_id"] is None

        dispatcher = await headers(client, "dispatcher")
        r = await client.get("/api/v1/reports/summary", params={"unit": VILLAGE, "from": "2026-11-01"},
                             headers=dispatcher)  # fmt: skip
        row = r.json()["rows"][0]
        assert (row["unrated"], row["rated_by_applicant"], row["rated_by_agent"]) == (1, 1, 0)
        assert row["ratings"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1} and row["mean_rating"] == 5


async def test_items_carry_their_structure_and_checklist(client: Client) -> None:
    items = {i["code"]: i for i in (await client.get("/api/v1/items")).json()}
    goji = items[GOJI]
    assert (goji["group"], goji["serves"], goji["locality_code"], goji["locality_name"]) == (
        "local", "enterprise", ZHONGNING, "中宁县")  # fmt: skip
    assert items["C01-housing-title-certificate"]["group"] == "certificate"
    assert items["N01-newborn-birth"]["locality_code"] is None and items["N01-newborn-birth"]["serves"] == "person"
    assert items["R01-resale-housing-transfer"]["serves"] == "both"
    assert [m["required"] for m in goji["materials"]] == [True] * len(goji["materials"])
    assert {"code", "name", "deferrable", "required"} <= set(goji["materials"][0])


async def test_who_an_item_serves_is_enforced(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    r = await post(client, villager, CASES, case_payload(applicant=firm()))
    assert (r.status_code, r.json()["code"]) == (422, "case.applicant_type_mismatch")
    r = await post(client, villager, CASES, case_payload(item_code="N13-enterprise-deregistration"))
    assert (r.status_code, r.json()["code"]) == (422, "case.applicant_type_mismatch")
    r = await post(client, villager, CASES, case_payload(kind="project_issue", item_code="R01-resale-housing-transfer",
                                                          project={"name": "枸杞深加工项目", "code": "2026-640500-01"}))
    assert (r.status_code, r.json()["code"]) == (422, "case.enterprise_required")
    r = await post(client, villager, CASES, case_payload(item_code="R01-resale-housing-transfer", applicant=firm()))
    assert r.status_code == 201, r.text
    # A landline is a valid contact number.
    assert r.json()["applicant"]["phone"] == "0955-7012345"


async def test_a_local_item_opened_in_another_county_goes_to_its_county_in_one_step(client: Client) -> None:
    agent = await headers(client, f"a{HAIYUAN_VILLAGE}")
    zhongning = await headers(client, f"a{ZHONGNING}")
    r = await post(client, agent, CASES, case_payload(item_code=GOJI, applicant=firm()))
    assert r.status_code == 201, r.text
    case = r.json()
    assert (case["status"], case["owner_unit"], case["assignee_id"]) == ("queued", ZHONGNING, None)
    assert case["origin_unit"] == HAIYUAN_VILLAGE and case["escalations"] == 0
    queue = (await client.get(CASES, params={"view": "queue"}, headers=zhongning)).json()["cases"]
    assert [c["id"] for c in queue] == [case["id"]]
    history = (await client.get(f"{CASES}/{case['id']}/history", headers=agent)).json()
    assert [(e["action"], e["after"]["owner_unit"]) for e in history] == [("create", ZHONGNING)]
    # Inside 中宁县 the same item starts where it was taken, like any other.
    local = await headers(client, "a640521100")
    inside = (await post(client, local, CASES, case_payload(item_code=GOJI, applicant=firm()))).json()
    assert (inside["status"], inside["owner_unit"]) == ("in_progress", "640521100")
