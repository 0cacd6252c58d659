"""The device's local SQLite replica: cases, the durable outbox, conflicts, settings.

Every write that matters commits before the call returns (``synchronous=FULL``), so a
device killed at any moment restarts with every operation it acknowledged to its user
still in the outbox.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from sync.protocol import Notice, Operation
from sync.wire import Case, CaseEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY,
    server BLOB,              -- the case as the server last sent it (NULL: born here, not yet synced)
    local BLOB NOT NULL,      -- what the agent sees: server state + pending operations
    server_version INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    owner_unit TEXT NOT NULL,
    assignee_id INTEGER,
    due_at TEXT,
    priority INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS cases_owner ON cases (owner_unit, status);
CREATE INDEX IF NOT EXISTS cases_assignee ON cases (assignee_id);
-- Lists run in this order; with these a page is an index walk, not a sort of every row.
CREATE INDEX IF NOT EXISTS cases_order ON cases (priority DESC, due_at, id);
CREATE INDEX IF NOT EXISTS cases_queue_order ON cases (owner_unit, status, priority DESC, due_at, id);
CREATE INDEX IF NOT EXISTS cases_mine_order ON cases (assignee_id, priority DESC, due_at, id);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    op_id TEXT NOT NULL UNIQUE,
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    args BLOB NOT NULL,
    hlc TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_case ON outbox (case_id);
-- Each case's history as pulls brought it: shown offline (daiban village history).
CREATE TABLE IF NOT EXISTS events (
    case_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (case_id, version)
);
CREATE TABLE IF NOT EXISTS conflicts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id TEXT,
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    snapshot BLOB,
    at TEXT NOT NULL,
    dismissed INTEGER NOT NULL DEFAULT 0
);
-- Cases born here whose create the server refused: listed as rejected, closed to further
-- actions, removed with their pending operations when the agent dismisses the rejection.
-- A dismissed row stays so what is still queued for the case is answered quietly.
CREATE TABLE IF NOT EXISTS rejected (
    case_id TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    dismissed INTEGER NOT NULL DEFAULT 0
);
-- Notifications as pulls bring them; read_at is this device's own mark.
CREATE TABLE IF NOT EXISTS notices (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    case_id TEXT,
    created_at TEXT,
    read_at TEXT
);
CREATE INDEX IF NOT EXISTS notices_unread ON notices (read_at, id);
"""

_case_decoder = msgspec.json.Decoder(Case)
_event_decoder = msgspec.json.Decoder(CaseEvent)
_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {Case: _case_decoder}
T = TypeVar("T")

#: Where a page of a list ended: (priority, due_at, id) of its last case.
PageKey = tuple[int, str | None, str]

#: The list order, and the keyset condition "after the row at (:p, :d, :i)" in it (due_at
#: sorts NULL first, as SQLite orders an ascending column).
ORDER = "priority DESC, due_at, id"
_AFTER = "(priority < ? OR (priority = ? AND (due_at > ? OR (due_at = ? AND id > ?))))"
_AFTER_NULL_DUE = "(priority < ? OR (priority = ? AND (due_at IS NOT NULL OR id > ?)))"


@dataclass(frozen=True, slots=True)
class ConflictRecord:
    id: int
    op_id: str | None
    case_id: str
    kind: str
    code: str
    message: str
    at: str
    snapshot: Case | None = None


@dataclass(frozen=True, slots=True)
class StoredNotice:
    id: int
    kind: str
    message: str
    case_id: str | None
    created_at: str | None
    read_at: str | None


