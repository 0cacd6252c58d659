"""The device runs the server's create checks; a refused create leaves nothing behind;
an eviction is a conflict only when operations on the case are still unsent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest
from factories import Client, case_payload, headers, in_process_device

from hierarchy.errors import DaibanError
from sync.client import SyncClient

VILLAGE = "640502100002"
TOWN = "640502100"
COUNTY = "640502"


async def device(client: Client, tmp_path: Path, user: str = f"a{VILLAGE}") -> SyncClient:
    return await in_process_device(client, tmp_path / f"{user}.sqlite", user)


def new_body(**over: Any) -> dict[str, Any]:
    body = case_payload(**over)
    body.pop("id")
    return body


async def test_bad_applicant_is_refused_before_it_is_queued(client: Client, tmp_path: Path) -> None:
    d = await device(client, tmp_path)
    good = case_payload()["applicant"]
    bad = {
        "applicant.resident_id_invalid": {**good, "resident_id": good["resident_id"][:-1] + "0"}
        if good["resident_id"][-1] != "0" else {**good, "resident_id": good["resident_id"][:-1] + "1"},
        "applicant.phone_invalid": {**good, "phone": "12345"},
        "applicant.name_required": {**good, "name": "  "},
        "applicant.resident_id_required": {k: v for k, v in good.items() if k != "resident_id"},
    }
    for code, applicant in bad.items():
        with pytest.raises(DaibanError) as caught:
            d.create(new_body(applicant=applicant))
        assert caught.value.code == code
    with pytest.raises(DaibanError) as caught:
        d.create(new_body(title="nul\x00"))
    assert caught.value.code == "case.title_invalid"
    assert d.status().pending == 0 and d.cases() == []
    # What the device accepts, the server accepts, stored the same way.
    case = d.create(new_body(applicant={**good, "resident_id": good["resident_id"].lower()}))
    report = await d.sync()
    assert (report.applied, report.rejected) == (1, 0)
    assert d.case(case.id) == d.replica.server_case(str(case.id))
    d.replica.close()


async def test_refused_create_is_shown_closed_and_removed_on_dismissal(client: Client, tmp_path: Path) -> None:
    d = await device(client, tmp_path)
    # An item the device still lists but the server no longer has: a refusal the device
    # could not foresee.
    items = [*d.items(), {**d.items()[0], "code": "X-withdrawn"}]
    with d.replica.tx() as c:
        d.replica.put(c, items=msgspec.json.encode(items).decode())
    case = d.create(new_body(item_code="X-withdrawn"))
    d.edit(case.id, description="材料已收")
    d.act(case.id, "wait", reason="等申请人补材料")
    report = await d.sync()
    assert (report.applied, report.rejected, report.conflicts) == (0, 3, 1)
    [conflict] = d.conflicts()
    assert (conflict.kind, conflict.code) == ("create", "item.unknown")
    assert d.rejected_cases() == {str(case.id): "item.unknown"}
    assert [c.id for c in d.cases()] == [case.id]  # still listed, as rejected
    with pytest.raises(DaibanError) as caught:
        d.act(case.id, "resume")
    assert caught.value.code == "case.rejected"
    with pytest.raises(DaibanError):
        d.edit(case.id, title="再改")
    # An operation on it still queued (made before the refusal came back) goes out quietly.
    with d.replica.tx() as c:
        d.replica.enqueue(c, d._client_id(), str(case.id), "edit", {"title": "x"}, d.hlc.now())
    d.replica.dismiss(conflict.id)
    assert d.cases() == [] and d.case(case.id) is None and d.rejected_cases() == {}
    report = await d.sync()
    assert (report.rejected, report.conflicts) == (1, 0)
    assert d.status().pending == 0 and d.conflicts() == []
    d.replica.close()


async def test_applied_operations_make_no_eviction_conflict(client: Client, tmp_path: Path) -> None:
    town, lead = await headers(client, f"a{TOWN}"), await headers(client, f"lead{COUNTY}")
    case_id = (await client.post("/api/v1/cases", json=case_payload(), headers=town)).json()["id"]
    r = await client.post(f"/api/v1/cases/{case_id}/escalate", json={"reason": "县里协调"}, headers=town)
    assert r.status_code == 200, r.text
    r = await client.post(f"/api/v1/cases/{case_id}/dispatch", json={"unit": VILLAGE}, headers=lead)
    assert r.status_code == 200, r.text
    d = await device(client, tmp_path)
    await d.sync()
    # The village sends it back up without holding it: applied, and the case leaves its scope.
    d.act(case_id, "escalate", reason="需镇里办理")
    report = await d.sync()
    assert (report.applied, report.evicted, report.conflicts) == (1, 1, 0)
    assert d.case(case_id) is None and d.conflicts() == []
    d.replica.close()
