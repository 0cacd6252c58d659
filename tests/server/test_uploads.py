"""Resumable uploads (tus 1.0) and attachments, on both engines and both stores (folder, S3).

The protocol cases follow the tus 1.0.0 specification's own examples: discovery with
OPTIONS, creation, HEAD for the offset, PATCH with the right and a wrong offset, a wrong
content type, the checksum extension (460 on a mismatch), termination.
"""

from __future__ import annotations

import base64
import hashlib
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from factories import Client, case_payload, headers
from litestar.testing import AsyncTestClient
from PIL import ExifTags, Image
from stores import s3_endpoint, store_settings  # noqa: F401  (fixtures)

from hierarchy.attachments import MAX_FILE_BYTES
from server import db
from server.app import create_app
from server.attachments import GRACE
from server.jobs.attachments import attachment_cleanup
from server.settings import Settings
from server.storage import open_store
from server.tus import MAX_OPEN_UPLOADS

VILLAGE = "a640502100002"  # 向阳巷居委会, under 滨河镇
TOWN = "a640502100"  # 滨河镇: sees the village's cases
OTHER_TOWN = "a640502101"  # another town: must not
TUS = {"Tus-Resumable": "1.0.0"}
MATERIAL = "birth-medical-certificate"


@pytest.fixture
async def api(store_settings: Settings) -> Any:  # noqa: F811
    async with AsyncTestClient(app=create_app(store_settings)) as client:
        yield client


def pdf_bytes(size: int = 4096) -> bytes:
    body = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n"
    return body + b"%" + bytes(i % 251 for i in range(size - len(body) - 7)) + b"\n%%EOF\n"


