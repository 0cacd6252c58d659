"""The offline client against a real server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from factories import case_payload
from live import live_server

from hierarchy.errors import DaibanError
from server.settings import Settings
from sync.client import SyncClient

VILLAGE = "640502100002"
TOWN = "640502100"


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    with live_server(settings) as url:
        yield url


def fast(path: Path) -> SyncClient:
    return SyncClient.open(path, attempts=3, wait_initial=0.01, wait_max=0.05, timeout=5)


def api_token(url: str, user: str) -> dict[str, str]:
    r = httpx.post(url + "/api/v1/auth/token", json={"username": user, "password": "demo"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_offline_create_then_sync(server: str, tmp_path: Path) -> None:
    device = fast(tmp_path / "v.sqlite")
    await device.init(server, f"a{VILLAGE}", "demo", "村部平板")
    body = case_payload()
    body.pop("id")
    case = device.create(body)
    device.edit(case.id, description="材料齐全")
    device.act(case.id, "escalate", reason="请镇里办理")
    assert device.status().pending == 3
    assert device.case(case.id).owner_unit == TOWN  # applied here at once
    report = await device.sync()
    assert (report.applied, report.rejected, report.conflicts) == (3, 0, 0)
    assert report.checksum_ok and device.status().pending == 0
    server_case = httpx.get(f"{server}/api/v1/cases/{case.id}", headers=api_token(server, f"a{VILLAGE}")).json()
    assert server_case["owner_unit"] == TOWN and server_case["description"] == "材料齐全"
    assert device.case(case.id).version == server_case["version"] == 3
    await device.close()


async def test_local_rules_refuse_at_once(server: str, tmp_path: Path) -> None:
    device = fast(tmp_path / "v.sqlite")
    await device.init(server, f"a{VILLAGE}", "demo")
    body = case_payload()
    body.pop("id")
    case = device.create(body)
    with pytest.raises(DaibanError) as caught:
        device.act(case.id, "confirm", rating=5)
    assert caught.value.code == "case.illegal_transition"
    assert device.status().pending == 1
    await device.close()


async def test_losing_claim_becomes_a_conflict(server: str, tmp_path: Path) -> None:
    village = fast(tmp_path / "v.sqlite")
    await village.init(server, f"a{VILLAGE}", "demo")
    body = case_payload()
    body.pop("id")
    case = village.create(body)
    village.act(case.id, "escalate", reason="上报")
    await village.sync()
    one, two = fast(tmp_path / "t1.sqlite"), fast(tmp_path / "t2.sqlite")
    await one.init(server, f"a{TOWN}", "demo")
    await two.init(server, f"a{TOWN}-2", "demo")
    await one.sync()
    await two.sync()
    one.act(case.id, "claim")
    two.act(case.id, "claim")  # both offline, both think they hold it
    first, second = await one.sync(), await two.sync()
    assert (first.applied, first.conflicts) == (1, 0)
    assert (second.rejected, second.conflicts) == (1, 1)
    conflict = two.conflicts()[0]
    assert conflict.code == "case.already_claimed" and conflict.case_id == str(case.id)
    assert two.case(case.id).assignee_id == one.actor().id  # rebased on the server's truth
    for c in (village, one, two):
        await c.close()


async def test_server_down_keeps_work_queued(settings: Settings, tmp_path: Path) -> None:
    with live_server(settings) as url:
        device = fast(tmp_path / "v.sqlite")
        await device.init(url, f"a{VILLAGE}", "demo")
    body = case_payload()
    body.pop("id")
    case = device.create(body)
    with pytest.raises(DaibanError) as caught:
        await device.sync()
    assert caught.value.code == "network.unreachable"
    assert device.status().pending == 1 and not device.status().online
    port = int(url.rsplit(":", 1)[1])
    with live_server(settings, port=port):
        report = await device.sync()
    assert report.applied == 1 and device.status().pending == 0 and device.case(case.id).ref
    await device.close()
