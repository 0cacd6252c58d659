"""Search by the person: name, resident ID, phone, credit code and project code, in scope
only, masked per role; the device finds the same in its replica."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from factories import Client, case_payload, credit_code, headers, resident_id
from live import live_server

from server.settings import Settings
from sync.client import SyncClient

CASES = "/api/v1/cases"
VILLAGE = "640502100002"  # 向阳巷居委会, under 滨河镇
TOWN = "640502100"
OUTSIDER = "a640521100"  # 宁安镇, 中宁县


def people() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    person = {"type": "person", "name": "马 玉兰", "resident_id": resident_id(), "phone": "0955-7012345"}
    firm = {"type": "firm", "name": "中卫市沙坡头枸杞合作社", "credit_code": credit_code(), "phone": "13995512345"}
    other = {"type": "person", "name": "李建国", "resident_id": resident_id(), "phone": "13895500000"}
    return person, firm, other


async def make(client: Client, who: dict[str, str], **over: Any) -> dict[str, Any]:
    r = await client.post(CASES, json=case_payload(**over), headers=who)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def found(client: Client, who: dict[str, str], **params: str) -> list[str]:
    r = await client.get(CASES, params=params, headers=who)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["cases"]]


async def test_search_by_the_person_in_scope_only(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    town = await headers(client, f"a{TOWN}")
    outsider = await headers(client, OUTSIDER)
    person, firm, other = people()
    card = {"title": "社会保障卡居民服务", "item_code": "N03-social-security-card"}
    mine = await make(client, villager, applicant=person, **card)
    await make(client, villager, applicant=other, **card)
    firms = await make(client, villager, applicant=firm, item_code="R06-enterprise-opening")
    plan = {"name": "枸杞深加工", "code": "2026-640502-04-01-000123"}
    project = await make(client, villager, applicant=firm, kind="project_issue", item_code="", title="项目用地",
                         project=plan)  # fmt: skip

    queries = {
        "马玉兰": {mine["id"]},  # spaces in a name do not matter
        person["resident_id"]: {mine["id"]},
        person["resident_id"].lower(): {mine["id"]},
        "0955 7012345": {mine["id"]},  # a landline, written another way
        firm["credit_code"]: {firms["id"], project["id"]},
        "+86 139 9551 2345": {firms["id"], project["id"]},
        "2026-640502-04-01-000123": {project["id"]},
    }
    for text, expected in queries.items():
        assert set(await found(client, town, person=text)) == expected, text
        assert await found(client, outsider, person=text) == [], text
    # q finds the person too, besides titles and references.
    assert set(await found(client, town, q="马玉兰")) == {mine["id"]}
    # Masked per role: the town agent, not the creator or assignee, sees the ID masked.
    shown = (await client.get(CASES, params={"person": person["resident_id"]}, headers=town)).json()["cases"][0]
    assert shown["applicant"]["resident_id"] != person["resident_id"] and "*" in shown["applicant"]["resident_id"]
    # A correction moves the search with it, and is audited before/after.
    fix = {"applicant": {"name": "马玉蓝", "phone": "13800000001"}}
    r = await client.post(f"{CASES}/{mine['id']}/update", json=fix, headers=villager)
    assert r.status_code == 200, r.text
    assert await found(client, town, person="马玉兰") == []
    assert await found(client, town, person="马玉蓝") == [mine["id"]]
    assert await found(client, town, person="13800000001") == [mine["id"]]
    history = (await client.get(f"{CASES}/{mine['id']}/history", headers=villager)).json()
    last = history[-1]
    assert last["action"] == "update"
    assert (last["before"]["applicant"]["name"], last["after"]["applicant"]["name"]) == ("马 玉兰", "马玉蓝")
    assert "name_key" not in last["after"] and "phone_key" not in last["after"]
    # Others may not correct it; a bad number is refused with its code.
    r = await client.post(f"{CASES}/{mine['id']}/update", json={"applicant": {"name": "x"}}, headers=town)
    assert (r.status_code, r.json()["code"]) == (403, "case.forbidden")
    r = await client.post(f"{CASES}/{mine['id']}/update", json={"applicant": {"phone": "12345"}}, headers=villager)
    assert (r.status_code, r.json()["code"]) == (422, "applicant.phone_invalid")


async def test_the_device_searches_its_replica_the_same_way(settings: Settings, tmp_path: Path) -> None:
    person, firm, _ = people()
    with live_server(settings) as url:
        token = httpx.post(url + "/api/v1/auth/token", json={"username": f"a{TOWN}", "password": "demo"}).json()
        town = {"Authorization": f"Bearer {token['access_token']}"}
        body = case_payload(applicant=person, item_code="N03-social-security-card")
        made = httpx.post(url + CASES, json=body, headers=town).json()
        device = SyncClient.open(tmp_path / "v.sqlite", attempts=3, wait_initial=0.01, wait_max=0.05, timeout=5)
        await device.init(url, f"a{VILLAGE}", "demo")
        body = case_payload(applicant=firm, item_code="R06-enterprise-opening")
        body.pop("id")
        local = device.create(body)  # offline, not yet synced
        await device.sync()
        await device.close()
    device = SyncClient.open(tmp_path / "v.sqlite", attempts=1, wait_initial=0.01, wait_max=0.01, timeout=1)
    # The town's case is not in a village agent's scope: nothing of it is on the device.
    assert device.search(person["resident_id"]) == [] and device.search("马玉兰") == []
    assert [c.id for c in device.search(firm["credit_code"])] == [local.id]
    assert [c.id for c in device.search("139 9551 2345")] == [local.id]
    assert [c.id for c in device.search("中卫市沙坡头枸杞合作社")] == [local.id]
    assert str(made["id"]) not in {str(c.id) for c in device.search("社会保障卡")}
    await device.close()
