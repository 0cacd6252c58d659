"""Attachment files on the device, and their resumable upload (a tus 1.0 client).

``attach`` keeps the file in a folder beside the replica at once (written and synced to
disk before the operation that names it is queued) and queues its upload. ``sync`` sends
pending files before it pushes the operations that reference them; an upload cut off at
any byte, or a device killed mid-upload, continues from the offset the server reports.
Pulls bring each case's file list; thumbnails come with them, whole files on demand.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from hierarchy.attachments import check_file
from sync.replica import Replica
from sync.sniff import sniff
from sync.transport import TRANSIENT_STATUS, SyncError, Transport, problem_parts

if TYPE_CHECKING:
    import httpx

SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    name TEXT NOT NULL,
    url TEXT,                   -- the server's upload once created: resumed from its offset
    state TEXT NOT NULL,        -- pending | done | refused
    code TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL
);
"""
TUS = {"Tus-Resumable": "1.0.0"}
#: Bytes per read from the file while a PATCH streams it.
READ_BYTES = 256 * 1024
#: Attempts to resume one upload within one sync before the sync gives up (and retries later).
RESUMES = 200


class _Files(msgspec.Struct):
    attachments: list[dict[str, Any]] = []


@dataclass(frozen=True, slots=True)
class LocalFile:
    sha256: str
    media_type: str
    size: int
    name: str


Progress = Callable[[str, int, int | None], None]


