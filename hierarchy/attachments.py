"""Files attached to a case's materials: what may be attached, by whom, and how much.

An attachment is named by the sha256 of the file the agent took (a photo of the
出生医学证明, the signed 告知承诺书 …), tied to one material of the item or to
``other``. The server stores the file out of band; the case only lists it. These checks
run on the device when the agent attaches and again on the server when the operation
arrives, so both give the same answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hierarchy.cases import Actor, CaseState, MaterialState
from hierarchy.errors import Conflict, Forbidden, InvalidInput, TooLarge

#: The material code of a file that belongs to no listed material.
OTHER = "other"
#: Photos and scans: the kinds a phone or a scanner makes, and nothing that runs.
ALLOWED_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf"})
MAX_FILE_BYTES = 25 * 1024 * 1024
MAX_CASE_BYTES = 100 * 1024 * 1024
MAX_FILES_PER_CASE = 40
MAX_NAME = 200

_SHA256 = re.compile(r"[0-9a-f]{64}")


def check_sha256(value: Any, field: str = "sha256") -> str:
    """A sha256 as 64 lowercase hex digits (upper case is accepted and lowered)."""
    text = value.lower() if isinstance(value, str) else ""
    if not _SHA256.fullmatch(text):
        raise InvalidInput("attachment.sha256_invalid", "sha256 is 64 hexadecimal digits", field=field)
    return text


def check_file(media_type: Any, size: Any) -> tuple[str, int]:
    """A file's type (sniffed from its bytes by the caller) and size, within the limits."""
    if media_type not in ALLOWED_TYPES:
        raise InvalidInput(
            "attachment.type_refused",
            "only photos (JPEG, PNG, WebP) and PDF files can be attached",
            field="media_type",
            media_type=str(media_type),
        )
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise InvalidInput("attachment.size_invalid", "size is a positive number of bytes", field="size")
    if size > MAX_FILE_BYTES:
        raise TooLarge(
            "attachment.file_too_large", f"a file is at most {MAX_FILE_BYTES} bytes", limit=MAX_FILE_BYTES, size=size
        )
    return str(media_type), size


def _may_change(case: CaseState, actor: Actor) -> None:
    if not case.is_open:
        raise Conflict(
            "case.illegal_transition",
            f"cannot change the files of a case that is {case.status.value}",
            case_status=case.status.value,
        )
    holds = actor.id is not None and actor.id in (case.assignee_id, case.created_by)
    if not (holds or actor.leads(case.owner_unit)):
        raise Forbidden("case.forbidden", "only the assignee, a lead of the owner unit or the creator adds files")


def attach(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Changes that add a file (and, with ``provided``, mark its material provided)."""
    _may_change(case, actor)
    sha = check_sha256(args.get("sha256"))
    if args.get("uploaded") is False:
        # Only the server knows; it says so when the named upload does not exist (yet).
        raise Conflict(
            "attachment.not_uploaded", "upload the file first (POST /api/v1/uploads), then attach it", sha256=sha
        )
    media_type, size = check_file(args.get("media_type"), args.get("size"))
    material = str(args.get("material") or "")
    codes = {str(m.get("code")) for m in case.materials}
    if material != OTHER and material not in codes:
        raise InvalidInput("case.material_unknown", "unknown material", field="material", material=material)
    name = args.get("name") or ""
    if not isinstance(name, str) or len(name) > MAX_NAME or "\x00" in name:
        raise InvalidInput("attachment.name_invalid", f"a file name is at most {MAX_NAME} characters", field="name")
    if any(a.get("sha256") == sha for a in case.attachments):
        raise Conflict("case.attachment_exists", "this file is already attached to the case", sha256=sha)
    if len(case.attachments) >= MAX_FILES_PER_CASE:
        raise TooLarge("case.too_many_attachments", f"a case holds at most {MAX_FILES_PER_CASE} files")
    total = sum(int(a.get("size") or 0) for a in case.attachments) + size
    if total > MAX_CASE_BYTES:
        raise TooLarge(
            "case.attachments_too_large", f"a case holds at most {MAX_CASE_BYTES} bytes of files", limit=MAX_CASE_BYTES
        )
    entry = {
        "sha256": sha,
        "material": material,
        "name": name.strip(),
        "media_type": media_type,
        "size": size,
        "added_by": actor.id,
        "added_at": now.isoformat(),
    }
    changes: dict[str, Any] = {"attachments": (*case.attachments, entry)}
    provided = args.get("provided", False)
    if provided is not True and provided is not False:
        raise InvalidInput("attachment.provided_invalid", "provided is true or false", field="provided")
    if provided and material != OTHER:
        changes["materials"] = tuple(
            {k: v for k, v in m.items() if k not in ("commitment", "due")} | {"state": MaterialState.PROVIDED.value}
            if str(m.get("code")) == material
            else dict(m)
            for m in case.materials
        )
    return changes


def detach(case: CaseState, actor: Actor, args: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Changes that take a file off the case (the material's state is left as it is)."""
    _may_change(case, actor)
    sha = check_sha256(args.get("sha256"))
    kept = tuple(a for a in case.attachments if a.get("sha256") != sha)
    if len(kept) == len(case.attachments):
        raise InvalidInput("case.attachment_unknown", "no such file on this case", field="sha256", sha256=sha)
    return {"attachments": kept}