def gps_jpeg() -> bytes:
    img = Image.new("RGB", (640, 480), (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "VillagePhone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (37.0, 30.0, 0.0)
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def meta(data: bytes, name: str = "scan.pdf") -> str:
    sha = hashlib.sha256(data).hexdigest()
    return f"sha256 {base64.b64encode(sha.encode()).decode()},filename {base64.b64encode(name.encode()).decode()}"


async def create(client: Client, h: dict[str, str], data: bytes, name: str = "scan.pdf") -> Any:
    return await client.post(
        "/api/v1/uploads", headers={**h, **TUS, "Upload-Length": str(len(data)), "Upload-Metadata": meta(data, name)}
    )


async def patch(client: Client, h: dict[str, str], url: str, offset: int, chunk: bytes, **more: str) -> Any:
    return await client.patch(
        url,
        content=chunk,
        headers={**h, **TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream", **more},
    )


async def upload(client: Client, h: dict[str, str], data: bytes, name: str = "scan.pdf") -> str:
    r = await create(client, h, data, name)
    assert r.status_code == 201, r.text
    url = r.headers["location"]
    r = await patch(client, h, url, 0, data)
    assert r.status_code == 204, r.text
    assert r.headers["upload-offset"] == str(len(data))
    return hashlib.sha256(data).hexdigest()


async def new_case(client: Client, h: dict[str, str]) -> str:
    r = await client.post("/api/v1/cases", json=case_payload(), headers=h)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def attach(client: Client, h: dict[str, str], case_id: str, sha: str, **more: Any) -> Any:
    body = {"sha256": sha, "material": MATERIAL, "name": "出生医学证明.pdf", **more}
    return await client.post(f"/api/v1/cases/{case_id}/attach", json=body, headers=h)


async def test_discovery_and_version(api: Client) -> None:
    r = await api.options("/api/v1/uploads")
    assert r.status_code == 204
    assert r.headers["tus-version"] == "1.0.0"
    assert set(r.headers["tus-extension"].split(",")) >= {"creation", "checksum", "termination"}
    assert int(r.headers["tus-max-size"]) == MAX_FILE_BYTES
    assert "sha256" in r.headers["tus-checksum-algorithm"]
    h = await headers(api, VILLAGE)
    r = await api.post("/api/v1/uploads", headers={**h, "Upload-Length": "10", "Upload-Metadata": meta(b"x")})
    assert r.status_code == 412 and r.json()["code"] == "upload.tus_version"


async def test_core_creation_checksum_termination(api: Client) -> None:
    h = await headers(api, VILLAGE)
    data = pdf_bytes(300_000)
    r = await create(api, h, data)
    assert r.status_code == 201 and r.headers["tus-resumable"] == "1.0.0"
    url = r.headers["location"]
    r = await api.head(url, headers={**h, **TUS})
    assert (r.status_code, r.headers["upload-offset"], r.headers["upload-length"]) == (200, "0", str(len(data)))
    assert r.headers["cache-control"] == "no-store"
    # Wrong content type, wrong offset: refused, nothing moves.
    r = await api.patch(url, content=data[:10], headers={**h, **TUS, "Upload-Offset": "0",
                                                          "Content-Type": "application/json"})  # fmt: skip
    assert r.status_code == 415
    r = await patch(api, h, url, 5, data[5:100])
    assert r.status_code == 409 and r.json()["code"] == "upload.offset_mismatch"
    # Checksum extension: a chunk that does not match is dropped with 460.
    first = data[:100_000]
    bad = base64.b64encode(hashlib.sha1(b"not this").digest()).decode()
    r = await patch(api, h, url, 0, first, **{"Upload-Checksum": f"sha1 {bad}"})
    assert r.status_code == 460
    assert (await api.head(url, headers={**h, **TUS})).headers["upload-offset"] == "0"
    good = base64.b64encode(hashlib.sha1(first).digest()).decode()
    r = await patch(api, h, url, 0, first, **{"Upload-Checksum": f"sha1 {good}"})
    assert r.status_code == 204 and r.headers["upload-offset"] == str(len(first))
    # Another agent cannot see or touch it.
    other = await headers(api, OTHER_TOWN)
    assert (await api.head(url, headers={**other, **TUS})).status_code == 404
    # Termination.
    r = await api.delete(url, headers={**h, **TUS})
    assert r.status_code == 204
    assert (await api.head(url, headers={**h, **TUS})).status_code == 404


async def test_resumed_upload_is_verified_attached_and_downloaded(api: Client, store_settings: Settings) -> None:  # noqa: F811
    h = await headers(api, VILLAGE)
    data = pdf_bytes(1_000_000)
    sha = hashlib.sha256(data).hexdigest()
    url = (await create(api, h, data)).headers["location"]
    offset = 0
    for size in (123_457, 400_000, len(data)):  # three PATCHes, the way a resumed upload goes
        r = await patch(api, h, url, offset, data[offset:size])
        assert r.status_code == 204, r.text
        offset = int(r.headers["upload-offset"])
    assert offset == len(data)
    case_id = await new_case(api, h)
    r = await attach(api, h, case_id, sha, provided=True, media_type="image/png", size=1)
    assert r.status_code == 200, r.text
    case = r.json()
    [entry] = case["attachments"]
    # Type and size are what the server verified, not what the request claimed.
    assert (entry["sha256"], entry["media_type"], entry["size"]) == (sha, "application/pdf", len(data))
    assert next(m for m in case["materials"] if m["code"] == MATERIAL)["state"] == "provided"
    r = await api.get(f"/api/v1/cases/{case_id}/attachments/{sha}", headers=h)
    assert r.status_code == 200 and hashlib.sha256(r.content).hexdigest() == sha
    assert r.headers["content-disposition"].startswith("attachment;")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-type"].startswith("application/pdf")
    history = (await api.get(f"/api/v1/cases/{case_id}/history", headers=h)).json()
    assert [e["action"] for e in history] == ["create", "attach"]
    receipt = await api.get(f"/api/v1/cases/{case_id}/receipt", params={"format": "text"}, headers=h)
    assert "出生医学证明：已提供；附件：出生医学证明.pdf" in receipt.text, receipt.text
    # The town sees it; another town gets 404 for the list and the file.
    town = await headers(api, TOWN)
    listed = (await api.get(f"/api/v1/cases/{case_id}/attachments", headers=town)).json()
    assert [a["sha256"] for a in listed] == [sha]
    other = await headers(api, OTHER_TOWN)
    assert (await api.get(f"/api/v1/cases/{case_id}/attachments", headers=other)).status_code == 404
    r = await api.get(f"/api/v1/cases/{case_id}/attachments/{sha}", headers=other)
    assert r.status_code == 404 and r.json()["code"] == "case.not_found"
    for action in ("attach", "detach"):
        r = await api.post(f"/api/v1/cases/{case_id}/{action}", json={"sha256": sha, "material": MATERIAL},
                           headers=other)  # fmt: skip
        assert r.status_code == 404 and r.json()["code"] == "case.not_found", action
    # The same file again stores nothing new: creation says the server has it all.
    store = open_store(store_settings)
    before = await store.keys("")
    r = await create(api, h, data)
    assert r.status_code == 201 and r.headers["upload-offset"] == str(len(data))
    # … and a client that sends the bytes anyway changes nothing either.
    r = await patch(api, h, r.headers["location"], 0, data)
    assert r.status_code == 204 and r.headers["upload-offset"] == str(len(data))
    assert await store.keys("") == before
    assert [k for k in before if k.startswith("attachments/files/") or k.startswith("files/")].__len__() == 1
    # Detach is a case operation too.
    r = await api.post(f"/api/v1/cases/{case_id}/detach", json={"sha256": sha}, headers=h)
    assert r.status_code == 200 and r.json()["attachments"] == []


async def test_photo_loses_its_exif_and_gets_a_thumbnail(api: Client) -> None:
    h = await headers(api, VILLAGE)
    photo = gps_jpeg()
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    sha = await upload(api, h, photo, "IMG_0001.jpg")
    case_id = await new_case(api, h)
    assert (await attach(api, h, case_id, sha)).status_code == 200
    r = await api.get(f"/api/v1/cases/{case_id}/attachments/{sha}", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/jpeg")
    back = Image.open(io.BytesIO(r.content))
    assert back.size == (640, 480)
    assert dict(back.getexif()) == {} and b"Exif" not in r.content and b"VillagePhone" not in r.content
    thumb = await api.get(f"/api/v1/cases/{case_id}/attachments/{sha}/thumbnail", headers=h)
    assert thumb.status_code == 200 and max(Image.open(io.BytesIO(thumb.content)).size) == 320


async def test_executable_posing_as_jpeg_is_refused(api: Client) -> None:
    h = await headers(api, VILLAGE)
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(range(256)) * 40
    r = await create(api, h, exe, "photo.jpg")
    r = await patch(api, h, r.headers["location"], 0, exe)
    assert r.status_code == 422 and r.json()["code"] == "attachment.type_refused"
    case_id = await new_case(api, h)
    r = await attach(api, h, case_id, hashlib.sha256(exe).hexdigest())
    assert r.status_code == 409 and r.json()["code"] == "attachment.not_uploaded"


async def test_wrong_sha256_restarts_the_upload(api: Client) -> None:
    h = await headers(api, VILLAGE)
    data = pdf_bytes(10_000)
    r = await api.post("/api/v1/uploads", headers={**h, **TUS, "Upload-Length": str(len(data)),
                                                   "Upload-Metadata": meta(b"something else")})  # fmt: skip
    url = r.headers["location"]
    r = await patch(api, h, url, 0, data)
    assert r.status_code == 460 and r.json()["code"] == "upload.sha256_mismatch"
    assert (await api.head(url, headers={**h, **TUS})).headers["upload-offset"] == "0"


async def test_limits(api: Client) -> None:
    h = await headers(api, VILLAGE)
    r = await api.post("/api/v1/uploads", headers={**h, **TUS, "Upload-Length": str(MAX_FILE_BYTES + 1),
                                                   "Upload-Metadata": meta(b"x")})  # fmt: skip
    assert r.status_code == 413 and r.json()["code"] == "attachment.file_too_large"
    r = await api.post("/api/v1/uploads", headers={**h, **TUS, "Upload-Length": "10"})
    assert r.status_code == 422 and r.json()["code"] == "upload.sha256_required"
    # Unfinished uploads are bounded per agent; terminating one makes room again.
    started = [await create(api, h, pdf_bytes(1000 + n)) for n in range(MAX_OPEN_UPLOADS)]
    assert {r.status_code for r in started} == {201}
    r = await create(api, h, pdf_bytes(999))
    assert r.status_code == 429 and r.json()["code"] == "upload.too_many_open"
    assert (await api.delete(started[0].headers["location"], headers={**h, **TUS})).status_code == 204
    assert (await create(api, h, pdf_bytes(999))).status_code == 201


async def test_cleanup_job_removes_what_no_case_lists(store_settings: Settings) -> None:  # noqa: F811
    async with AsyncTestClient(app=create_app(store_settings)) as api:
        h = await headers(api, VILLAGE)
        kept, dropped = pdf_bytes(5000), pdf_bytes(6000)
        kept_sha, dropped_sha = await upload(api, h, kept), await upload(api, h, dropped)
        case_id = await new_case(api, h)
        assert (await attach(api, h, case_id, kept_sha)).status_code == 200
        half = pdf_bytes(9000)
        url = (await create(api, h, half)).headers["location"]
        assert (await patch(api, h, url, 0, half[:4000])).status_code == 204
    store = open_store(store_settings)
    assert len(await store.keys("files/")) == 2 and len(await store.keys("parts/")) == 1

    # The job as the worker runs it, on this loop's own connection to the database.
    engine = db.connect(store_settings)
    await db.start(engine)
    try:
        soon = datetime.now(UTC) + timedelta(hours=1)
        assert await attachment_cleanup({"settings": store_settings, "clock": lambda: soon}) == {
            "uploads": 0, "blobs": 0, "files": 0}  # fmt: skip
        later = datetime.now(UTC) + GRACE + timedelta(minutes=5)
        removed = await attachment_cleanup({"settings": store_settings, "clock": lambda: later})
    finally:
        await db.stop(engine)
    assert removed == {"uploads": 3, "blobs": 1, "files": 1}
    assert await store.keys("parts/") == []
    assert len(await store.keys("files/")) == 1
    async with AsyncTestClient(app=create_app(store_settings)) as api:
        h = await headers(api, VILLAGE)
        assert (await api.get(f"/api/v1/cases/{case_id}/attachments/{kept_sha}", headers=h)).status_code == 200
        assert (await api.head(url, headers={**h, **TUS})).status_code == 404
    assert dropped_sha != kept_sha
