"""Files over a bad link: a 20 MB upload cut every megabyte or so, photos attached offline
and synced through a faulty network, a device killed in the middle of an upload.

The server is real (uvicorn on loopback), the link is a proxy that cuts connections, the
device is the real offline client; nothing here is a mock.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from factories import case_payload
from faultproxy import FaultProxy
from live import live_server
from PIL import ExifTags, Image
from processes import spawn_device
from rawdb import fetch

from hierarchy.errors import DaibanError
from server.settings import Settings
from server.storage import open_store
from sync.client import SyncClient
from sync.wire import Case

VILLAGE = "a640502100002"
TOWN = "a640502100"
MB = 1024 * 1024

pytestmark = pytest.mark.slow


@pytest.fixture
def sqlite_settings(settings: Settings, tmp_path: Path) -> Settings:
    if settings.is_postgres:
        pytest.skip("the link, not the engine, is under test here (both engines: test_uploads)")
    return msgspec.structs.replace(settings, attachments_url=str(tmp_path / "attachments"))


@pytest.fixture
def server(sqlite_settings: Settings) -> Iterator[str]:
    with live_server(sqlite_settings) as url:
        yield url


def big_pdf(size: int) -> bytes:
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    return head + os.urandom(size - len(head) - 6) + b"%%EOF\n"


def photo(n: int) -> bytes:
    img = Image.new("RGB", (800, 600), (40 * n, 120, 200 - 30 * n))
    exif = Image.Exif()
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (37.0, 30.0, float(n))
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def device(replica: Path) -> SyncClient:
    # One connection per request, short timeouts: every cut is felt at once.
    http = httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_keepalive_connections=0))
    return SyncClient.open(replica, attempts=6, wait_initial=0.01, wait_max=0.05, client=http)


async def sync_until_done(client: SyncClient, tries: int = 40) -> Any:
    for _ in range(tries):
        try:
            return await client.sync()
        except DaibanError as exc:
            if not getattr(exc, "transient", False):
                raise
    raise AssertionError("sync never got through")


def town_get(url: str, path: str) -> httpx.Response:
    token = httpx.post(url + "/api/v1/auth/token", json={"username": TOWN, "password": "demo"}).json()
    return httpx.get(url + path, headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=30)


def mine(client: SyncClient, case_id: Any) -> Case:
    case = client.case(case_id)
    assert case is not None
    return case


def new_case() -> dict[str, Any]:
    body = case_payload()
    body.pop("id")
    return body


async def test_20_mb_upload_resumes_through_a_link_cut_every_megabyte(
    server: str, sqlite_settings: Settings, tmp_path: Path
) -> None:
    proxy = await FaultProxy(upstream_port=int(server.rsplit(":", 1)[1]), seed=3, cut_every=MB).start()
    try:
        village = device(tmp_path / "v.sqlite")
        await village.init(proxy.url, VILLAGE, "demo", "村部平板")
        case = village.create(new_case())
        source = tmp_path / "营业执照扫描件.pdf"
        data = big_pdf(20 * MB)
        source.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        village.attach(case.id, "birth-medical-certificate", source, provided=True)

        report = await sync_until_done(village)
        assert report.uploaded == 1 and report.applied == 2
        assert proxy.seen["cut"] >= 12, proxy.seen  # it really was cut, again and again
        ups = await fetch(sqlite_settings.database_url, "SELECT id, done FROM upload WHERE sha256 = ?", sha)
        assert [u[1] for u in ups] == [1]  # one upload, resumed, never started over
        r = town_get(server, f"/api/v1/cases/{case.id}/attachments/{sha}")
        assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == sha

        # The same file again, from another device: the server says it has it all, so not one
        # more megabyte goes over the link and nothing new is stored.
        store = open_store(sqlite_settings)
        before = await store.keys("")
        cuts = proxy.seen["cut"]
        tablet = device(tmp_path / "v2.sqlite")
        await tablet.init(proxy.url, VILLAGE, "demo", "第二台平板")
        await sync_until_done(tablet)
        tablet.attach(tablet.create(new_case()).id, "other", source)
        report = await sync_until_done(tablet)
        assert report.uploaded == 1 and report.applied == 2
        assert proxy.seen["cut"] == cuts
        assert await store.keys("") == before
        await tablet.close()
        await village.close()
    finally:
        await proxy.stop()


async def test_photos_taken_offline_reach_the_town_through_a_faulty_network(
    server: str, sqlite_settings: Settings, tmp_path: Path
) -> None:
    proxy = await FaultProxy(upstream_port=int(server.rsplit(":", 1)[1]), seed=11).start()
    try:
        village = device(tmp_path / "v.sqlite")
        await village.init(proxy.url, VILLAGE, "demo", "村部平板")
        case = village.create(new_case())
        shas = []
        for n in range(3):
            path = tmp_path / f"IMG_{n}.jpg"
            path.write_bytes(photo(n))
            shas.append(hashlib.sha256(path.read_bytes()).hexdigest())
            village.attach(case.id, ("birth-medical-certificate", "parents-id-cards", "other")[n], path)
        # Offline: the case shows its three files at once, each kept on the device.
        assert [a["sha256"] for a in mine(village, case.id).attachments] == shas
        assert all(village.files.has(s) for s in shas)

        proxy.set_faults(**{"pass": 0.5, "drop_before": 0.15, "drop_after": 0.15, "drop_mid": 0.1, "delay": 0.1})
        await sync_until_done(village)
        proxy.set_faults()
        await sync_until_done(village)
        assert village.status().pending == 0 and village.conflicts() == []

        listed = town_get(server, f"/api/v1/cases/{case.id}/attachments").json()
        assert [a["sha256"] for a in listed] == shas
        assert {a["media_type"] for a in listed} == {"image/jpeg"}
        for sha in shas:
            r = town_get(server, f"/api/v1/cases/{case.id}/attachments/{sha}")
            assert r.status_code == 200 and dict(Image.open(io.BytesIO(r.content)).getexif()) == {}
        # A town device pulls the list and the thumbnails; the whole file comes on demand.
        town = device(tmp_path / "t.sqlite")
        await town.init(proxy.url, TOWN, "demo", "镇中心")
        await sync_until_done(town)
        assert [a["sha256"] for a in mine(town, case.id).attachments] == shas
        assert all(town.files.thumb_path(s).exists() and not town.files.has(s) for s in shas)
        saved = await town.files.fetch(town.transport, str(case.id), shas[0])
        assert Image.open(saved).size == (800, 600)
        await village.close()
        await town.close()
    finally:
        await proxy.stop()


async def test_device_killed_mid_upload_loses_nothing(server: str, sqlite_settings: Settings, tmp_path: Path) -> None:
    proxy = await FaultProxy(upstream_port=int(server.rsplit(":", 1)[1]), seed=5, cut_every=MB // 2).start()
    replica = tmp_path / "v.sqlite"
    try:
        village = device(replica)
        await village.init(proxy.url, VILLAGE, "demo", "村部平板")
        case = village.create(new_case())
        source = tmp_path / "scan.pdf"
        data = big_pdf(12 * MB)
        source.write_bytes(data)
        sha = hashlib.sha256(data).hexdigest()
        village.attach(case.id, "household-register", source)
        await village.close()
        source.unlink()  # the device keeps its own copy; the original may go

        child = spawn_device("sync", str(replica))
        try:
            deadline = time.monotonic() + 60
            got = 0
            while time.monotonic() < deadline and got < 2 * MB:
                assert child.poll() is None, child.communicate()
                rows = await fetch(sqlite_settings.database_url, "SELECT \"offset\" FROM upload WHERE sha256 = ?", sha)
                got = int(rows[0][0]) if rows else 0
                await asyncio.sleep(0.01)
            assert 2 * MB <= got < len(data), got
        finally:
            child.send_signal(signal.SIGKILL)
            child.communicate(timeout=10)
        assert child.returncode == -signal.SIGKILL

        village = device(replica)
        assert village.status().pending == 2 and village.files.state(sha) == "pending"
        report = await sync_until_done(village)
        assert report.uploaded == 1 and report.applied == 2
        ups = await fetch(sqlite_settings.database_url, "SELECT done FROM upload WHERE sha256 = ?", sha)
        assert ups == [(1,)]  # the same upload, continued from where the killed device left it
        assert [a["sha256"] for a in mine(village, case.id).attachments] == [sha]
        r = town_get(server, f"/api/v1/cases/{case.id}/attachments/{sha}")
        assert hashlib.sha256(r.content).hexdigest() == sha
        await village.close()
    finally:
        await proxy.stop()


def test_a_stock_tus_client_uploads_in_chunks(server: str, tmp_path: Path) -> None:
    from tusclient.client import TusClient

    token = httpx.post(server + "/api/v1/auth/token", json={"username": VILLAGE, "password": "demo"}).json()
    data = big_pdf(3 * MB + 12345)
    sha = hashlib.sha256(data).hexdigest()
    client = TusClient(server + "/api/v1/uploads", headers={"Authorization": f"Bearer {token['access_token']}"})
    uploader = client.uploader(
        file_stream=io.BytesIO(data), chunk_size=MB, metadata={"sha256": sha, "filename": "扫描件.pdf"},
        upload_checksum=True,
    )  # fmt: skip
    uploader.upload()
    assert uploader.offset == len(data)
    head = httpx.head(uploader.url, headers={"Authorization": f"Bearer {token['access_token']}",
                                             "Tus-Resumable": "1.0.0"})  # fmt: skip
    assert head.headers["upload-offset"] == str(len(data))
    # The same file again: the server has it, and the stock client's PATCH is answered as complete.
    again = client.uploader(file_stream=io.BytesIO(data), chunk_size=MB, metadata={"sha256": sha})
    again.upload()
    assert again.offset == len(data) and again.url != uploader.url