class Files:
    """The device's attachment folder and its upload queue (a table in the replica)."""

    def __init__(self, replica: Replica) -> None:
        self.replica = replica
        self.folder = replica.path.with_name(replica.path.stem + ".files")
        replica.conn.executescript(SCHEMA)

    def path(self, sha256: str) -> Path:
        return self.folder / sha256

    def thumb_path(self, sha256: str) -> Path:
        return self.folder / "thumbs" / f"{sha256}.jpg"

    def has(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def keep(self, source: Path) -> LocalFile:
        """Check ``source`` (type from its bytes, size) and copy it into the folder, durably."""
        data = source.read_bytes()
        media_type, size = check_file(sniff(data), len(data))
        sha = hashlib.sha256(data).hexdigest()
        _write_durably(self.path(sha), data)
        return LocalFile(sha256=sha, media_type=media_type, size=size, name=source.name)

    def queue(self, conn: sqlite3.Connection, f: LocalFile) -> None:
        """Queue the upload, in the caller's transaction (with the operation that names it)."""
        conn.execute(
            "INSERT INTO uploads (sha256, size, name, url, state, created_at) VALUES (?, ?, ?, NULL, 'pending', ?) "
            "ON CONFLICT (sha256) DO NOTHING",
            (f.sha256, f.size, f.name, datetime.now(UTC).isoformat()),
        )

    def pending(self) -> list[tuple[str, int, str | None]]:
        rows = self.replica.conn.execute(
            "SELECT sha256, size, url FROM uploads WHERE state = 'pending' ORDER BY created_at"
        ).fetchall()
        return [(r[0], int(r[1]), r[2]) for r in rows]

    def state(self, sha256: str) -> str | None:
        row = self.replica.conn.execute("SELECT state FROM uploads WHERE sha256 = ?", (sha256,)).fetchone()
        return str(row[0]) if row else None

    def _set(self, sha256: str, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.replica.tx() as c:
            c.execute(f"UPDATE uploads SET {sets} WHERE sha256 = ?", (*values.values(), sha256))

    # --- upload ------------------------------------------------------------------------

    async def upload_pending(self, transport: Transport, progress: Progress | None = None) -> int:
        """Send every pending file; returns how many finished. Raises a transient SyncError
        when the link keeps failing (what arrived stays on the server for next time)."""
        done = 0
        for sha, size, url in self.pending():
            await self._upload(transport, sha, size, url)
            done += 1
            if progress:
                progress("upload", done, None)
        return done

    async def _upload(self, transport: Transport, sha: str, size: int, url: str | None) -> None:
        http = transport.client
        failures = 0
        while True:
            try:
                offset = await self._offset(http, transport, url) if url is not None else None
                if url is None or offset is None:
                    url, offset = await self._create(http, transport, sha, size)
                if offset < size:
                    offset = await self._patch(http, transport, url, sha, offset, size)
                if offset >= size:
                    self._set(sha, state="done")
                    return
                continue
            except SyncError as exc:
                if not exc.transient and not (exc.code == "upload.sha256_mismatch" and failures < 3):
                    self._set(sha, state="refused", code=exc.code)
                    return
                cause: BaseException = exc
            except _cut() as exc:
                cause = exc
            failures += 1
            if failures > RESUMES:
                raise SyncError("network.unreachable", f"the upload keeps failing: {cause}", transient=True)
            await asyncio.sleep(min(0.05 * failures, 1.0))

    def _headers(self, transport: Transport, **more: str) -> dict[str, str]:
        return {**TUS, **({"Authorization": f"Bearer {transport.token}"} if transport.token else {}), **more}

    async def _offset(self, http: httpx.AsyncClient, transport: Transport, url: str) -> int | None:
        r = await http.head(url, headers=self._headers(transport))
        if r.status_code == 404:
            return None  # gone (cleaned up, or the server lost it): start a new upload
        _raise_for(r)
        return int(r.headers["upload-offset"])

    async def _create(self, http: httpx.AsyncClient, transport: Transport, sha: str, size: int) -> tuple[str, int]:
        meta = f"sha256 {base64.b64encode(sha.encode()).decode()}"
        r = await http.post(
            transport.base_url + "/api/v1/uploads",
            headers=self._headers(transport, **{"Upload-Length": str(size), "Upload-Metadata": meta}),
        )
        _raise_for(r)
        url = str(r.url.join(r.headers["location"]))
        self._set(sha, url=url)
        # The server already has these bytes: nothing to send.
        return url, int(r.headers.get("upload-offset", "0"))

    async def _patch(
        self, http: httpx.AsyncClient, transport: Transport, url: str, sha: str, offset: int, size: int
    ) -> int:
        r = await http.patch(
            url,
            content=_read_from(self.path(sha), offset),
            headers=self._headers(transport, **{
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(size - offset),
            }),
        )  # fmt: skip
        if r.status_code == 409:
            return offset  # someone moved it: HEAD again on the next turn
        _raise_for(r)
        return int(r.headers["upload-offset"])

    # --- download ----------------------------------------------------------------------

    async def fetch_thumbnail(self, transport: Transport, case_id: str, sha256: str) -> bool:
        """Bring a photo's thumbnail (pulled cases carry the list; this the small picture)."""
        target = self.thumb_path(sha256)
        if target.exists():
            return True
        try:
            r = await transport.client.get(
                f"{transport.base_url}/api/v1/cases/{case_id}/attachments/{sha256}/thumbnail",
                headers=self._headers(transport),
            )
        except _cut():
            return False
        if r.status_code != 200:
            return False
        _write_durably(target, r.content)
        return True

    async def fetch(self, transport: Transport, case_id: str, sha256: str) -> Path:
        """The whole file, from here when this device has it, else from the server."""
        if self.has(sha256):
            return self.path(sha256)
        try:
            r = await transport.client.get(
                f"{transport.base_url}/api/v1/cases/{case_id}/attachments/{sha256}", headers=self._headers(transport)
            )
        except _cut() as exc:
            raise SyncError("network.unreachable", "cannot reach the server", transient=True) from exc
        _raise_for(r)
        _write_durably(self.path(sha256), r.content)
        return self.path(sha256)

    def listed(self) -> dict[str, tuple[str, str]]:
        """Every file some case on this device lists: sha256 → (case id, media type)."""
        out: dict[str, tuple[str, str]] = {}
        rows = self.replica.conn.execute(
            "SELECT id, local FROM cases WHERE instr(CAST(local AS TEXT), '\"attachments\":[{') > 0"
        )
        for case_id, body in rows:
            for a in _attachments_of(body):
                out[str(a.get("sha256"))] = (case_id, str(a.get("media_type") or ""))
        return out

    async def refresh(self, transport: Transport) -> int:
        """After a pull: bring the thumbnails of listed photos, drop files nothing lists."""
        listed = self.listed()
        fetched = 0
        for sha, (case_id, media_type) in listed.items():
            if media_type.startswith("image/") and not self.thumb_path(sha).exists():
                fetched += await self.fetch_thumbnail(transport, case_id, sha)
        self.forget(set(listed))
        return fetched

    def forget(self, keep: set[str]) -> int:
        """Delete files that no case here lists and that wait for no upload (evicted cases)."""
        waiting = {r[0] for r in self.replica.conn.execute("SELECT sha256 FROM uploads WHERE state = 'pending'")}
        removed = 0
        for folder in (self.folder, self.folder / "thumbs"):
            if not folder.is_dir():
                continue
            for f in folder.iterdir():
                sha = f.name.removesuffix(".jpg")
                if f.is_file() and sha not in keep and sha not in waiting:
                    f.unlink()
                    removed += 1
        return removed


_case_files = msgspec.json.Decoder(_Files)


def _attachments_of(body: bytes | str) -> list[dict[str, Any]]:
    return _case_files.decode(body).attachments


def _raise_for(r: httpx.Response) -> None:
    if r.status_code < 400:
        return
    code, message, extra = problem_parts(r)
    raise SyncError(code, message, status=r.status_code, transient=r.status_code in TRANSIENT_STATUS, **extra)


async def _read_from(path: Path, offset: int) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        f.seek(offset)
        while chunk := f.read(READ_BYTES):
            yield chunk


def _write_durably(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _cut() -> tuple[type[BaseException], ...]:
    """The link failed (httpx is imported late, as the transport does)."""
    import httpx

    return (httpx.TransportError,)
