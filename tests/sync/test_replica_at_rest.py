"""The replica at rest: the token in its own 0600 file, wiped at sign-out; personal data
masked as the API masks it for the agent."""

from __future__ import annotations

import stat
from pathlib import Path

from factories import Client, case_payload, headers, in_process_device

from sync.client import SyncClient
from sync.replica import Replica

VILLAGE = "640502100002"
TOWN = "640502100"
COUNTY = "640502"


def stored_bytes(path: Path) -> bytes:
    """Everything the replica's database files hold on disk (main file and its WAL)."""
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if not p.name.endswith(".token"))


async def test_token_file_is_private_and_wiped_at_sign_out(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    d = await in_process_device(client, path, f"a{VILLAGE}")
    token = d.transport.token
    assert token and d.replica.token_path.read_text() == token
    assert stat.S_IMODE(d.replica.token_path.stat().st_mode) == 0o600
    assert token.encode() not in stored_bytes(path)
    await d.sync()  # works with it
    d.sign_out()
    assert not d.replica.token_path.exists() and d.transport.token is None
    d.replica.close()
    again = SyncClient.open(path)
    assert again.transport.token is None and again.actor().username == f"a{VILLAGE}"
    again.replica.close()


def test_a_token_kept_in_an_older_replica_moves_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    old = Replica(path)
    old.put(None, token="legacy-token")
    old.close()
    replica = Replica(path)
    assert replica.get("token") is None and replica.read_token() == "legacy-token"
    assert stat.S_IMODE(replica.token_path.stat().st_mode) == 0o600
    replica.close()


async def test_replica_holds_personal_data_masked_as_the_api_shows_it(client: Client, tmp_path: Path) -> None:
    town, lead, village = [await headers(client, u) for u in (f"a{TOWN}", f"lead{COUNTY}", f"a{VILLAGE}")]
    body = case_payload()
    resident_id, phone = body["applicant"]["resident_id"], body["applicant"]["phone"]
    assert (await client.post("/api/v1/cases", json=body, headers=town)).status_code == 201
    await client.post(f"/api/v1/cases/{body['id']}/escalate", json={"reason": "县里协调"}, headers=town)
    r = await client.post(f"/api/v1/cases/{body['id']}/dispatch", json={"unit": VILLAGE}, headers=lead)
    assert r.status_code == 200, r.text
    path = tmp_path / "v.sqlite"
    d = await in_process_device(client, path, f"a{VILLAGE}")
    await d.sync()
    seen_online = (await client.get(f"/api/v1/cases/{body['id']}", headers=village)).json()["applicant"]
    local = d.case(body["id"])
    assert local is not None and local.applicant == seen_online
    assert seen_online["resident_id"] != resident_id and seen_online["phone"] != phone
    d.replica.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = stored_bytes(path)
    assert resident_id.encode() not in raw and phone.encode() not in raw
    d.replica.close()
