"""Resumable uploads: the tus 1.0.0 protocol (core, creation, checksum, termination).

A mobile tus client works as it is: ``POST /api/v1/uploads`` with ``Upload-Length`` and
``Upload-Metadata: sha256 <base64>, filename <base64>`` creates an upload; ``PATCH`` sends
bytes from ``Upload-Offset``; ``HEAD`` says how far the server got; ``DELETE`` abandons it.

Whatever arrives is kept, even when the link drops in the middle of a PATCH: the bytes
received so far are stored as a part and the offset advances, so the next PATCH continues
from there (a PATCH with ``Upload-Checksum`` is all or nothing, as the checksum extension
says). Parts live in the attachment store, so any API replica can continue an upload.
When the last byte arrives the whole is verified (see :mod:`server.attachments`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from litestar import Controller, Request, Response, delete, head, patch, post, route
from litestar.enums import HttpMethod
from litestar.params import FromPath

from hierarchy.attachments import MAX_FILE_BYTES, check_sha256
from hierarchy.errors import DaibanError, InvalidInput, NotFound, RateLimited, TooLarge
from server import attachments
from server.auth import Principal
from server.cases import utc
from server.storage import BlobStore, Writer
from server.tables import Blob, Upload

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,checksum,termination"
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "md5": hashlib.md5}
OFFSET_TYPE = "application/offset+octet-stream"
#: Unfinished uploads one agent may have at a time (a device sends its files one by one).
MAX_OPEN_UPLOADS = 20
#: What arrives is written and hashed in pieces of about this size.
PIECE_BYTES = 1024 * 1024

Req = Request[Principal, Any, Any]


class VersionUnsupported(DaibanError):
    status = 412


class WrongContentType(DaibanError):
    status = 415


class OffsetMismatch(DaibanError):
    status = 409


def _headers(**more: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **more}


def _check_version(request: Req) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise VersionUnsupported("upload.tus_version", f"send Tus-Resumable: {TUS_VERSION}", tus_version=TUS_VERSION)


def _int_header(request: Req, name: str) -> int:
    raw = request.headers.get(name, "")
    if not raw.isdigit():
        raise InvalidInput("upload.header_invalid", f"{name} must be a non-negative integer", field=name)
    return int(raw)


def parse_metadata(raw: str) -> dict[str, str]:
    """``key base64value, key2 …`` (tus creation) → text values."""
    out: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in raw.split(","))):
        key, _, value = pair.partition(" ")
        try:
            out[key] = base64.b64decode(value, validate=True).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput("upload.metadata_invalid", f"Upload-Metadata {key} is not base64", field=key) from None
    return out


def _checksum(request: Req) -> tuple[Any, bytes] | None:
    raw = request.headers.get("upload-checksum")
    if not raw:
        return None
    algorithm, _, digest = raw.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise InvalidInput("upload.checksum_algorithm", f"checksums: {', '.join(CHECKSUMS)}", field="Upload-Checksum")
    try:
        return CHECKSUMS[algorithm](), base64.b64decode(digest, validate=True)
    except binascii.Error:
        raise InvalidInput("upload.checksum_invalid", "the checksum is not base64", field="Upload-Checksum") from None


async def _own(upload_id: uuid.UUID, request: Req) -> dict[str, Any]:
    row = await Upload.select().where(Upload.id == upload_id).output(load_json=True).first()
    if row is None or row["agent_id"] != request.user.id:
        raise NotFound("upload.not_found", "no such upload")
    return row


class UploadController(Controller):
    path = "/api/v1/uploads"
    tags = ["uploads"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @route("/", http_method=[HttpMethod.OPTIONS], operation_id="uploadOptions", summary="tus capabilities")
    async def capabilities(self) -> Response[None]:
        return Response(
            None,
            status_code=204,
            headers={
                "Tus-Resumable": TUS_VERSION,
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": EXTENSIONS,
                "Tus-Max-Size": str(MAX_FILE_BYTES),
                "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
            },
        )

    @post("/", operation_id="createUpload", summary="Start a resumable upload (tus creation)")
    async def create(self, request: Req) -> Response[None]:
        _check_version(request)
        if "upload-defer-length" in request.headers:
            raise InvalidInput("upload.length_required", "send Upload-Length (deferred length is not supported)")
        length = _int_header(request, "upload-length")
        if length > MAX_FILE_BYTES:
            raise TooLarge(
                "attachment.file_too_large", f"a file is at most {MAX_FILE_BYTES} bytes", limit=MAX_FILE_BYTES
            )
        meta = parse_metadata(request.headers.get("upload-metadata", ""))
        if "sha256" not in meta:
            raise InvalidInput("upload.sha256_required", "Upload-Metadata must carry the file's sha256", field="sha256")
        sha = check_sha256(meta["sha256"])
        # Unfinished uploads hold storage until the cleanup job: each agent gets a bounded number.
        open_uploads = await Upload.count().where((Upload.agent_id == request.user.id) & (Upload.done == False))  # noqa: E712
        if open_uploads >= MAX_OPEN_UPLOADS:
            raise RateLimited(
                "upload.too_many_open",
                f"at most {MAX_OPEN_UPLOADS} unfinished uploads per agent: finish or DELETE some",
                limit=MAX_OPEN_UPLOADS,
            )
        upload_id = uuid.uuid4()
        # The server has these bytes already: the upload is complete from the start.
        known = await Blob.exists().where(Blob.sha256 == sha)
        await Upload.insert(
            Upload(id=upload_id, agent_id=request.user.id, sha256=sha, length=length,
                   offset=length if known else 0, parts=[], filename=meta.get("filename", "")[:200], done=known,
                   created_at=utc(request.app.state.clock()))
        ).run()  # fmt: skip
        headers = _headers(Location=f"{self.path}/{upload_id}")
        if known:
            headers["Upload-Offset"] = str(length)  # a client that reads this sends nothing
        return Response(None, status_code=201, headers=headers)

    @head("/{upload_id:uuid}", operation_id="uploadOffset", summary="How far an upload got (tus core)")
    async def offset(self, request: Req, upload_id: FromPath[uuid.UUID]) -> Response[None]:
        _check_version(request)
        row = await _own(upload_id, request)
        return Response(
            None, status_code=200, headers=_headers(**{"Upload-Offset": str(row["offset"]),
                                                       "Upload-Length": str(row["length"])})
        )  # fmt: skip

    @delete("/{upload_id:uuid}", operation_id="deleteUpload", summary="Abandon an upload (tus termination)")
    async def terminate(self, request: Req, upload_id: FromPath[uuid.UUID]) -> Response[None]:
        _check_version(request)
        row = await _own(upload_id, request)
        await _drop_parts(request.app.state.store, row)
        await Upload.delete().where(Upload.id == upload_id)
        return Response(None, status_code=204, headers=_headers())

    @patch("/{upload_id:uuid}", operation_id="appendUpload", summary="Send bytes from Upload-Offset (tus core)")
    async def append(self, request: Req, upload_id: FromPath[uuid.UUID]) -> Response[None]:
        _check_version(request)
        if request.headers.get("content-type", "").split(";")[0].strip() != OFFSET_TYPE:
            raise WrongContentType("upload.content_type", f"PATCH bodies are {OFFSET_TYPE}")
        offset = _int_header(request, "upload-offset")
        checksum = _checksum(request)
        row = await _own(upload_id, request)
        if row["done"]:
            # Complete (its bytes were known, or an answer was lost): whatever this PATCH
            # carries is not needed (read and dropped, so the client hears the answer).
            while (message := await request.receive())["type"] != "http.disconnect" and message.get("more_body"):
                pass
            return Response(None, status_code=204, headers=_headers(**{"Upload-Offset": str(row["length"])}))
        if offset != row["offset"]:
            raise OffsetMismatch("upload.offset_mismatch", "the upload is elsewhere: HEAD it", offset=row["offset"])
        store: BlobStore = request.app.state.store
        # The body goes into the store as it arrives (a part of the upload), and is kept
        # in memory too (at most Tus-Max-Size) for the checks when it completes the file.
        key = f"parts/{row['id']}/{row['offset']:012d}-{uuid.uuid4().hex[:8]}"
        buffer = bytearray()
        complete = False
        # Hashed as it arrives when this PATCH carries the file from its first byte.
        whole = hashlib.sha256() if row["offset"] == 0 else None
        hashers = [h for h in (whole, checksum[0] if checksum else None) if h is not None]
        writer = store.writer(key)
        pieces = _Pieces(writer, hashers)
        try:
            while True:
                message = await request.receive()
                if message["type"] == "http.disconnect":
                    break
                chunk = message.get("body", b"")
                assert isinstance(chunk, bytes)
                if row["offset"] + len(buffer) + len(chunk) > row["length"]:
                    raise TooLarge("upload.beyond_length", "more bytes than Upload-Length", length=row["length"])
                buffer += chunk
                if len(buffer) - pieces.done >= PIECE_BYTES:
                    await pieces.send(buffer)
                if not message.get("more_body", False):
                    complete = True
                    break
            await pieces.send(buffer)
            await pieces.wait()
        except BaseException:
            await pieces.wait()
            await writer.close()
            await store.delete(key)
            raise
        await writer.close()
        try:
            if checksum is not None and not complete:
                raise _Discard()
            if checksum is not None and checksum[0].digest() != checksum[1]:
                raise attachments.ChecksumMismatch("upload.checksum_mismatch", "the chunk does not match its checksum")
            if not buffer:
                raise _Discard()
        except BaseException as exc:
            await store.delete(key)
            if isinstance(exc, _Discard):
                return Response(None, status_code=204, headers=_headers(**{"Upload-Offset": str(row["offset"])}))
            raise
        if not row["parts"] and len(buffer) == row["length"]:
            # The whole file in one PATCH: checked straight from memory, kept under its final name.
            await _finish(store, row, bytes(buffer), request, whole.hexdigest() if whole else None, staged=key)
            return Response(None, status_code=204, headers=_headers(**{"Upload-Offset": str(row["length"])}))
        row = await _record_part(store, row, key, len(buffer))
        if row["offset"] == row["length"]:
            await _finish(store, row, None, request, None)
        return Response(None, status_code=204, headers=_headers(**{"Upload-Offset": str(row["offset"])}))


class _Pieces:
    """What arrives, in pieces: each written to the store and hashed on a worker thread
    while the next one is received (hashing 20 MB takes tens of milliseconds of CPU)."""

    def __init__(self, writer: Writer, hashers: list[Any]) -> None:
        self.writer = writer
        self.hashers = hashers
        self.done = 0
        self._hashing: asyncio.Future[None] | None = None

    async def send(self, buffer: bytearray) -> None:
        if len(buffer) == self.done:
            return
        piece = bytes(buffer[self.done :])
        self.done = len(buffer)
        await self.wait()
        if self.hashers:
            self._hashing = asyncio.ensure_future(asyncio.to_thread(_update, self.hashers, piece))
        await self.writer.write(piece)

    async def wait(self) -> None:
        if self._hashing is not None:
            await self._hashing
            self._hashing = None


def _update(hashers: list[Any], piece: bytes) -> None:
    for h in hashers:
        h.update(piece)


class _Discard(Exception):
    """A PATCH whose bytes are not kept (cut off under a checksum, or empty)."""


async def _record_part(store: BlobStore, row: Mapping[str, Any], key: str, size: int) -> dict[str, Any]:
    """Count a stored part and advance the offset, unless another request did first."""
    parts = [*row["parts"], {"key": key, "offset": row["offset"], "size": size}]
    moved = (
        await Upload.update({Upload.offset: row["offset"] + size, Upload.parts: parts})
        .where((Upload.id == row["id"]) & (Upload.offset == row["offset"]))
        .returning(Upload.id)
    )
    if not moved:
        await store.delete(key)
        raise OffsetMismatch("upload.offset_mismatch", "another request moved this upload; HEAD it")
    return {**row, "offset": row["offset"] + size, "parts": parts}


async def _drop_parts(store: BlobStore, row: Mapping[str, Any]) -> None:
    for part in row["parts"] or ():
        await store.delete(str(part["key"]))


async def _finish(
    store: BlobStore, row: dict[str, Any], data: bytes | None, request: Req, digest: str | None, staged: str = ""
) -> None:
    """Verify and keep a complete upload: from ``data`` (also stored at ``staged``), or its parts."""
    if data is None:
        data = b"".join([await store.get(str(p["key"])) for p in row["parts"]])
    leftovers = {**row, "parts": [*row["parts"], *([{"key": staged}] if staged else [])]}
    try:
        await attachments.finish(
            store, row, data, request.app.state.clock(), digest=digest, staged=staged, engine=request.app.state.engine
        )
    except attachments.ChecksumMismatch:
        # Start again from zero: which byte went wrong cannot be known.
        await Upload.update({Upload.offset: 0, Upload.parts: []}).where(Upload.id == row["id"])
        await _drop_parts(store, leftovers)
        raise
    except DaibanError:
        await Upload.delete().where(Upload.id == row["id"])
        await _drop_parts(store, leftovers)
        raise
    await _drop_parts(store, leftovers)
