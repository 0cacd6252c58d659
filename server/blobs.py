"""The one check a case makes of the attachment store: the named upload exists and was verified."""

from __future__ import annotations

from typing import Any

from hierarchy.attachments import check_sha256
from hierarchy.errors import InvalidInput
from hierarchy.machine import Action
from server.tables import Blob


async def verified_args(action: Action, args: dict[str, Any]) -> dict[str, Any]:
    """An attach names a verified upload; its type and size are the server's, not the sender's.

    When there is no such upload the arguments say so (``uploaded: False``) and the rule
    refuses, after it has checked that the agent may see and change the case at all.
    """
    if action is not Action.ATTACH:
        return args
    try:
        sha = check_sha256(args.get("sha256"))
    except InvalidInput:
        return args  # the rule says what is wrong with it
    blob = await Blob.select(Blob.media_type, Blob.size).where(Blob.sha256 == sha).first()
    if blob is None:
        return {**args, "uploaded": False}
    return {**args, "sha256": sha, "media_type": blob["media_type"], "size": blob["size"], "uploaded": True}
