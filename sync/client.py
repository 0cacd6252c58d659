"""The offline-first client used by ``daiban village`` and the console.

Every action is checked with the same rules the server uses (``hierarchy.machine``),
applied to the local replica at once and queued in the durable outbox in one local
transaction. ``sync()`` pushes the outbox, pulls pages until done, then rebases the
operations still pending on the fresh server state.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import msgspec
from pwdlib import PasswordHash

from hierarchy import intake
from hierarchy.cases import NO_ITEM_DAYS, Actor, CaseKind, CaseState, Status, base_priority
from hierarchy.errors import DaibanError
from hierarchy.items import cross_county_owner
from hierarchy.machine import Action, Decision, UnitRef, apply, decide
from hierarchy.ratings import new_rating_code
from hierarchy.roles import Role
from hierarchy.sla import compute_sla
from hierarchy.tree import Level
from hierarchy.validation import check_phone
from sync.files import Files
from sync.hlc import HLC
from sync.protocol import (
    BucketPage,
    BucketSums,
    PullResponse,
    PushRequest,
    PushResponse,
    bucket_checksums,
    bucket_of,
    scope_checksum,
)
from sync.receipt import Receipt, receipt_of
from sync.replica import ConflictRecord, PageKey, Replica, StoredNotice
from sync.transport import SyncError, Transport
from sync.wire import Case, CaseCreate, CaseEvent, state_of

PUSH_BATCH = 200
#: Cases per page when a device pulls its scope from the start (the server's most).
FIRST_PAGES = 1000
#: A sync compares the whole scope with the server's at least this often.
CHECK_EVERY = timedelta(minutes=10)
T = TypeVar("T")
Progress = Callable[[str, int, int | None], None]


@dataclass(frozen=True, slots=True)
class ClientStatus:
    online: bool
    pending: int
    conflicts: int
    last_sync: str | None
    cursor: int
    server: str | None
    username: str | None


@dataclass
class SyncReport:
    pushed: int = 0
    applied: int = 0
    duplicates: int = 0
    rejected: int = 0
    pulled: int = 0
    pages: int = 0
    evicted: int = 0
    conflicts: int = 0
    #: The replica matched the server's scope at the end of the sync (after any repair).
    checksum_ok: bool | None = None
    #: A mismatch was found and the differing buckets were fetched again.
    mismatch: bool = False
    repaired: bool = False
    #: Buckets fetched again, and the cases they held.
    buckets: int = 0
    resent: int = 0
    uploaded: int = 0


#: Fields the rules change that the wire case carries too.
_COMMON = [f for f in Case.__struct_fields__ if f in {x.name for x in dataclasses.fields(CaseState)}]


def case_after(case: Case, decision: Decision) -> Case:
    """The replica case with a decision's changes applied."""
    new = apply(state_of(case), decision)
    updates: dict[str, Any] = {f: getattr(new, f) for f in _COMMON}
    if "rating_comment" in decision.changes:
        updates["rating_comment"] = decision.changes["rating_comment"]
    merged = {**msgspec.to_builtins(case), **msgspec.to_builtins(updates)}
    return msgspec.convert(merged, Case, strict=False)


#: Replica keys of what an offline start shows: the units around the agent, the agents of
#: the subtree (by ``<unit>/subtree``), both as the server sent them (JSON).
UNITS_KEY = "network_units"
AGENTS_KEY = "network_agents"
#: An argon2 hash of the password of the last online sign-in: offline sign-in checks it.
VERIFIER_KEY = "password_verifier"


def password_verifier(password: str) -> str:
    """An argon2 hash of ``password`` (pwdlib's recommended settings)."""
    return str(PasswordHash.recommended().hash(password))


