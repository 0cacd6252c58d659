"""The one check a case makes of the attachment store: the named upload exists and was verified."""

from __future__ import annotations

from typing import Any

from hierarchy.attachments import check_sha256
from hierarchy.errors import Conflict
from hierarchy.machine import Action
from server.tables import Blob


async def verified_args(action: Action, args: dict[str, Any]) -> dict[str, Any]:
    """An attach names a verified upload; its type and size are the server's, not the sender's."""
    if action is not Action.ATTACH:
        return args
    sha = check_sha256(args.get("sha256"))
    blob = await Blob.select(Blob.media_type, Blob.size).where(Blob.sha256 == sha).first()
    if blob is None:
        raise Conflict(
            "attachment.not_uploaded", "upload the file first (POST /api/v1/uploads), then attach it", sha256=sha
        )
    return {**args, "sha256": sha, "media_type": blob["media_type"], "size": blob["size"]}
