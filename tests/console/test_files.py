"""A case's files in the console: listed under their materials, saved with one key."""

from __future__ import annotations

import base64
import hashlib
import io
from pathlib import Path

import pytest
from console_kit import VILLAGE, Api, notes, screen_text, sign_in, wait_for
from PIL import ExifTags, Image

from console.app import DaibanConsole
from console.http_client import HttpDataClient
from console.screens.detail import DetailScreen

TUS = {"Tus-Resumable": "1.0.0"}


def gps_photo() -> bytes:
    img = Image.new("RGB", (400, 300), (10, 120, 90))
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitudeRef] = "N"
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


def attach_photo(api: Api, user: str, case_id: str, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    h = {**api.auth(user), **TUS}
    meta = f"sha256 {base64.b64encode(sha.encode()).decode()}"
    r = api.http.post("/api/v1/uploads", headers={**h, "Upload-Length": str(len(data)), "Upload-Metadata": meta})
    r = api.http.patch(r.headers["location"], content=data, headers={
        **h, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})  # fmt: skip
    assert r.status_code == 204, r.text
    api.act(user, case_id, "attach", sha256=sha, material="birth-medical-certificate", name="出生证明.jpg",
            provided=True)  # fmt: skip
    return sha


async def test_detail_lists_files_and_saves_them(
    server: str, api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = f"a{VILLAGE}"
    case = api.create(user)
    attach_photo(api, user, case["id"], gps_photo())
    monkeypatch.chdir(tmp_path)
    client = HttpDataClient(server)
    console = DaibanConsole(client, status_every=60)
    try:
        async with console.run_test(size=(140, 50), notifications=True) as pilot:
            await sign_in(pilot, user)
            console.push_screen(DetailScreen(case["id"]))
            await wait_for(pilot, lambda: isinstance(console.screen, DetailScreen) and console.screen.case is not None)
            await pilot.pause()
            assert "出生证明.jpg" in screen_text(console)
            await pilot.press("s")
            await wait_for(pilot, lambda: any("已保存 1 个文件" in n for n in notes(console)))
    finally:
        await client.close()
    saved = tmp_path / "daiban-files" / case["ref"] / "出生证明.jpg"
    back = Image.open(saved)
    assert back.size == (400, 300) and dict(back.getexif()) == {}