class SyncClient:
    """One device: its replica, its identity, and the way to the server."""

    def __init__(self, replica: Replica, transport: Transport | None = None) -> None:
        self.replica = replica
        server = replica.get("server")
        self.transport = transport or Transport(server or "http://127.0.0.1:8000", token=replica.read_token())
        self.online = False
        #: Whether a sync of this client has compared the whole scope yet.
        self._checked = False
        self.hlc = HLC(node=(replica.get("client_id") or "unregistered")[:8])
        self.files = Files(replica)

    @classmethod
    def open(cls, path: str | Path, **transport_options: Any) -> SyncClient:
        replica = Replica(path)
        server = replica.get("server")
        transport = Transport(server or "http://127.0.0.1:8000", token=replica.read_token(), **transport_options)
        return cls(replica, transport)

    async def close(self) -> None:
        await self.transport.close()
        self.replica.close()

    # --- identity -------------------------------------------------------------------

    async def init(self, server: str, username: str, password: str, device_name: str = "") -> dict[str, Any]:
        """Sign in, register this device and cache what offline work needs; returns the agent."""
        self.transport.base_url = server.rstrip("/")
        agent = await self.login(username, password)
        client_id = self.replica.get("client_id")
        device = await self.transport.call(
            "POST",
            "/api/v1/devices",
            json={"name": device_name or f"{username} device", **({"client_id": client_id} if client_id else {})},
        )
        items = await self.transport.call("GET", "/api/v1/items")
        with self.replica.tx() as c:
            self.replica.put(
                c,
                server=self.transport.base_url,
                client_id=device["client_id"],
                items=msgspec.json.encode(items).decode(),
            )
        self.hlc.node = str(device["client_id"])[:8]
        await self.remember_network(str(agent["unit_code"]))
        return agent

    async def remember_network(self, unit_code: str) -> None:
        """Keep the units of the agent's subtree and above, and its agents, for offline starts
        (names, not codes, on a device that has not seen the server since ``init``)."""
        units: list[dict[str, Any]] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"within": unit_code, "limit": 1000, **({"cursor": cursor} if cursor else {})}
            page = await self.transport.call("GET", "/api/v1/units", params=params)
            units += page["units"]
            cursor = page.get("next_cursor")
            if not cursor:
                break
        own = next((u for u in units if u["code"] == unit_code), None)
        for code in (own["path"].strip("/").split("/") if own else []):
            if code != unit_code:
                units.append(await self.transport.call("GET", f"/api/v1/units/{code}", auth=False))
        agents = await self.transport.call("GET", "/api/v1/agents", params={"unit": unit_code, "subtree": "true"})
        with self.replica.tx() as c:
            self.replica.put(
                c,
                **{
                    UNITS_KEY: msgspec.json.encode(units).decode(),
                    AGENTS_KEY: msgspec.json.encode({f"{unit_code}/subtree": agents}).decode(),
                },
            )

    async def login(self, username: str, password: str, *, remember: bool = True) -> dict[str, Any]:
        """Sign in (online); returns the agent as the server describes it. With ``remember``
        the password's verifier for offline sign-in is stored now (else call
        :meth:`remember_password` later, off the sign-in's critical path)."""
        token = await self.transport.call(
            "POST", "/api/v1/auth/token", json={"username": username, "password": password}, auth=False
        )
        agent = token["agent"]
        self.transport.token = token["access_token"]
        verifier = {VERIFIER_KEY: password_verifier(password)} if remember else {}
        unit = await self.transport.call("GET", f"/api/v1/units/{agent['unit_code']}", auth=False)
        self.replica.write_token(token["access_token"])
        with self.replica.tx() as c:
            self.replica.put(
                c,
                agent_id=agent["id"],
                username=agent["username"],
                agent_name=agent.get("name") or agent["username"],
                role=agent["role"],
                unit_code=unit["code"],
                unit_name=unit["name"],
                unit_path=unit["path"],
                unit_level=unit["level"],
                open_weekends=int(unit["open_weekends"]),
                server=self.transport.base_url,
                **verifier,
            )
        self.online = True
        return dict(agent)

    def remember_password(self, verifier: str) -> None:
        """Store a verifier made by :func:`password_verifier` (in a worker thread, say)."""
        with self.replica.tx() as c:
            self.replica.put(c, **{VERIFIER_KEY: verifier})

    def check_offline(self, username: str, password: str) -> bool:
        """Whether ``username`` and ``password`` are those of this device's last online sign-in."""
        verifier = self.replica.get(VERIFIER_KEY)
        if verifier is None or self.replica.get("username") != username:
            return False
        return bool(PasswordHash.recommended().verify(password, verifier))

    def sign_out(self) -> None:
        """Forget the bearer token here and wipe its file (the verifier stays for offline sign-in)."""
        self.transport.token = None
        self.replica.wipe_token()

    @property
    def registered(self) -> bool:
        return self.replica.get("client_id") is not None

    def actor(self) -> Actor:
        r = self.replica
        if r.get("agent_id") is None:
            raise SyncError("client.not_initialised", "run `daiban village init` first")
        return Actor(
            id=int(r.get("agent_id") or 0),
            unit_code=r.get("unit_code") or "",
            unit_path=r.get("unit_path") or "",
            role=Role(r.get("role") or Role.VILLAGE_AGENT.value),
            level=Level(r.get("unit_level") or Level.VILLAGE.value),
            username=r.get("username") or "",
        )

    def items(self) -> list[dict[str, Any]]:
        raw = self.replica.get("items")
        return list(msgspec.json.decode(raw)) if raw else []

    # --- reads ----------------------------------------------------------------------

    def cases(self, view: str = "scope", status: list[str] | None = None) -> list[Case]:
        where, params = self._view_where(view, None)
        found = self.replica.cases(where, params)
        return [c for c in found if not status or c.status.value in status]

    def case_page(
        self,
        view: str = "scope",
        status: list[str] | None = None,
        *,
        after: PageKey | None = None,
        limit: int = 500,
        into: type[T],
    ) -> tuple[list[T], PageKey | None]:
        """One page of :meth:`cases` (same view, same order), decoded into ``into``;
        pass the returned key as ``after`` for the next page (None: that was the last)."""
        where, params = self._view_where(view, status)
        return self.replica.cases_page(where, params, after=after, limit=limit, into=into)

    def _view_where(self, view: str, status: list[str] | None) -> tuple[str, tuple[Any, ...]]:
        me = self.actor()
        where: str = "1=1"
        params: tuple[Any, ...] = ()
        if view == "mine":
            where, params = "assignee_id = ?", (me.id,)
        elif view == "queue":
            where, params = "owner_unit = ? AND status = 'queued'", (me.unit_code,)
        if status:
            where += f" AND status IN ({', '.join('?' * len(status))})"
            params += tuple(status)
        return where, params

    def case(self, case_id: str | uuid.UUID) -> Case | None:
        return self.replica.case(str(case_id))

    def pending_cases(self) -> set[str]:
        return self.replica.pending_cases()

    def rejected_cases(self) -> dict[str, str]:
        """Cases taken here whose create the server refused (id → code), until dismissed."""
        return self.replica.rejected_cases()

    def inbox(self, unread_only: bool = False) -> list[StoredNotice]:
        """Notifications pulled to this device (readable offline), unread first."""
        return self.replica.notices(unread_only)

    def conflicts(self) -> list[ConflictRecord]:
        return self.replica.conflicts()

    def status(self) -> ClientStatus:
        return ClientStatus(
            online=self.online,
            pending=self.replica.pending_count(),
            conflicts=len(self.replica.conflicts()),
            last_sync=self.replica.get("last_sync"),
            cursor=int(self.replica.get("cursor", "0") or 0),
            server=self.replica.get("server"),
            username=self.replica.get("username"),
        )

    def search(self, text: str) -> list[Case]:
        """Cases on this device for a person, as the server's search finds them: the
        applicant's exact name, resident ID, credit code or phone, a project code — or
        text in the title or reference. Masked identifiers (not ours to see) never match."""
        wanted = text.strip()
        name, upper = "".join(wanted.split()), wanted.upper()
        try:
            phone: str | None = check_phone(wanted)
        except DaibanError:
            phone = None
        found = []
        for case in self.cases():
            a, project = case.applicant, case.project or {}
            if (
                "".join(str(a.get("name") or "").split()) == name
                or upper in (str(a.get("resident_id") or "").upper(), str(a.get("credit_code") or "").upper())
                or (phone is not None and a.get("phone") == phone)
                or (upper and str(project.get("code") or "").upper() == upper)
                or (wanted and (wanted.lower() in case.title.lower() or wanted in (case.ref or "")))
            ):
                found.append(case)
        return found

    def receipt(self, case_id: str | uuid.UUID) -> Receipt:
        """The applicant's receipt (回执) of a case on this device, made offline."""
        case = self._require(case_id)
        item = next((i for i in self.items() if i["code"] == case.item_code), None)
        mine = case.created_by == self.actor().id
        return receipt_of(
            case,
            item_name=item["name"] if item else "",
            agent=(self.replica.get("agent_name") or "") if mine else f"#{case.created_by}",
            unit=(self.replica.get("unit_name") or case.origin_unit) if mine else case.origin_unit,
            base_url=self.replica.get("server") or "",
        )

    def local_history(self, case_id: str | uuid.UUID) -> list[CaseEvent]:
        """A case's history as the last sync brought it (offline)."""
        return self.replica.events(str(case_id))

    async def history(self, case_id: str | uuid.UUID) -> list[dict[str, Any]]:
        """The server's history of a case (online only)."""
        return list(await self.transport.call("GET", f"/api/v1/cases/{case_id}/history"))

    async def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any other API call, online (units, workload, reports …)."""
        return await self.transport.call(method, path, **kwargs)

    # --- writes: applied here at once, queued for the server ------------------------

    def create(self, data: Mapping[str, Any]) -> Case:
        """Take a new matter: the case exists on this device at once, with a client-made id."""
        me = self.actor()
        body = {"id": str(uuid.uuid4()), **data}
        try:
            create = msgspec.convert(body, CaseCreate)
        except msgspec.ValidationError as exc:
            raise _invalid(exc) from None
        item = next((i for i in self.items() if i["code"] == create.item_code), None)
        # The server's own checks, here, before anything is queued.
        applicant = intake.check_applicant(msgspec.to_builtins(create.applicant))
        title, _ticket = intake.check_case_fields(
            kind=create.kind, source=create.source, item_code=create.item_code, item=item, title=create.title,
            description=create.description, has_project=create.project is not None,
            applicant_type=create.applicant.type, ticket_no=create.ticket_no,
        )  # fmt: skip
        days = item["promised_days"] if item else NO_ITEM_DAYS
        if create.rating_code is None:
            # Made here, so the receipt printed now carries it; the server keeps it.
            create = msgspec.structs.replace(create, rating_code=new_rating_code())
        now = datetime.now(UTC)
        complaint = create.kind is CaseKind.COMPLAINT
        elsewhere = None if complaint or item is None else cross_county_owner(item, me.unit_path)
        owner = self._city() if complaint else elsewhere or (me.unit_code, me.unit_path)
        queued = complaint or elsewhere is not None
        weekends = self.replica.get("open_weekends") == "1"
        case = Case(
            id=create.id, kind=create.kind, item_code=create.item_code, title=title,
            description=create.description, applicant=applicant,
            groups=[g.value for g in create.groups], service_mode=create.service_mode.value,
            origin_unit=me.unit_code, origin_path=me.unit_path, owner_unit=owner[0], owner_path=owner[1],
            created_by=me.id, assignee_id=None if queued else me.id,
            status=Status.QUEUED if queued else Status.IN_PROGRESS, rating_code=create.rating_code,
            last_from_unit=me.unit_code if elsewhere else None, last_from_path=me.unit_path if elsewhere else None,
            priority=base_priority(create.kind, create.service_mode, [g.value for g in create.groups]),
            materials=[{**m, "state": "missing"} for m in (item or {}).get("materials", [])], accepted_at=now,
            due_at=compute_sla(now, days, weekends, ()).due_at, promised_days=days,
            open_weekends=weekends, holders=[me.id] if me.id else [], queued_at=now, created_at=now,
        )  # fmt: skip
        args = msgspec.to_builtins(create)
        args.pop("id")
        with self.replica.tx() as c:
            self.replica.save_local(c, case)
            self.replica.enqueue(c, self._client_id(), str(case.id), "create", args, self.hlc.now())
        return case

    def act(
        self,
        case_id: str | uuid.UUID,
        action: str | Action,
        *,
        unit: UnitRef | None = None,
        agent: Actor | None = None,
        **args: Any,
    ) -> Case:
        """Apply an action here (same rules as the server) and queue it.

        Raises the domain error at once when the rules refuse, so the agent sees it now.
        ``unit``/``agent`` give the local rules the target of a dispatch or hand-over;
        without them the operation is queued unchecked and the server decides.
        """
        action = Action(action)
        case = self._require(case_id)
        wire_args = {k: v for k, v in args.items() if v is not None}
        if unit is not None:
            wire_args["unit"] = unit.code
        if agent is not None:
            wire_args["agent"] = agent.username
        # A target named only by code cannot be checked here; the server decides.
        unchecked = unit is None and agent is None and ("unit" in wire_args or "agent" in wire_args)
        new = case
        if not unchecked:
            decision = decide(
                state_of(case), self.actor(), action, wire_args, datetime.now(UTC), target_unit=unit, target_agent=agent
            )
            new = case_after(case, decision)
        with self.replica.tx() as c:
            self.replica.save_local(c, new)
            self.replica.enqueue(c, self._client_id(), str(case.id), action.value, wire_args, self.hlc.now())
        return new

    def edit(self, case_id: str | uuid.UUID, **fields: Any) -> Case:
        """Field edits (title, description, materials): merged field by field on the server."""
        case = self._require(case_id)
        decision = decide(state_of(case), self.actor(), Action.UPDATE, fields, datetime.now(UTC))
        new = case_after(case, decision)
        with self.replica.tx() as c:
            self.replica.save_local(c, new)
            self.replica.enqueue(c, self._client_id(), str(case.id), "edit", fields, self.hlc.now())
        return new

    def attach(self, case_id: str | uuid.UUID, material: str, path: Path, *, provided: bool = False) -> Case:
        """Keep the file here at once and queue its upload and the ``attach`` operation."""
        case = self._require(case_id)
        kept = self.files.keep(Path(path))
        args = {"sha256": kept.sha256, "material": material, "name": kept.name, "media_type": kept.media_type,
                "size": kept.size, "provided": provided}  # fmt: skip
        decision = decide(state_of(case), self.actor(), Action.ATTACH, args, datetime.now(UTC))
        new = case_after(case, decision)
        with self.replica.tx() as c:
            self.files.queue(c, kept)
            self.replica.save_local(c, new)
            self.replica.enqueue(c, self._client_id(), str(case.id), Action.ATTACH.value, args, self.hlc.now())
        return new

    # --- sync -----------------------------------------------------------------------

    async def sync(self, progress: Progress | None = None, *, check: bool = False) -> SyncReport:
        """Push everything pending, pull every page, rebase what is still pending.

        The pull compares the whole scope (checksum, repair) with ``check``, on this
        client's first sync, and every :data:`CHECK_EVERY`; otherwise it brings only what
        changed and ``checksum_ok`` is None (not checked).
        """
        report = SyncReport()
        last = self.replica.get("checked_at")
        due = not self._checked or last is None or datetime.fromisoformat(last) < datetime.now(UTC) - CHECK_EVERY
        try:
            # Files first: an operation that names a file reaches the server after it.
            report.uploaded = await self.files.upload_pending(self.transport, progress)
            await self._push(report, progress)
            await self._pull(report, progress, check or due)
            await self.files.refresh(self.transport)
        except SyncError as exc:
            self.online = not exc.transient
            raise
        self._rebase()
        self.online = True
        with self.replica.tx() as c:
            self.replica.put(c, last_sync=datetime.now(UTC).isoformat())
        return report

    async def _push(self, report: SyncReport, progress: Progress | None) -> None:
        total = self.replica.pending_count()
        while True:
            ops = self.replica.outbox(limit=PUSH_BATCH)
            if not ops:
                return
            body = msgspec.to_builtins(PushRequest(client_id=uuid.UUID(self._client_id()), ops=ops))
            try:
                answer = msgspec.convert(
                    await self.transport.call("POST", "/api/v1/sync/push", json=body), PushResponse
                )
            except SyncError as exc:
                if exc.code != "sync.seq_gap":
                    raise
                expected = int(exc.data.get("expected", 0))
                if expected > ops[0].seq:  # the server applied these; their answer was lost
                    with self.replica.tx() as c:
                        self.replica.ack(c, expected - 1)
                    continue
                raise SyncError("sync.outbox_lost", "operations the server expects are missing here") from exc
            by_op = {str(o.op_id): o for o in ops}
            refused = set(self.replica.rejected_cases(include_dismissed=True))
            with self.replica.tx() as c:
                accepted: set[str] = set()  # cases whose create this batch applied
                for r in answer.results:
                    op = by_op.get(str(r.op_id))
                    rejected = r.result == "rejected" or (r.result == "duplicate" and r.original == "rejected")
                    report.applied += r.result == "applied"
                    report.duplicates += r.result == "duplicate"
                    if op is not None and op.kind == "create" and not rejected:
                        accepted.add(str(op.case_id))
                    if rejected and op is not None:
                        report.rejected += 1
                        case_id = str(op.case_id)
                        if case_id in refused:
                            continue  # its create was refused: that one conflict says it all
                        born_here = case_id not in accepted and self.replica.server_case(case_id) is None
                        if op.kind == "create" and born_here:
                            self.replica.reject_create(c, case_id, r.code)
                            refused.add(case_id)
                        report.conflicts += 1
                        self.replica.add_conflict(
                            c,
                            op_id=str(op.op_id),
                            case_id=str(op.case_id),
                            kind=op.kind,
                            code=r.code,
                            message=r.message,
                            snapshot=self.replica.case(str(op.case_id)),
                        )
                self.replica.ack(c, answer.last_seq)
            report.pushed += len(ops)
            if progress:
                progress("push", report.pushed, total)

    async def _pull(self, report: SyncReport, progress: Progress | None, check: bool) -> None:
        cursor = int(self.replica.get("cursor", "0") or 0)
        first = cursor == 0
        while True:
            # ``ack``: the eviction round of the last answer applied here; the server
            # forgets the cases it evicted only then, and sends them again until then.
            params: dict[str, Any] = {
                "client_id": self._client_id(), "cursor": cursor, "ack": self.replica.get("evict_ack", "0"),
            }  # fmt: skip
            if check or first:
                params["full"] = "true"
            if first:
                params["limit"] = FIRST_PAGES  # a first sync brings the whole scope: fewer, larger pages
            page = msgspec.convert(await self.transport.call("GET", "/api/v1/sync/pull", params=params), PullResponse)
            with self.replica.tx() as c:
                # What the server has processed is not pending, whether or not its push
                # answer arrived: only operations still queued make an eviction a conflict.
                self.replica.ack(c, page.last_seq)
                pending = self.replica.pending_cases()
                for case in page.cases:
                    self.replica.save_server(c, case)
                self.replica.save_events(c, page.events)
                for gone in page.evicted:
                    gid = str(gone)
                    local = self.replica.case(gid)
                    if gid in pending:
                        report.conflicts += 1
                        self.replica.add_conflict(
                            c,
                            case_id=gid,
                            kind="evicted",
                            code="sync.evicted_with_edits",
                            message="the case left this device's scope with unsynced edits",
                            snapshot=local,
                        )
                    self.replica.drop_case(c, gid)
                self.replica.save_notices(c, page.notifications)
                self.replica.put(c, cursor=page.cursor, evict_ack=page.ack)
            cursor = page.cursor
            report.pages += 1
            report.pulled += len(page.cases)
            report.evicted += len(page.evicted)
            if progress:
                progress("pull", report.pulled, None)
            if not page.has_more:
                break
        if page.checksum is None:
            return  # not compared this time
        ours = scope_checksum(self.replica.versions())
        report.checksum_ok = ours == page.checksum
        if not report.checksum_ok:
            await self._repair(report)
        self._checked = True
        with self.replica.tx() as c:
            self.replica.put(c, checked_at=datetime.now(UTC).isoformat())

    async def _repair(self, report: SyncReport) -> None:
        """Diverged (a lost page, a restored backup, a damaged file): compare the scope
        bucket by bucket and fetch again only the buckets that differ."""
        report.mismatch = True
        client_id = self._client_id()
        theirs = msgspec.convert(
            await self.transport.call("GET", "/api/v1/sync/buckets", params={"client_id": client_id}), BucketSums
        ).buckets
        ours = bucket_checksums(self.replica.versions())
        differing = sorted(b for b in set(theirs) | set(ours) if theirs.get(b) != ours.get(b))
        still_wrong = 0
        for bucket in differing:
            part = msgspec.convert(
                await self.transport.call(
                    "GET", f"/api/v1/sync/buckets/{bucket}", params={"client_id": client_id}
                ),
                BucketPage,
            )
            pending = self.replica.pending_cases()
            keep = {str(c.id) for c in part.cases}
            with self.replica.tx() as c:
                for case in part.cases:
                    self.replica.save_server(c, case)
                for case_id, _ in self.replica.versions():
                    if bucket_of(case_id) == bucket and case_id not in keep and case_id not in pending:
                        self.replica.drop_case(c, case_id)
            report.buckets += 1
            report.resent += len(part.cases)
            mine = bucket_checksums([v for v in self.replica.versions() if bucket_of(v[0]) == bucket])
            still_wrong += mine.get(bucket, "") != part.checksum
        report.repaired = still_wrong == 0
        report.checksum_ok = report.repaired

    def _rebase(self) -> None:
        """Re-apply still-pending operations on top of the server's state."""
        me = self.actor()
        for case_id in self.replica.pending_cases():
            base = self.replica.server_case(case_id)
            if base is None:
                continue  # born here and not yet accepted: the local copy is the truth
            current = base
            for op in self.replica.outbox(case_id=case_id):
                try:
                    if op.kind == "edit":
                        decision = decide(state_of(current), me, Action.UPDATE, op.args, datetime.now(UTC))
                    elif op.kind in Action.__members__.values() and op.kind not in ("dispatch", "handover"):
                        decision = decide(state_of(current), me, Action(op.kind), op.args, datetime.now(UTC))
                    else:
                        continue
                except DaibanError:
                    continue  # the server will judge it; it is shown as pending until then
                current = case_after(current, decision)
            with self.replica.tx() as c:
                self.replica.save_local(c, current)

    # --- helpers --------------------------------------------------------------------

    def _client_id(self) -> str:
        client_id = self.replica.get("client_id")
        if client_id is None:
            raise SyncError("client.not_initialised", "run `daiban village init` first")
        return client_id

    def _require(self, case_id: str | uuid.UUID) -> Case:
        case = self.replica.case(str(case_id))
        if case is None:
            raise SyncError("case.not_found", "no such case on this device (sync first?)", status=404)
        if str(case_id) in self.replica.rejected_cases():
            raise SyncError(
                "case.rejected", "the server refused this case: see `conflicts`, then dismiss or take it again",
                status=409,
            )
        return case

    def _city(self) -> tuple[str, str]:
        path = self.replica.get("unit_path") or "/"
        city = path.strip("/").split("/")[0]
        return city, f"/{city}/"


def _invalid(exc: msgspec.ValidationError) -> SyncError:
    """A decoding error as the field's own code: ``… - at `$.applicant.phone` `` becomes
    ``applicant.phone_invalid``, ``$.title`` becomes ``case.title_invalid``."""
    path = str(exc).rpartition("at `$")[2].rstrip("`").lstrip(".")
    parts = [p for p in path.split(".") if p and not p.startswith("[")]
    if not parts:
        return SyncError("case.invalid", f"the new case does not fit: {exc}", status=422)
    scope = parts[0] if len(parts) > 1 else "case"
    return SyncError(f"{scope}.{parts[-1]}_invalid", str(exc), status=422, field=".".join(parts))


__all__ = ["ClientStatus", "SyncClient", "SyncReport", "case_after", "state_of"]
