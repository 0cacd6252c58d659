"""A case's files: the list, each file, its thumbnail (only for agents who see the case)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import msgspec
from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from server import attachments, cases
from server.auth import Principal
from sync import wire

Req = Request[Principal, Any, Any]


def _download(out: attachments.FileOut, disposition: str) -> Response[bytes]:
    # Never rendered in the browser as what it claims to be: saved, with its type as sniffed
    # (and ``nosniff``, which server.headers puts on every answer).
    name = quote(out.name, safe="")
    return Response(
        out.data,
        media_type=out.media_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{name}",
            "Cache-Control": "private, no-store",
        },
    )


class AttachmentController(Controller):
    path = "/api/v1/cases"
    tags = ["attachments"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @get("/{case_id:uuid}/attachments", operation_id="listAttachments", summary="The files of a case's materials")
    async def list_files(self, request: Req, case_id: FromPath[uuid.UUID]) -> list[wire.Attachment]:
        row = await cases.visible_row(case_id, request.user.actor)
        return msgspec.convert(row.get("attachments") or [], list[wire.Attachment])

    @get(
        "/{case_id:uuid}/attachments/{sha256:str}",
        operation_id="getAttachment",
        summary="One file, as an attachment download (404 outside your scope)",
        media_type="application/octet-stream",
    )
    async def get_file(self, request: Req, case_id: FromPath[uuid.UUID], sha256: FromPath[str]) -> Response[bytes]:
        out = await attachments.read_file(
            request.app.state.store, case_id, sha256, request.user.actor, thumbnail=False
        )
        return _download(out, "attachment")

    @get(
        "/{case_id:uuid}/attachments/{sha256:str}/thumbnail",
        operation_id="getAttachmentThumbnail",
        summary="A small JPEG of a photo",
        media_type="image/jpeg",
    )
    async def get_thumbnail(
        self, request: Req, case_id: FromPath[uuid.UUID], sha256: FromPath[str]
    ) -> Response[bytes]:
        out = await attachments.read_file(request.app.state.store, case_id, sha256, request.user.actor, thumbnail=True)
        return _download(out, "attachment")
