"""Attachments on the server: a finished upload becomes a verified blob; cases list blobs.

A blob becomes visible (attachable) only after the bytes received hash to the sha256 the
device announced, its type sniffed from the bytes is a photo or a PDF, and an image has
been re-encoded without its metadata. Identical content is stored once (``files/<sha256 of
the stored bytes>``); the same upload sent twice stores nothing new.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from piccolo.columns.combination import WhereRaw

from hierarchy.attachments import check_file
from hierarchy.cases import Actor
from hierarchy.errors import Conflict, NotFound
from server import db
from server.cases import utc, visible_row
from server.db import Database
from server.media import clean
from server.storage import BlobStore
from server.tables import Blob, Case, Upload
from sync.sniff import sniff

#: An upload nobody finished, or a blob no case lists, is removed after this long.
GRACE = timedelta(hours=24)


def file_key(content_sha256: str) -> str:
    return f"files/{content_sha256}"


def thumb_key(content_sha256: str) -> str:
    return f"thumbs/{content_sha256}.jpg"


class ChecksumMismatch(Conflict):
    """tus 460: what arrived is not what was announced."""

    status = 460


def _prepare(data: bytes, expected: str, digest: str | None) -> tuple[str, bytes, bytes | None, str]:
    """Hash, sniff and clean (CPU work, run off the event loop)."""
    actual = digest or hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise ChecksumMismatch(
            "upload.sha256_mismatch", "the bytes received do not hash to the announced sha256", expected=expected
        )
    media_type, _ = check_file(sniff(data), len(data))
    stored, thumb = clean(data, media_type)
    # A PDF is stored as it came: its content hash is the one just checked.
    content_sha = actual if stored is data else hashlib.sha256(stored).hexdigest()
    return media_type, stored, thumb, content_sha


async def finish(
    store: BlobStore,
    upload: Mapping[str, Any],
    data: bytes,
    now: datetime,
    *,
    digest: str | None = None,
    staged: str = "",
    engine: Database,
) -> dict[str, Any]:
    """Turn a complete upload's bytes into a verified blob (or find it already there).

    ``digest``: the sha256 of ``data`` when the caller hashed it as it arrived; ``staged``:
    a key where ``data`` is stored already (moved into place when kept as it came). The
    upload is marked done with it.
    """
    sha = str(upload["sha256"])
    existing = await Blob.select().where(Blob.sha256 == sha).first()
    if existing is not None:
        await _done(upload)
        return existing
    media_type, stored, thumb, content_sha = await asyncio.to_thread(_prepare, data, sha, digest)
    if not await store.exists(file_key(content_sha)):
        if staged and stored is data:
            await store.rename(staged, file_key(content_sha))
        else:
            await store.put(file_key(content_sha), stored)
    if thumb is not None and not await store.exists(thumb_key(content_sha)):
        await store.put(thumb_key(content_sha), thumb)
    row = dict(
        sha256=sha,
        content_sha256=content_sha,
        media_type=media_type,
        size=len(stored),
        has_thumbnail=thumb is not None,
        uploaded_by=upload["agent_id"],
        created_at=utc(now),
    )
    # The blob becomes visible and the upload done in one commit.
    async with db.transaction(engine):
        await Blob.insert(Blob(**row)).on_conflict(action="DO NOTHING").run()
        await _done(upload)
    return row


async def _done(upload: Mapping[str, Any]) -> None:
    await Upload.update({Upload.offset: upload["length"], Upload.parts: [], Upload.done: True}).where(
        Upload.id == upload["id"]
    )


@dataclass(frozen=True, slots=True)
class FileOut:
    name: str
    media_type: str
    data: bytes


async def read_file(store: BlobStore, case_id: uuid.UUID, sha256: str, actor: Actor, *, thumbnail: bool) -> FileOut:
    """A case's file (or its thumbnail) for an agent who can see the case; 404 otherwise."""
    row = await visible_row(case_id, actor)
    entry = next((a for a in row.get("attachments") or () if a.get("sha256") == sha256.lower()), None)
    blob = await Blob.select().where(Blob.sha256 == sha256.lower()).first() if entry else None
    if entry is None or blob is None or (thumbnail and not blob["has_thumbnail"]):
        raise NotFound("attachment.not_found", "no such file on this case", sha256=sha256)
    key = thumb_key(blob["content_sha256"]) if thumbnail else file_key(blob["content_sha256"])
    try:
        data = await store.get(key)
    except KeyError:
        raise NotFound("attachment.not_found", "the file is not in storage", sha256=sha256) from None
    media_type = "image/jpeg" if thumbnail else str(blob["media_type"])
    return FileOut(name=str(entry.get("name") or sha256), media_type=media_type, data=data)


async def referenced() -> set[str]:
    """Every sha256 some case lists."""
    rows = await Case.select(Case.attachments).where(WhereRaw("CAST(attachments AS TEXT) <> '[]'")).output(
        load_json=True
    )
    return {str(a.get("sha256")) for r in rows for a in r["attachments"] or ()}


async def cleanup(store: BlobStore, now: datetime) -> dict[str, int]:
    """Remove unfinished uploads and blobs no case lists (detached, or their case is gone),
    once they are older than :data:`GRACE` (a device uploads before it attaches)."""
    cutoff = utc(now - GRACE)
    stale = await Upload.select().where(Upload.created_at < cutoff).output(load_json=True)
    for up in stale:
        for part in up["parts"] or ():
            await store.delete(str(part["key"]))
        await Upload.delete().where(Upload.id == up["id"])
    keep = await referenced()
    orphans = [b for b in await Blob.select().where(Blob.created_at < cutoff) if b["sha256"] not in keep]
    removed_files = 0
    for blob in orphans:
        await Blob.delete().where(Blob.sha256 == blob["sha256"])
        # Another upload may have the same cleaned content: its file stays.
        if await Blob.count().where(Blob.content_sha256 == blob["content_sha256"]) == 0:
            await store.delete(file_key(blob["content_sha256"]))
            await store.delete(thumb_key(blob["content_sha256"]))
            removed_files += 1
    return {"uploads": len(stale), "blobs": len(orphans), "files": removed_files}
