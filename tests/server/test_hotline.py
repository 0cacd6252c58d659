"""The 12345 loop: 接听 → 受理 → 转办 (to a department) → 部门办理 → 反馈 → 办结, and the
figures by channel."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner
from factories import Client, case_payload, headers, resident_id
from live import live_server

from cli import main
from server.settings import Settings

CITY = "640500"
TICKET = "12345-20261126-0042"


async def department(client: Client, name: str) -> str:
    kids = (await client.get(f"/api/v1/units/{CITY}/children")).json()
    [code] = [k["code"] for k in kids if k["name"] == name and k["level"] == "department"]
    return str(code)


async def unread(client: Client, who: dict[str, str]) -> int:
    return int((await client.get("/api/v1/notifications/unread-count", headers=who)).json()["unread"])


async def test_a_12345_complaint_goes_to_a_department_and_back_and_closes_after_feedback(client: Client) -> None:
    dispatcher = await headers(client, "dispatcher")
    planning = await department(client, "市自然资源局")
    housing = await department(client, "市住房城乡建设局")
    wrong_dept, right_dept = await headers(client, f"a{planning}"), await headers(client, f"a{housing}")

    # A 12345 matter carries its ticket number; a complaint needs no item, a service does.
    body: dict[str, Any] = case_payload(kind="complaint", source="12345", item_code="", title="小区路灯长期不亮")
    r = await client.post("/api/v1/cases", json={**body, "ticket_no": None}, headers=dispatcher)
    assert (r.status_code, r.json()["code"]) == (422, "case.ticket_no_required")
    r = await client.post("/api/v1/cases", json=case_payload(item_code=""), headers=dispatcher)
    assert (r.status_code, r.json()["code"]) == (422, "item.unknown")
    r = await client.post("/api/v1/cases", json={**body, "ticket_no": TICKET}, headers=dispatcher)
    assert r.status_code == 201, r.text
    case = r.json()
    cid = case["id"]
    assert (case["source"], case["ticket_no"], case["item_code"]) == ("12345", TICKET, "")
    assert (case["owner_unit"], case["status"]) == (CITY, "queued")

    async def act(who: dict[str, str], action: str, **args: Any) -> dict[str, Any]:
        r = await client.post(f"/api/v1/cases/{cid}/{action}", json=args, headers=who)
        assert r.status_code == 200, (action, r.text)
        return dict(r.json())

    # 转办 to the wrong department, which hears of it and returns it to the city.
    moved = await act(dispatcher, "dispatch", unit=planning, reason="转市自然资源局办理")
    assert (moved["owner_unit"], moved["status"]) == (planning, "queued")
    assert await unread(client, wrong_dept) == 1
    back = await act(wrong_dept, "return", reason="不属于本部门职责，请转住建局")
    assert (back["owner_unit"], back["status"], back["returns"]) == (CITY, "queued", 1)
    assert await unread(client, dispatcher) == 1  # the city's queue got it back

    # The right department does it.
    await act(dispatcher, "dispatch", unit=housing, reason="转市住房城乡建设局办理")
    await act(right_dept, "claim")
    done = await act(right_dept, "resolve", note="已更换路灯")
    assert done["status"] == "resolved"

    # Not closed before the feedback to 12345 is recorded.
    r = await client.post(f"/api/v1/cases/{cid}/confirm", json={"rating": 5}, headers=dispatcher)
    assert (r.status_code, r.json()["code"]) == (409, "case.feedback_required")
    fed = await act(dispatcher, "feedback", note="已电话回复12345热线：路灯已修复")
    assert fed["feedback"]["on_time"] is True and fed["feedback"]["note"].startswith("已电话回复")
    r = await client.post(f"/api/v1/cases/{cid}/feedback", json={"note": "再次反馈"}, headers=dispatcher)
    assert (r.status_code, r.json()["code"]) == (409, "case.feedback_given")
    closed = await act(dispatcher, "confirm", rating=5)
    assert closed["status"] == "closed"

    # The report counts it under source 12345, with its on-time feedback.
    day = date.fromisoformat(case["accepted_at"][:10])  # UTC; the report counts Beijing days
    period = {"unit": CITY, "from": str(day - timedelta(days=1)), "to": str(day + timedelta(days=1))}
    r = await client.get("/api/v1/reports/summary", params=period, headers=dispatcher)
    assert r.status_code == 200, r.text
    city = r.json()["rows"][0]
    assert city["by_source"]["12345"] == 1 and city["by_source"]["village"] == 0
    assert (city["hotline_feedback"], city["hotline_feedback_on_time"], city["hotline_feedback_on_time_rate"]) == (
        1, 1, 1.0,
    )  # fmt: skip
    # The departments have their own rows, as units of the city.
    assert {row["unit"] for row in r.json()["rows"]} >= {planning, housing}


def test_a_device_takes_a_12345_ticket_without_an_item(settings: Settings, tmp_path: Path) -> None:
    """``daiban village new --source 12345 --ticket-no …`` with no item: checked on the
    device, pushed, and the server keeps its channel and ticket number."""
    replica = str(tmp_path / "v.sqlite")
    with live_server(settings) as url:
        runner = CliRunner(env={"DAIBAN_PASSWORD": "demo"})
        run = [*("village", "--replica", replica)]
        r = runner.invoke(main, [*run, "init", "--server", url, "--user", "a640502100002"])
        assert r.exit_code == 0, r.output
        ticket = ["--kind", "complaint", "--source", "12345", "--ticket-no", TICKET, "--title", "反映路灯不亮"]
        r = runner.invoke(main, [*run, "new", *ticket, "--name", "马玉兰", "--resident-id", resident_id()])
        assert r.exit_code == 0, r.output
        r = runner.invoke(main, [*run, "sync"])
        assert r.exit_code == 0 and "rejected 0" in r.output, r.output
        token = httpx.post(f"{url}/api/v1/auth/token", json={"username": "dispatcher", "password": "demo"})
        who = {"Authorization": f"Bearer {token.json()['access_token']}"}
        [case] = httpx.get(f"{url}/api/v1/cases", params={"view": "queue"}, headers=who).json()["cases"]
        assert (case["source"], case["ticket_no"], case["item_code"], case["owner_unit"]) == ("12345", TICKET, "", CITY)
