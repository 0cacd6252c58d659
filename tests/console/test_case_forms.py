"""Materials (容缺 deferrals) and new cases through the console's forms, over the API and
on a device replica, against a real server; every effect checked through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from console_kit import VILLAGE, Api, notes, screen_name, sign_in, wait_for
from factories import credit_code, resident_id
from live import free_port
from textual.pilot import Pilot
from textual.widgets import Static

from console.app import DaibanConsole
from console.data import DataClient
from console.format import CST
from console.http_client import HttpDataClient
from console.replica_client import ReplicaDataClient
from console.screens.case_forms import MaterialsForm, NewCaseForm
from console.screens.detail import DetailScreen
from console.widgets.case_table import CaseTable

VILLAGER = f"a{VILLAGE}"
TOWN_AGENT = "a640502100"
COUNTY_AGENT = "a640502"
#: N01 新生儿出生: marriage-certificate (index 3) and insurance-enrolment-form (4) may be deferred.
MARRIAGE, INSURANCE = 3, 4


@pytest.fixture
async def online(server: str) -> AsyncIterator[HttpDataClient]:
    client = HttpDataClient(server)
    yield client
    await client.close()


@pytest.fixture
async def device(server: str, tmp_path: Path) -> AsyncIterator[ReplicaDataClient]:
    client = ReplicaDataClient.open(tmp_path / "replica.sqlite", server=server, attempts=1, timeout=3)
    yield client
    await client.close()


def console(client: DataClient) -> DaibanConsole:
    return DaibanConsole(client, status_every=0.5, sync_every=60)


async def open_case(pilot: Pilot[None], case_id: str) -> None:
    app = pilot.app
    table = app.screen.query_one(CaseTable)
    await wait_for(pilot, lambda: any(str(r.id) == case_id for r in table.rows_shown))
    table.move_cursor(row=next(i for i, r in enumerate(table.rows_shown) if str(r.id) == case_id))
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.case is not None)


async def open_materials(pilot: Pilot[None]) -> MaterialsForm:
    await pilot.press("m")
    await wait_for(pilot, lambda: screen_name(pilot.app) == "MaterialsForm")
    form = pilot.app.screen
    assert isinstance(form, MaterialsForm)
    return form


async def choose(pilot: Pilot[None], *keys: str) -> None:
    """Open the focused list (Enter), move through it and pick (Enter)."""
    await pilot.press("enter", *keys, "enter")


def error_text(pilot: Pilot[None]) -> str:
    return str(pilot.app.screen.query_one("#error", Static).content)


def case_due(case: dict[str, object]) -> date:
    from datetime import datetime

    return datetime.fromisoformat(str(case["due_at"])).astimezone(CST).date()


async def test_materials_with_a_deferral_over_the_api(online: HttpDataClient, api: Api) -> None:
    case = api.create(VILLAGER)
    late = (case_due(case) + timedelta(days=3)).isoformat()
    app = console(online)
    async with app.run_test(notifications=True, size=(80, 24)) as pilot:
        await sign_in(pilot, VILLAGER)
        await open_case(pilot, case["id"])
        form = await open_materials(pilot)
        await choose(pilot, "up")  # 出生医学证明: missing → provided
        await pilot.press("tab", "tab", "tab")
        await choose(pilot, "down")  # 父母结婚证: missing → 容缺 deferred; the cursor goes to the commitment
        assert form.query_one(f"#deferral-{MARRIAGE}").display
        await pilot.press(*"申请人承诺三日内补交结婚证", "tab", "home", "ctrl+k", *late, "enter")
        # The rules refuse a deferral due after the case, with their code, in the form.
        await wait_for(pilot, lambda: "case.deferral_after_due" in error_text(pilot))
        assert screen_name(app) == "MaterialsForm"
        assert app.focused is not None and app.focused.id == f"due-{MARRIAGE}"
        await pilot.press("home", "ctrl+k", *case_due(case).isoformat(), "enter")
        await wait_for(pilot, lambda: any("材料已保存" in n for n in notes(app)))
        assert isinstance(app.screen, DetailScreen)
    materials = {m["code"]: m for m in api.case(VILLAGER, case["id"])["materials"]}
    assert materials["birth-medical-certificate"]["state"] == "provided"
    deferred = materials["marriage-certificate"]
    assert (deferred["state"], deferred["commitment"], deferred["due"]) == (
        "deferred",
        "申请人承诺三日内补交结婚证",
        case_due(case).isoformat(),
    )
    assert api.history(VILLAGER, case["id"])[-1]["action"] == "update"


async def test_a_deferral_needs_a_commitment_and_the_server_has_the_last_word(online: HttpDataClient, api: Api) -> None:
    held = api.create(VILLAGER)
    queued = api.queued_at_town()
    api.act(TOWN_AGENT, queued["id"], "claim")
    queued = api.act(TOWN_AGENT, queued["id"], "escalate", reason="涉及县级部门")
    app = console(online)
    async with app.run_test(notifications=True, size=(80, 24)) as pilot:
        await sign_in(pilot, COUNTY_AGENT)
        # In the county's queue, unclaimed: the form's checks pass, the server refuses.
        await open_case(pilot, queued["id"])
        await open_materials(pilot)
        await choose(pilot, "up")
        await pilot.click("#save")
        await wait_for(pilot, lambda: "case.forbidden" in error_text(pilot))
        assert screen_name(app) == "MaterialsForm"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen))
    assert api.case(COUNTY_AGENT, queued["id"])["version"] == queued["version"]

    app = console(HttpDataClient(online.base_url))
    async with app.run_test(notifications=True, size=(80, 24)) as pilot:
        await sign_in(pilot, VILLAGER)
        await open_case(pilot, held["id"])
        form = await open_materials(pilot)
        await pilot.press(*["tab"] * INSURANCE)
        await choose(pilot, "down")
        await pilot.press("enter")  # no commitment typed
        await wait_for(pilot, lambda: "case.commitment_required" in error_text(pilot))
        assert app.focused is form.query_one(f"#commitment-{INSURANCE}")
    await app.client.close()
    assert api.case(VILLAGER, held["id"])["version"] == held["version"]


async def test_materials_offline_on_a_device_then_synced(device: ReplicaDataClient, api: Api) -> None:
    case = api.create(VILLAGER)
    app = console(device)
    async with app.run_test(notifications=True, size=(80, 24)) as pilot:
        await sign_in(pilot, VILLAGER)
        await open_case(pilot, case["id"])
        server = device.sc.transport.base_url
        device.sc.transport.base_url = f"http://127.0.0.1:{free_port()}"  # offline
        await open_materials(pilot)
        await pilot.press(*["tab"] * INSURANCE)
        await choose(pilot, "down")
        await pilot.press(*"申请人承诺下周补交参保登记表", "enter")
        await wait_for(pilot, lambda: any("联网后同步" in n for n in notes(app)))
        assert api.case(VILLAGER, case["id"])["version"] == case["version"]  # the server has not heard

        device.sc.transport.base_url = server
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: device.sc.status().pending == 0)
    insurance = next(m for m in api.case(VILLAGER, case["id"])["materials"] if m["code"] == "insurance-enrolment-form")
    assert (insurance["state"], insurance["commitment"]) == ("deferred", "申请人承诺下周补交参保登记表")


async def fill_new_case(pilot: Pilot[None], item: str, name: str, ident: str, phone: str = "") -> NewCaseForm:
    await pilot.press("ctrl+n")
    await wait_for(pilot, lambda: screen_name(pilot.app) == "NewCaseForm")
    form = pilot.app.screen
    assert isinstance(form, NewCaseForm)
    await choose(pilot, *item)  # type to find the item in the catalogue
    await pilot.press("tab", "tab", "tab", *name, "tab", *ident, "tab", *phone)
    return form


async def test_new_case_for_a_person_over_the_api(online: HttpDataClient, api: Api) -> None:
    good = resident_id(731)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    app = console(online)
    async with app.run_test(notifications=True, size=(80, 24)) as pilot:
        await sign_in(pilot, VILLAGER)
        form = await fill_new_case(pilot, "N01", "马玉兰", bad, "138 9551 2345")
        await pilot.press("tab", "tab", "space")  # past the service mode: tick 老年 elderly
        await pilot.click("#save")
        await wait_for(pilot, lambda: "applicant.resident_id_invalid" in error_text(pilot))
        assert app.focused is form.query_one("#ident")
        await pilot.press("home", "ctrl+k", *good, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.case is not None)
        assert isinstance(app.screen, DetailScreen) and app.screen.case is not None
        created = app.screen.case
        await wait_for(pilot, lambda: any(f"{created.ref}: 已创建" in n for n in notes(app)))
    case = api.case(VILLAGER, str(created.id))
    assert (case["item_code"], case["status"], case["created_by"]) == (
        "N01-newborn-birth",
        "in_progress",
        api.agent_id(VILLAGER),
    )
    assert case["applicant"] == {"type": "person", "name": "马玉兰", "resident_id": good, "phone": "13895512345"}
    assert (case["groups"], case["priority"], case["service_mode"]) == (["elderly"], 1, "assist")


async def test_new_case_for_a_firm_takes_its_credit_code(online: HttpDataClient, api: Api) -> None:
    code = credit_code(4242)
    app = console(online)
    async with app.run_test(notifications=True, size=(80, 24)) as pilot:
        await sign_in(pilot, VILLAGER)
        form = await fill_new_case(pilot, "R06", "宁夏枸杞贸易有限公司", code.lower())
        # The item's whole checklist is shown as soon as it is picked (一次性告知).
        shown = str(form.query_one("#checklist", Static).render())
        assert shown.startswith("材料清单：") and "(容缺)" in shown
        # An enterprise matter: the form asks for a firm's credit code, not a resident ID.
        assert "Credit code" in str(form.query_one("#ident-label", Static).render())
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.case is not None)
        assert isinstance(app.screen, DetailScreen) and app.screen.case is not None
        case_id = str(app.screen.case.id)
    applicant = api.case(VILLAGER, case_id)["applicant"]
    assert applicant == {"type": "firm", "name": "宁夏枸杞贸易有限公司", "credit_code": code}


async def test_new_case_offline_on_a_device_then_synced(device: ReplicaDataClient, api: Api) -> None:
    app = console(device)
    async with app.run_test(notifications=True, size=(80, 24)) as pilot:
        await sign_in(pilot, VILLAGER)
        server = device.sc.transport.base_url
        device.sc.transport.base_url = f"http://127.0.0.1:{free_port()}"  # offline
        await fill_new_case(pilot, "N03", "李文华", resident_id(732))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.case is not None)
        assert isinstance(app.screen, DetailScreen) and app.screen.case is not None
        case_id = str(app.screen.case.id)
        await wait_for(pilot, lambda: any("联网后同步" in n for n in notes(app)))

        device.sc.transport.base_url = server
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: device.sc.status().pending == 0)
    case = api.case(VILLAGER, case_id)
    assert case["ref"] and case["item_code"] == "N03-social-security-card"
    assert case["applicant"]["name"] == "李文华"
