"""The dispatcher on a skewed network, on both engines.

In 海原县, 李旺镇 (640522101) is swamped: its first agent holds 16 cases for a capacity of
10, its queue holds 30 社保卡 cases of which 10 are already late, and its second agent
has been disabled with 6 cases in progress. The other towns sit idle — among them
南华山自然保护区管理处 and 种羊场, which take no citizen's case.

The workload shows the overloaded town and agent and the stranded cases at the top; the
plan moves the stranded cases, then the late queued ones, then the rest, never to a unit
that cannot serve them; after applying it the highest utilisation and the late cases
nobody can attend to fall (printed). An apply that stopped after its first move is
finished by applying again, without moving anything twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from factories import Client, headers
from jobkit import Clock, in_app, put_cases, read
from litestar.testing import AsyncTestClient

from hierarchy.calendar import TZ
from server import plans
from server.app import create_app
from server.settings import Settings
from server.tables import Agent, CaseEvent, Plan, Unit

COUNTY = "640522"
TOWN = "640522101"  # 李旺镇
RESERVE, FARM = "640522401", "640522400"  # 南华山自然保护区管理处, 种羊场
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
LONG_AGO = NOW - timedelta(days=30)
N03 = "N03-social-security-card"
BUSY, GONE = f"a{TOWN}", f"a{TOWN}-2"


async def setup(client: Client) -> None:
    async def work() -> None:
        await Agent.update({Agent.capacity: 10}).where(Agent.username == BUSY)
        await put_cases([{"owner": TOWN, "status": "in_progress", "assignee": BUSY, "item": N03}] * 12, NOW)
        await put_cases([{"owner": TOWN, "status": "in_progress", "assignee": BUSY, "item": N03}] * 4, LONG_AGO)
        await put_cases([{"owner": TOWN, "status": "in_progress", "assignee": GONE, "item": N03}] * 6, NOW)
        await put_cases([{"owner": TOWN, "status": "queued", "assignee": None, "item": N03}] * 20, NOW)
        await put_cases([{"owner": TOWN, "status": "queued", "assignee": None, "item": N03}] * 10, LONG_AGO)

    await in_app(client, work)


async def restore(client: Client) -> None:
    async def work() -> None:
        await Agent.update({Agent.capacity: 20, Agent.active: True}).where(Agent.username.is_in([BUSY, GONE]))

    await in_app(client, work)


def figures(load: dict[str, Any]) -> dict[str, Any]:
    return {
        "max agent utilisation": max((a["utilisation"] or 0) for a in load["agents"]),
        "max unit utilisation": load["units"][0]["hottest_utilisation"],  # a unit's own, in the subtree
        "stranded": len(load["stranded"]),
        "breached": load["breached_total"],
        "late unattended": load["late_unattended"],
    }


async def test_skewed_load_workload_plan_and_apply(settings: Settings) -> None:
    async with AsyncTestClient(app=create_app(settings, Clock(NOW))) as client:
        try:
            await check(client)
        finally:
            await restore(client)  # PostgreSQL keeps agents between tests


async def check(client: Client) -> None:
    await setup(client)
    admin = await headers(client, "admin")
    r = await client.post(f"/api/v1/agents/{GONE}/disable", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["stranded_cases"] == 6  # offered to plan them away
    lead = await headers(client, f"lead{COUNTY}")

    r = await client.get("/api/v1/workload", params={"unit": COUNTY}, headers=lead)
    assert r.status_code == 200, r.text
    load = r.json()
    total, own = load["units"][0], load["units"][1]
    assert (total["line"], own["line"]) == ("total", "own")
    counted = ("open", "queued", "in_progress", "overdue", "stranded", "agents", "capacity")
    assert all(total[f] == sum(u[f] for u in load["units"][1:]) for f in counted)
    town = next(u for u in load["units"] if u["code"] == TOWN)
    assert (town["queued"], town["in_progress"], town["overdue"], town["stranded"]) == (30, 22, 14, 6)
    assert town["hottest_unit"] == TOWN and town["hottest_utilisation"] == 5.2  # 52 open for 10 capacity
    assert load["overloaded_units"][0]["code"] == TOWN
    assert [a["username"] for a in load["overloaded_agents"]] == [BUSY]
    assert load["agents"][0]["username"] == BUSY and load["agents"][0]["utilisation"] == 1.6
    utilisations = [a["utilisation"] or 0 for a in load["agents"]]
    assert utilisations == sorted(utilisations, reverse=True)
    assert GONE not in {a["username"] for a in load["agents"]}
    assert len(load["stranded"]) == 6 and load["breached_total"] == 14
    assert {b["owner_unit"] for b in load["breached"]} == {TOWN}

    r = await client.post("/api/v1/workload/plans", json={"unit": COUNTY}, headers=lead)
    assert r.status_code == 201, r.text
    plan = r.json()
    moves = plan["moves"]
    whys = [m["why"] for m in moves]
    # Stranded first (every one placed), then queued cases, then cases in progress; late
    # ones first in each.
    assert whys[:6] == ["stranded"] * 6 and plan["unplaced"] == []
    in_progress = next(i for i, m in enumerate(moves) if m["kind"] == "agent" and m["why"] != "stranded")
    queued, held = moves[6:in_progress], moves[in_progress:]
    assert {m["kind"] for m in queued} == {"unit"} and {m["kind"] for m in held} == {"agent"}
    assert [m["why"] for m in queued][:10] == ["late"] * 10 and len(queued) > 10
    assert [m["why"] for m in held] == sorted((m["why"] for m in held), key=["late", "load"].index)
    assert not {m["to_unit"] for m in moves} & {RESERVE, FARM}
    serves = {
        u["code"]: u["serves"]
        for u in await read(
            client,
            Unit.select(Unit.code, Unit.serves).where(Unit.code.is_in([RESERVE, FARM, TOWN])).output(load_json=True),
        )
    }
    assert serves == {RESERVE: ["enterprise"], FARM: ["enterprise"], TOWN: ["individual", "enterprise"]}

    # An apply that stopped after its first move: the move is written and recorded, the plan not finished.
    first = plans.MoveOut(**moves[0])

    async def first_move_only() -> None:
        actor = (await plans.load_actor(plan["created_by"]))[0]  # type: ignore[index]
        await plans._apply_move(client.app.state.engine, actor, first, f"rebalance plan {plan['id']}", NOW)
        await Plan.update({Plan.result: {"applied": [first.case_id], "skipped": []}}).where(Plan.id == plan["id"])

    await in_app(client, first_move_only)
    r = await client.post(f"/api/v1/workload/plans/{plan['id']}/apply", headers=lead)
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert result["skipped"] == [] and result["applied"][0] == first.case_id
    assert sorted(result["applied"]) == sorted(m["case_id"] for m in moves)
    handovers = await read(
        client,
        CaseEvent.select(CaseEvent.case_id).where(
            (CaseEvent.action == "handover") & (CaseEvent.reason == f"rebalance plan {plan['id']}")
        ),
    )
    assert sorted(str(h["case_id"]) for h in handovers) == sorted(m["case_id"] for m in moves)  # once each

    after = (await client.get("/api/v1/workload", params={"unit": COUNTY}, headers=lead)).json()
    before_f, after_f = figures(load), figures(after)
    print(f"\nplan {plan['id']}: {len(moves)} moves ({whys.count('stranded')} stranded, {whys.count('late')} late)")
    for key in before_f:
        print(f"{key:>22}: before {before_f[key]}  after {after_f[key]}")
    assert after_f["max agent utilisation"] < before_f["max agent utilisation"]
    assert after_f["max unit utilisation"] < before_f["max unit utilisation"]
    assert after_f["late unattended"] < before_f["late unattended"] and after_f["stranded"] == 0
    again = await client.post(f"/api/v1/workload/plans/{plan['id']}/apply", headers=lead)
    assert (again.status_code, again.json()["code"]) == (409, "plan.already_applied")


async def test_a_plan_for_one_agent_moves_all_their_cases(settings: Settings) -> None:
    async with AsyncTestClient(app=create_app(settings, Clock(NOW))) as client:
        try:
            await setup(client)
            lead = await headers(client, f"lead{COUNTY}")
            r = await client.post("/api/v1/workload/plans", json={"unit": COUNTY, "agent": GONE}, headers=lead)
            assert r.status_code == 201, r.text
            plan = r.json()
            assert plan["agent"] == GONE and len(plan["moves"]) == 6
            assert {m["from_agent"] for m in plan["moves"]} == {plan["moves"][0]["from_agent"]}
            assert all(m["to_agent"] and m["why"] == "stranded" for m in plan["moves"])
        finally:
            await restore(client)
