"""Last writer wins across online and offline edits: the server stamps online edits too."""

from __future__ import annotations

import asyncio
from pathlib import Path

from factories import Client, case_payload, headers, in_process_device

from sync import hlc

VILLAGE = "640502100002"


async def test_older_offline_edit_loses_to_newer_online_edit(client: Client, tmp_path: Path) -> None:
    d = await in_process_device(client, tmp_path / "v.sqlite", f"a{VILLAGE}")
    body = case_payload()
    body.pop("id")
    case = d.create(body)
    await d.sync()
    d.edit(case.id, title="离线标题（先写）", description="离线说明（先写）")  # offline, not yet synced
    await asyncio.sleep(0.01)
    online = await headers(client, f"a{VILLAGE}")
    r = await client.post(f"/api/v1/cases/{case.id}/update", json={"title": "在线标题（后写）"}, headers=online)
    assert r.status_code == 200, r.text
    report = await d.sync()
    assert (report.applied, report.rejected) == (1, 0)
    server = (await client.get(f"/api/v1/cases/{case.id}", headers=online)).json()
    # The title was written later online: it stays. The description had no later edit.
    assert server["title"] == "在线标题（后写）" and server["description"] == "离线说明（先写）"
    assert d.case(case.id).title == "在线标题（后写）"
    # And the other way round: an offline edit made after the online one wins.
    await asyncio.sleep(0.01)
    d.edit(case.id, title="离线标题（再写）")
    await d.sync()
    server = (await client.get(f"/api/v1/cases/{case.id}", headers=online)).json()
    assert server["title"] == "离线标题（再写）"
    d.replica.close()


def test_a_server_stamp_orders_after_every_recorded_stamp() -> None:
    ahead = hlc.format_stamp(2_000, 4, "dev1")
    assert hlc.later_than([ahead, hlc.format_stamp(1_000, 9, "dev2")], 1_500, "server") == hlc.format_stamp(
        2_000, 5, "server"
    )
    assert hlc.later_than(["not a stamp"], 1_500, "server") == hlc.format_stamp(1_500, 0, "server")