class Replica:
    """One device's local database."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=FULL")
        self.conn.executescript(SCHEMA)
        #: The bearer token lives beside the database, never in it: a copy of the replica
        #: (a backup, a file sent for support) carries no way into the server.
        self.token_path = self.path.with_name(self.path.name + ".token")
        stored = self.get("token")
        if stored is not None:  # a replica from before the token file
            self.write_token(stored)
            self.forget(None, "token")

    def close(self) -> None:
        self.conn.close()

    # --- the token ------------------------------------------------------------------

    def read_token(self) -> str | None:
        try:
            return self.token_path.read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def write_token(self, token: str) -> None:
        """Keep the token in a file only its user can read or write (0600)."""
        fd = os.open(self.token_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT
            os.write(fd, token.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def wipe_token(self) -> None:
        """Overwrite and remove the token file (signing out)."""
        try:
            size = self.token_path.stat().st_size
        except FileNotFoundError:
            return
        with open(self.token_path, "r+b") as f:
            f.write(b"\0" * size)
            f.flush()
            os.fsync(f.fileno())
        self.token_path.unlink()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """One atomic, durable write."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # --- settings -------------------------------------------------------------------

    def get(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def forget(self, conn: sqlite3.Connection | None = None, *keys: str) -> None:
        c = conn or self.conn
        c.executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in keys])

    def put(self, conn: sqlite3.Connection | None = None, **values: Any) -> None:
        c = conn or self.conn
        c.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [(k, str(v)) for k, v in values.items()],
        )

    # --- cases ----------------------------------------------------------------------

    def case(self, case_id: str) -> Case | None:
        row = self.conn.execute("SELECT local FROM cases WHERE id = ?", (case_id,)).fetchone()
        return _case_decoder.decode(row[0]) if row else None

    def server_case(self, case_id: str) -> Case | None:
        row = self.conn.execute("SELECT server FROM cases WHERE id = ?", (case_id,)).fetchone()
        return _case_decoder.decode(row[0]) if row and row[0] else None

    def cases(self, where: str = "1=1", params: tuple[Any, ...] = (), limit: int = 100_000) -> list[Case]:
        rows = self.conn.execute(
            f"SELECT local FROM cases WHERE {where} ORDER BY {ORDER} LIMIT ?", (*params, limit)
        ).fetchall()
        return [_case_decoder.decode(r[0]) for r in rows]

    def cases_page(
        self,
        where: str = "1=1",
        params: tuple[Any, ...] = (),
        *,
        after: PageKey | None = None,
        limit: int = 500,
        into: type[T],
    ) -> tuple[list[T], PageKey | None]:
        """One page of :meth:`cases`, resuming after ``after`` (keyset, not offset).

        Each case's JSON is decoded into ``into``: :class:`Case`, or a Struct with only the
        fields a list shows, which decodes several times faster. Returns the page
        and the key to pass as ``after`` for the next one (None after the last page).
        Cases that change between pages may move in the order; a list read in pages is
        as of each page, and a later reload shows the rest.
        """
        if after is not None:
            p, d, i = after
            if d is None:
                where, params = f"({where}) AND {_AFTER_NULL_DUE}", (*params, p, p, i)
            else:
                where, params = f"({where}) AND {_AFTER}", (*params, p, p, d, d, i)
        rows = self.conn.execute(
            f"SELECT local, priority, due_at, id FROM cases WHERE {where} ORDER BY {ORDER} LIMIT ?",
            (*params, limit),
        ).fetchall()
        decoder = _decoders.get(into)
        if decoder is None:
            decoder = _decoders[into] = msgspec.json.Decoder(into)
        page = [decoder.decode(r[0]) for r in rows]
        last = rows[-1] if len(rows) == limit else None
        return page, (last[1], last[2], last[3]) if last is not None else None

    def save_local(self, conn: sqlite3.Connection, case: Case) -> None:
        body = msgspec.json.encode(case)
        conn.execute(
            """INSERT INTO cases (id, server, local, server_version, status, owner_unit, assignee_id, due_at, priority)
               VALUES (?, NULL, ?, 0, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET local = excluded.local, status = excluded.status,
                 owner_unit = excluded.owner_unit, assignee_id = excluded.assignee_id,
                 due_at = excluded.due_at, priority = excluded.priority""",
            (
                str(case.id),
                body,
                case.status.value,
                case.owner_unit,
                case.assignee_id,
                _iso(case.due_at),
                case.priority,
            ),
        )

    def save_server(self, conn: sqlite3.Connection, case: Case) -> None:
        """Store the server's state as both server and local copy (rebase re-applies pending ops)."""
        body = msgspec.json.encode(case)
        conn.execute(
            """INSERT INTO cases (id, server, local, server_version, status, owner_unit, assignee_id, due_at, priority)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET server = excluded.server, local = excluded.local,
                 server_version = excluded.server_version, status = excluded.status,
                 owner_unit = excluded.owner_unit, assignee_id = excluded.assignee_id,
                 due_at = excluded.due_at, priority = excluded.priority""",
            (
                str(case.id),
                body,
                body,
                case.version,
                case.status.value,
                case.owner_unit,
                case.assignee_id,
                _iso(case.due_at),
                case.priority,
            ),
        )

    def drop_case(self, conn: sqlite3.Connection, case_id: str) -> None:
        conn.execute("DELETE FROM cases WHERE id = ?", (case_id,))
        conn.execute("DELETE FROM events WHERE case_id = ?", (case_id,))

    def save_events(self, conn: sqlite3.Connection, events: list[CaseEvent]) -> None:
        """Keep history a pull brought (a version seen again replaces the old copy)."""
        conn.executemany(
            "INSERT OR REPLACE INTO events (case_id, version, body) VALUES (?, ?, ?)",
            [(str(e.case_id), e.version, msgspec.json.encode(e)) for e in events],
        )

    def events(self, case_id: str) -> list[CaseEvent]:
        """A case's history on this device, oldest first."""
        rows = self.conn.execute("SELECT body FROM events WHERE case_id = ? ORDER BY version", (case_id,))
        return [_event_decoder.decode(r[0]) for r in rows]

    def versions(self) -> list[tuple[str, int]]:
        """(case id, server version) of every case the server has sent."""
        return [
            (r[0], r[1]) for r in self.conn.execute("SELECT id, server_version FROM cases WHERE server IS NOT NULL")
        ]

    # --- outbox ---------------------------------------------------------------------

    def enqueue(
        self, conn: sqlite3.Connection, client_id: str, case_id: str, kind: str, args: dict[str, Any], hlc: str
    ) -> Operation:
        seq = int(self.get("next_seq", "1") or 1)
        op = Operation(
            op_id=uuid.uuid4(),
            client_id=uuid.UUID(client_id),
            seq=seq,
            case_id=uuid.UUID(case_id),
            kind=kind,
            args=args,
            hlc=hlc,
        )
        conn.execute(
            "INSERT INTO outbox (seq, op_id, case_id, kind, args, hlc, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (seq, str(op.op_id), case_id, kind, msgspec.json.encode(args), hlc, datetime.now(UTC).isoformat()),
        )
        self.put(conn, next_seq=seq + 1)
        return op

    def outbox(self, limit: int = 1_000_000, case_id: str | None = None) -> list[Operation]:
        client_id = self.get("client_id") or str(uuid.UUID(int=0))
        sql = "SELECT seq, op_id, case_id, kind, args, hlc FROM outbox"
        params: tuple[Any, ...] = ()
        if case_id is not None:
            sql += " WHERE case_id = ?"
            params = (case_id,)
        rows = self.conn.execute(sql + " ORDER BY seq LIMIT ?", (*params, limit)).fetchall()
        return [
            Operation(
                op_id=uuid.UUID(r[1]),
                client_id=uuid.UUID(client_id),
                seq=r[0],
                case_id=uuid.UUID(r[2]),
                kind=r[3],
                args=msgspec.json.decode(r[4]),
                hlc=r[5],
            )
            for r in rows
        ]

    def pending_count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM outbox").fetchone()[0])

    def pending_cases(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT DISTINCT case_id FROM outbox")}

    def ack(self, conn: sqlite3.Connection, last_seq: int) -> None:
        """Drop operations the server has processed (applied, duplicate or rejected)."""
        conn.execute("DELETE FROM outbox WHERE seq <= ?", (last_seq,))

    # --- conflicts ------------------------------------------------------------------

    def add_conflict(
        self,
        conn: sqlite3.Connection,
        *,
        case_id: str,
        kind: str,
        code: str,
        message: str,
        op_id: str | None = None,
        snapshot: Case | None = None,
    ) -> None:
        conn.execute(
            "INSERT INTO conflicts (op_id, case_id, kind, code, message, snapshot, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                op_id,
                case_id,
                kind,
                code,
                message,
                msgspec.json.encode(snapshot) if snapshot else None,
                datetime.now(UTC).isoformat(),
            ),
        )

    def conflicts(self, include_dismissed: bool = False) -> list[ConflictRecord]:
        sql = "SELECT id, op_id, case_id, kind, code, message, at, snapshot FROM conflicts"
        if not include_dismissed:
            sql += " WHERE dismissed = 0"
        return [
            ConflictRecord(
                id=r[0],
                op_id=r[1],
                case_id=r[2],
                kind=r[3],
                code=r[4],
                message=r[5],
                at=r[6],
                snapshot=_case_decoder.decode(r[7]) if r[7] else None,
            )
            for r in self.conn.execute(sql + " ORDER BY id")
        ]

    def dismiss(self, conflict_id: int) -> None:
        """Dismiss a conflict; dismissing a refused create also removes the case born
        here and every conflict about it (what is still queued for it goes out, and its
        refusal is not shown again)."""
        with self.tx() as c:
            row = c.execute("SELECT case_id FROM conflicts WHERE id = ?", (conflict_id,)).fetchone()
            c.execute("UPDATE conflicts SET dismissed = 1 WHERE id = ?", (conflict_id,))
            if row is None or row[0] not in self.rejected_cases():
                return
            c.execute("UPDATE rejected SET dismissed = 1 WHERE case_id = ?", (row[0],))
            c.execute("UPDATE conflicts SET dismissed = 1 WHERE case_id = ?", (row[0],))
            c.execute("DELETE FROM cases WHERE id = ? AND server IS NULL", (row[0],))

    # --- refused creates ------------------------------------------------------------

    def reject_create(self, conn: sqlite3.Connection, case_id: str, code: str) -> None:
        """Mark a case born here as refused by the server (it never existed there)."""
        conn.execute("INSERT OR IGNORE INTO rejected (case_id, code) VALUES (?, ?)", (case_id, code))

    def rejected_cases(self, include_dismissed: bool = False) -> dict[str, str]:
        """Case id → the server's code, for creates the server refused."""
        sql = "SELECT case_id, code FROM rejected" + ("" if include_dismissed else " WHERE dismissed = 0")
        return {r[0]: r[1] for r in self.conn.execute(sql)}

    # --- notifications -------------------------------------------------------------

    def save_notices(self, conn: sqlite3.Connection, notices: list[Notice]) -> None:
        """Keep what a pull brought; one seen again (a repaired pull) keeps its read mark."""
        conn.executemany(
            "INSERT OR IGNORE INTO notices (id, kind, message, case_id, created_at) VALUES (?, ?, ?, ?, ?)",
            [(n.id, n.kind, n.message, str(n.case_id) if n.case_id else None, n.created_at) for n in notices],
        )

    def notices(self, unread_only: bool = False, limit: int = 200) -> list[StoredNotice]:
        """Unread first, newest first."""
        where = "WHERE read_at IS NULL" if unread_only else ""
        rows = self.conn.execute(
            f"SELECT id, kind, message, case_id, created_at, read_at FROM notices {where} "
            "ORDER BY read_at IS NOT NULL, id DESC LIMIT ?",
            (limit,),
        ).fetchall()
        return [StoredNotice(*r) for r in rows]

    def unread_notices(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM notices WHERE read_at IS NULL").fetchone()[0])

    def mark_notices_read(self, notice_id: int | None = None) -> int:
        """Mark one (or every) notification read on this device; returns how many changed."""
        now = datetime.now(UTC).isoformat()
        with self.tx() as c:
            if notice_id is None:
                return c.execute("UPDATE notices SET read_at = ? WHERE read_at IS NULL", (now,)).rowcount
            return c.execute(
                "UPDATE notices SET read_at = ? WHERE id = ? AND read_at IS NULL", (now, notice_id)
            ).rowcount


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None
