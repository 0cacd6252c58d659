"""The push/pull protocol (SPEC §5): operations, push results, pull pages.

Wire format is JSON, or MessagePack when the body is sent as ``application/msgpack``
(and asked for with ``Accept: application/msgpack``). The server's input types forbid
unknown fields; the types a device decodes accept them, so an old device survives a
newer server.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

import msgspec

from sync.wire import Case, CaseEvent, Int64, PersonName

MSGPACK = "application/msgpack"
JSON = "application/json"

#: Operation kinds: ``create``, ``edit`` (field edits merged by HLC) and every case action.
OpKind = str
Result = Literal["applied", "duplicate", "rejected"]


Bounded = Annotated[str, msgspec.Meta(max_length=200)]


class Operation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    op_id: uuid.UUID
    client_id: uuid.UUID
    seq: Int64
    case_id: uuid.UUID
    #: Bounded here, checked per operation on the server: a kind or clock no device would
    #: send (control characters, an unknown kind) is that operation's ``sync.op_invalid``.
    kind: Bounded
    #: Decoded per operation on the server (``sync.op_invalid`` when they do not fit the
    #: kind), so one bad operation is rejected alone instead of failing its batch.
    args: Any = {}
    #: Hybrid logical clock of the device when the operation was made ("ms:counter:node").
    hlc: Bounded = ""


class PushRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    client_id: uuid.UUID
    ops: list[Operation]


class OpResult(msgspec.Struct, kw_only=True):
    op_id: uuid.UUID
    seq: int
    result: Result
    #: For a duplicate: what the operation's first push gave ("applied" or "rejected").
    original: str = ""
    code: str = ""
    message: str = ""
    case_version: int | None = None


class PushResponse(msgspec.Struct, kw_only=True):
    results: list[OpResult]
    last_seq: int


class Notice(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    message: str = ""
    case_id: uuid.UUID | None = None
    created_at: str | None = None


class PullResponse(msgspec.Struct, kw_only=True):
    cursor: int
    has_more: bool = False
    cases: list[Case] = []
    #: History of this page's cases newer than what the device held (masked as for the agent).
    events: list[CaseEvent] = []
    evicted: list[uuid.UUID] = []
    last_seq: int = 0
    #: sha256 over the sorted "case_id:version" lines of the device's whole scope; sent on
    #: the last page, so a device can tell whether its replica matches.
    checksum: str | None = None
    scope_size: int | None = None
    notifications: list[Notice] = []
    #: The eviction round this answer carries: the device sends it back as ``ack`` on its
    #: next pull once it has applied the answer, and only then does the server forget the
    #: evicted cases; until then it sends them again.
    ack: int = 0


class BucketSums(msgspec.Struct, kw_only=True):
    """Checksums of the scope by bucket (the first two hex digits of a case id)."""

    buckets: dict[str, str] = {}


class BucketPage(msgspec.Struct, kw_only=True):
    """Every case of the scope in one bucket, and that bucket's checksum."""

    bucket: str
    cases: list[Case] = []
    checksum: str = ""


class DeviceCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: PersonName = ""
    client_id: uuid.UUID | None = None


class DeviceOut(msgspec.Struct, kw_only=True):
    client_id: uuid.UUID
    agent_id: int
    name: str = ""
    revoked: bool = False
    last_seq: int = 0


def scope_checksum(versions: dict[str, int] | list[tuple[str, int]]) -> str:
    """The checksum both sides compute over (case id, version) pairs."""
    import hashlib

    pairs = sorted(versions.items() if isinstance(versions, dict) else versions)
    digest = hashlib.sha256()
    for case_id, version in pairs:
        digest.update(f"{case_id}:{version}\n".encode())
    return digest.hexdigest()


def bucket_of(case_id: str) -> str:
    """The repair bucket of a case: the first two hex digits of its id (256 buckets)."""
    return case_id[:2].lower()


def bucket_checksums(versions: list[tuple[str, int]]) -> dict[str, str]:
    """Per bucket, the checksum both sides compute over its (case id, version) pairs."""
    by_bucket: dict[str, list[tuple[str, int]]] = {}
    for case_id, version in versions:
        by_bucket.setdefault(bucket_of(case_id), []).append((case_id, version))
    return {b: scope_checksum(pairs)[:16] for b, pairs in by_bucket.items()}


json_encoder = msgspec.json.Encoder()
msgpack_encoder = msgspec.msgpack.Encoder()
