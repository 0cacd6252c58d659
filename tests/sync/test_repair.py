"""Evictions are forgotten only once the device acknowledges them; a replica that
diverged is repaired bucket by bucket, re-sending only the buckets that differ."""

from __future__ import annotations

import asyncio
import random
import signal
from pathlib import Path
from typing import Any

import httpx
from factories import Client, case_payload, headers, in_process_device
from live import live_server
from processes import spawn_device

from server.settings import Settings
from sync.cli import checksum_word
from sync.client import SyncClient, SyncReport
from sync.protocol import bucket_of
from sync.transport import SyncError

VILLAGE = "640502100002"
TOWN = "640502100"
COUNTY = "640502"


def api_login(url: str, user: str) -> dict[str, str]:
    r = httpx.post(url + "/api/v1/auth/token", json={"username": user, "password": "demo"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def server_scope(url: str, who: dict[str, str]) -> dict[str, int]:
    page = httpx.get(url + "/api/v1/cases", params={"view": "scope", "limit": 500}, headers=who).json()
    return {c["id"]: c["version"] for c in page["cases"]}


class Faulty:
    """The device's HTTP client with faults: every pull answer that carries an eviction is
    lost after the server made it, and any call may die before or after it is sent (the
    device killed mid-sync, or the link cut)."""

    def __init__(self, inner: Client, seed: int, die: float = 0.15) -> None:
        self.inner, self.rng, self.die = inner, random.Random(seed), die
        self.on = True
        self.dropped = self.killed = 0

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        if self.on and self.rng.random() < self.die:
            self.killed += 1
            raise httpx.ConnectError("killed before the request")
        response = await self.inner.request(method, url, **kwargs)
        if self.on and "/sync/pull" in url and response.status_code == 200 and response.json()["evicted"]:
            self.dropped += 1
            raise httpx.ReadError("the answer carrying the eviction was lost")
        if self.on and self.rng.random() < self.die:
            self.killed += 1
            raise httpx.ReadError("killed before the answer was read")
        return response

    async def aclose(self) -> None:
        return None


async def try_sync(device: SyncClient) -> SyncReport | None:
    try:
        return await device.sync()
    except SyncError as exc:
        assert exc.transient, exc
        return None


async def scope_of(client: Client, who: dict[str, str]) -> dict[str, int]:
    versions: dict[str, int] = {}
    cursor = None
    while True:
        params: dict[str, Any] = {"view": "scope", "limit": 500} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/cases", params=params, headers=who)).json()
        versions |= {c["id"]: c["version"] for c in page["cases"]}
        cursor = page["next_cursor"]
        if not cursor:
            return versions


async def test_lost_eviction_answers_are_sent_again(client: Client, tmp_path: Path) -> None:
    town, lead, village = [await headers(client, u) for u in (f"a{TOWN}", f"lead{COUNTY}", f"a{VILLAGE}")]
    cases = []
    for _ in range(6):
        case_id = (await client.post("/api/v1/cases", json=case_payload(), headers=town)).json()["id"]
        r = await client.post(f"/api/v1/cases/{case_id}/escalate", json={"reason": "县里协调"}, headers=town)
        assert r.status_code == 200, r.text
        cases.append(case_id)
    d = await in_process_device(client, tmp_path / "v.sqlite", f"a{VILLAGE}")
    faulty = Faulty(client, seed=9)
    d.transport._client = faulty  # type: ignore[assignment]
    at_village: set[str] = set()
    rng = random.Random(3)
    for _ in range(12):
        # Cases move into the village's scope (dispatched down) and out of it (returned up).
        for case_id in rng.sample(cases, 3):
            if case_id in at_village:
                r = await client.post(f"/api/v1/cases/{case_id}/return", json={"reason": "不属本村"}, headers=village)
                at_village.discard(case_id)
            else:
                r = await client.post(f"/api/v1/cases/{case_id}/dispatch", json={"unit": VILLAGE}, headers=lead)
                at_village.add(case_id)
            assert r.status_code == 200, r.text
        for _ in range(3):
            await try_sync(d)
    assert faulty.dropped >= 3 and faulty.killed >= 3, (faulty.dropped, faulty.killed)
    # Heal: a clean link, two syncs.
    faulty.on = False
    healed = await d.sync(check=True)
    expected = await scope_of(client, village)
    assert set(expected) == at_village
    assert dict(d.replica.versions()) == expected
    # The evictions themselves arrived again: no divergence repair was needed to get there.
    assert healed.checksum_ok and not healed.mismatch and d.conflicts() == []
    assert (await d.sync()).evicted == 0
    d.replica.close()


async def test_device_killed_while_cases_leave_its_scope(settings: Settings, tmp_path: Path) -> None:
    """The device process syncs in a loop and is killed with SIGKILL at random moments
    while cases move in and out of its scope; a restarted device then holds its scope,
    reached by the evictions themselves (no divergence repair)."""
    replica = tmp_path / "v.sqlite"
    with live_server(settings) as url:
        who = {u: api_login(url, u) for u in (f"a{TOWN}", f"lead{COUNTY}", f"a{VILLAGE}")}
        cases = []
        for _ in range(6):
            case_id = httpx.post(url + "/api/v1/cases", json=case_payload(), headers=who[f"a{TOWN}"]).json()["id"]
            r = httpx.post(f"{url}/api/v1/cases/{case_id}/escalate", json={"reason": "x"}, headers=who[f"a{TOWN}"])
            assert r.status_code == 200, r.text
            cases.append(case_id)
        device = SyncClient.open(replica)
        await device.init(url, f"a{VILLAGE}", "demo", "村部平板")
        await device.close()
        rng = random.Random(11)
        at_village: set[str] = set()
        for _ in range(8):
            for case_id in rng.sample(cases, 3):
                if case_id in at_village:
                    path, body, user = "return", {"reason": "不属本村"}, f"a{VILLAGE}"
                    at_village.discard(case_id)
                else:
                    path, body, user = "dispatch", {"unit": VILLAGE}, f"lead{COUNTY}"
                    at_village.add(case_id)
                r = httpx.post(f"{url}/api/v1/cases/{case_id}/{path}", json=body, headers=who[user])
                assert r.status_code == 200, r.text
            child = spawn_device("sync-forever", str(replica))
            await asyncio.sleep(rng.uniform(0.3, 2.0))
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=10)
            assert child.returncode == -signal.SIGKILL, child.stderr
        device = SyncClient.open(replica)
        report = await device.sync(check=True)
        versions = dict(device.replica.versions())
        expected = server_scope(url, who[f"a{VILLAGE}"])
        await device.close()
    assert set(expected) == at_village and versions == expected
    assert report.checksum_ok and not report.mismatch


async def test_a_damaged_replica_gets_back_only_the_bucket_that_differs(client: Client, tmp_path: Path) -> None:
    village = await headers(client, f"a{VILLAGE}")
    for _ in range(40):
        assert (await client.post("/api/v1/cases", json=case_payload(), headers=village)).status_code == 201
    d = await in_process_device(client, tmp_path / "v.sqlite", f"a{VILLAGE}")
    first = await d.sync()
    assert first.pulled == 40 and first.checksum_ok and not first.mismatch
    # Damage one case's copy (as a restored backup or a bad write would).
    damaged = sorted(d.replica.versions())[7][0]
    d.replica.conn.execute("UPDATE cases SET server_version = server_version + 5 WHERE id = ?", (damaged,))
    assert (await d.sync()).checksum_ok is None  # an ordinary sync: only what changed
    report = await d.sync(check=True)
    bucket = bucket_of(damaged)
    in_bucket = [cid for cid in await scope_of(client, village) if bucket_of(cid) == bucket]
    assert report.mismatch and report.repaired and report.checksum_ok
    assert (report.buckets, report.resent) == (1, len(in_bucket)) and report.resent < 40
    assert dict(d.replica.versions()) == await scope_of(client, village)
    assert checksum_word(report) == f"MISMATCH, 1 buckets re-sent ({len(in_bucket)} cases): REPAIRED"
    assert checksum_word(await d.sync(check=True)) == "ok"
    d.replica.close()


def test_the_checksum_line_says_what_happened() -> None:
    assert checksum_word(SyncReport(checksum_ok=True)) == "ok"
    failed = SyncReport(checksum_ok=False, mismatch=True, repaired=False, buckets=2, resent=9)
    assert checksum_word(failed) == "MISMATCH, 2 buckets re-sent (9 cases): FAILED"
