"""A :class:`~console.data.DataClient` over the offline client (``sync.client.SyncClient``).

Lists and cases come from the device's local replica, so the console keeps working with
no network; actions are checked by the same rules as the server, applied locally and
queued (pending) until ``sync()`` pushes them. The network, the agents, the workload and
history are read online; the network and the agents are cached in the replica for
offline starts and offline hand-overs.

Lists are read a page at a time (the first one small), each case's JSON decoded into a
list row only, so the first rows show long before a big replica has been read.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec

from console.checks import check_new_case
from console.data import (
    AgentOut,
    Case,
    CaseEvent,
    CaseFilter,
    CaseRow,
    Item,
    Notice,
    Plan,
    PlanResult,
    ProjectView,
    ReportRow,
    SyncConflict,
    SyncStatus,
    Unit,
    View,
    Workload,
    with_escalations,
)
from console.format import OPEN
from hierarchy.cases import Actor
from hierarchy.errors import InvalidInput, NotFound, Unauthorized
from hierarchy.i18n import _
from hierarchy.machine import UnitRef
from hierarchy.roles import Role
from hierarchy.tree import Level
from sync.client import AGENTS_KEY, UNITS_KEY, SyncClient, password_verifier
from sync.replica import PageKey
from sync.transport import SyncError

#: Keys this adapter keeps in the replica's settings table (units and agents: the same
#: keys ``daiban village init`` fills, so a console started offline names them).
NAME_KEY = "console_agent_name"
#: Rows read for the first page of a list, then per page after it.
FIRST_PAGE = 200
PAGE = 1000


class _Row(CaseRow, kw_only=True):
    """A list row as the replica's case JSON holds it (the rest of the JSON is skipped)."""

    owner_path: str = ""


class ReplicaDataClient:
    """The console's data from a device replica, with the server behind it."""

    def __init__(
        self, client: SyncClient, *, server: str | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.sc = client
        self.server = (server or client.replica.get("server") or "http://127.0.0.1:8000").rstrip("/")
        self._clock = clock or (lambda: datetime.now(UTC))
        #: One replica connection: a sync and a local write take turns (reads need no
        #: turn: they run on the event loop, between the sync's transactions).
        self._lock = asyncio.Lock()
        self._units: dict[str, Unit] = {}
        self._remembering: asyncio.Future[None] | None = None
        #: Agents by username, for the local rules of a hand-over.
        self._agents: dict[str, AgentOut] = {}
        #: Agent lists by unit (``code`` or ``code/subtree``), as last read online.
        self._agent_lists: dict[str, list[AgentOut]] = {}
        cached = client.replica.get(UNITS_KEY)
        if cached:
            self._units = {u.code: u for u in msgspec.json.decode(cached, type=list[Unit])}
        cached = client.replica.get(AGENTS_KEY)
        if cached:
            self._agent_lists = msgspec.json.decode(cached, type=dict[str, list[AgentOut]])
            self._agents = {a.username: a for agents in self._agent_lists.values() for a in agents}

    @classmethod
    def open(cls, path: str | Path, *, server: str | None = None, **options: Any) -> ReplicaDataClient:
        """Open (or create) a replica; the console wants short retries, not a minute of backoff."""
        transport = {"attempts": 2, "wait_initial": 0.2, "wait_max": 1.0, "timeout": 10.0, **options}
        return cls(SyncClient.open(path, **transport), server=server)

    # --- who ----------------------------------------------------------------------------

    def prepare(self) -> None:
        self.sc.transport.prepare()

    async def sign_in(self, username: str, password: str) -> AgentOut:
        """Check the password online; the sync runs later, once the lists show (``sync()``)."""
        replica = self.sc.replica
        try:
            if self.sc.registered and replica.get("username") == username:
                agent = await self.sc.login(username, password, remember=False)
                # The offline verifier is hashed in a worker thread, after the list shows.
                self._remembering = asyncio.ensure_future(self._keep_verifier(password))
            else:
                agent = await self.sc.init(self.server, username, password, device_name=f"console {username}")
        except SyncError as error:
            # Offline, the device's own agent keeps working from the replica once the
            # password matches the last online sign-in; the server checks again at the next sync.
            if error.transient and self.sc.registered and replica.get("username") == username:
                if not self.sc.check_offline(username, password):
                    raise Unauthorized(
                        "auth.invalid_credentials", _("Wrong username or password.")
                    ) from None
                return await self.me()
            raise
        name = agent.get("name") or username
        if replica.get(NAME_KEY) != name:
            with replica.tx() as c:
                replica.put(c, **{NAME_KEY: name})
        return await self.me()

    async def _keep_verifier(self, password: str) -> None:
        verifier = await asyncio.to_thread(password_verifier, password)
        self.sc.remember_password(verifier)

    async def sign_out(self) -> None:
        """The token goes from memory and from the replica; queued work stays."""
        self.sc.sign_out()

    def _name_of(self, username: str) -> str:
        agent = self._agents.get(username)
        return agent.name if agent is not None else username

    async def me(self) -> AgentOut:
        r = self.sc.replica
        if r.get("agent_id") is None:
            raise SyncError("client.not_initialised", "sign in online once to set this device up")
        return AgentOut(
            id=int(r.get("agent_id") or 0),
            username=r.get("username") or "",
            name=r.get(NAME_KEY) or self._name_of(r.get("username") or ""),
            unit_code=r.get("unit_code") or "",
            role=r.get("role") or "",
        )

    # --- cases, from the replica --------------------------------------------------------

    async def cases(self, view: View, filters: CaseFilter) -> list[CaseRow]:
        return [row async for page in self.case_pages(view, filters) for row in page]

    async def case_pages(self, view: View, filters: CaseFilter) -> AsyncIterator[list[CaseRow]]:
        """The list in pages read straight from the replica (no lock: a page is read on the
        event loop between a sync's transactions, which never span an await)."""
        pending = self.sc.pending_cases()
        conflicted = {c.case_id for c in self.sc.conflicts()}
        status = list(filters.status) or None
        after: PageKey | None = None
        seen: set[uuid.UUID] = set()
        size = FIRST_PAGE
        while True:
            page, after = self.sc.case_page(view, status, after=after, limit=size, into=_Row)
            now = self._clock()
            rows: list[CaseRow] = []
            for row in page:
                if row.id in seen:
                    continue  # moved down the order since an earlier page (a sync meanwhile)
                seen.add(row.id)
                row.overdue = row.status in OPEN and row.due_at is not None and row.due_at < now
                if self._keep(row, filters):
                    row.pending = str(row.id) in pending
                    row.conflict = str(row.id) in conflicted
                    rows.append(row)
            yield rows
            if after is None:
                return
            size = PAGE
            await asyncio.sleep(0)  # let the screen paint between pages

    def _keep(self, row: _Row, filters: CaseFilter) -> bool:
        if filters.item and row.item_code != filters.item:
            return False
        if filters.kind and row.kind != filters.kind:
            return False
        if filters.overdue is not None and row.overdue != filters.overdue:
            return False
        if (
            filters.unit
            and filters.unit in self._units
            and not row.owner_path.startswith(self._units[filters.unit].path)
        ):
            return False
        q = (filters.q or "").lower()
        return not q or q in row.title.lower() or q in (row.ref or "").lower()

    async def case(self, case_id: str) -> Case:
        found = self.sc.case(case_id)
        if found is None:
            raise NotFound("case.not_found", "no such case on this device (sync first?)")
        return found

    async def attachment(self, case_id: str, sha256: str) -> bytes:
        path = await self.sc.files.fetch(self.sc.transport, case_id, sha256)
        return path.read_bytes()

    async def history(self, case_id: str) -> list[CaseEvent]:
        """The server's history, then this device's operations still waiting to be sent."""
        events: list[CaseEvent] = []
        try:
            events = msgspec.convert(await self.sc.history(case_id), list[CaseEvent])
        except SyncError as error:
            if not (error.transient or error.code == "case.not_found"):
                raise
            # Offline (or not on the server yet): the history the last sync brought.
            events = list(self.sc.local_history(case_id))
        for op in self.sc.replica.outbox(case_id=str(case_id)):
            note = op.args.get("reason") or op.args.get("note") or ""
            events.append(
                CaseEvent(id=0, case_id=op.case_id, version=0, action=f"{op.kind} ↑pending", reason=str(note))
            )
        return events

    async def act(self, case_id: str, action: str, **args: Any) -> Case:
        unit_code = args.pop("unit", None)
        username = args.pop("agent", None)
        unit = self._unit_ref(unit_code) if unit_code else None
        agent = self._actor(username) if username else None
        if username and agent is None:
            # The rules need the agent's id to check a hand-over here; without it the
            # server decides at once, or the agent is told to pick a unit while offline.
            if not self.sc.online:
                raise InvalidInput(
                    "console.handover_needs_network",
                    f"{username} is not known on this device: hand over online, or to a unit",
                )
            await self.sc.api("POST", f"/api/v1/cases/{case_id}/handover", json={"agent": username, **args})
            await self.sync()
            return await self.case(case_id)
        async with self._lock:
            return self.sc.act(case_id, action, unit=unit, agent=agent, **args)

    async def edit(self, case_id: str, **fields: Any) -> Case:
        async with self._lock:
            return self.sc.edit(case_id, **fields)

    async def create(self, body: dict[str, Any]) -> Case:
        items = {str(i["code"]): i for i in self.sc.items()}
        checked = check_new_case(body, items)  # the server's checks, before it is queued
        async with self._lock:
            return self.sc.create(checked)

    async def is_pending(self, case_id: str) -> bool:
        return str(case_id) in self.sc.pending_cases()

    def _unit_ref(self, code: str) -> UnitRef:
        unit = self._units.get(code)
        if unit is None:
            raise InvalidInput("unit.unknown", f"no unit with code {code} on this device", unit=code)
        return UnitRef(code=unit.code, path=unit.path, level=Level(unit.level))

    def _actor(self, username: str) -> Actor | None:
        agent = self._agents.get(username)
        unit = self._units.get(agent.unit_code) if agent else None
        if agent is None or unit is None:
            return None
        return Actor(
            id=agent.id,
            unit_code=unit.code,
            unit_path=unit.path,
            role=Role(agent.role),
            level=Level(unit.level),
            username=agent.username,
        )

    # --- the network: online, cached for offline starts --------------------------------

    async def units(self, within: str) -> list[Unit]:
        try:
            units: list[Unit] = []
            cursor = None
            while True:
                params: dict[str, Any] = {"within": within, "limit": 1000, **({"cursor": cursor} if cursor else {})}
                page = await self.sc.api("GET", "/api/v1/units", params=params)
                units += msgspec.convert(page["units"], list[Unit])
                cursor = page.get("next_cursor")
                if not cursor:
                    break
        except SyncError as error:
            if not error.transient or within not in self._units:
                raise
            root = self._units[within].path
            return [u for u in self._units.values() if u.path.startswith(root)]
        self._remember(units)
        return units

    async def unit(self, code: str) -> Unit:
        try:
            unit = msgspec.convert(await self.sc.api("GET", f"/api/v1/units/{code}"), Unit)
        except SyncError as error:
            if error.transient and code in self._units:
                return self._units[code]
            raise
        self._remember([unit])
        return unit

    async def children(self, code: str) -> list[Unit]:
        try:
            units = msgspec.convert(await self.sc.api("GET", f"/api/v1/units/{code}/children"), list[Unit])
        except SyncError as error:
            if not error.transient:
                raise
            return sorted((u for u in self._units.values() if u.parent_code == code), key=lambda u: u.code)
        self._remember(units)
        return units

    def _remember(self, units: Iterable[Unit]) -> None:
        self._units.update((u.code, u) for u in units)
        with self.sc.replica.tx() as c:
            self.sc.replica.put(c, **{UNITS_KEY: msgspec.json.encode(list(self._units.values())).decode()})

    async def items(self) -> list[Item]:
        return msgspec.convert(self.sc.items(), list[Item])

    async def agents(self, unit: str, *, subtree: bool = False) -> list[AgentOut]:
        """Online, and kept in the replica: offline, the last list read (so a hand-over to a
        colleague is checked here and queued)."""
        key = f"{unit}/subtree" if subtree else unit
        params = {"unit": unit, **({"subtree": "true"} if subtree else {})}
        try:
            found = msgspec.convert(await self.sc.api("GET", "/api/v1/agents", params=params), list[AgentOut])
        except SyncError as error:
            if error.status in (403, 404):
                found = []
            elif error.transient:
                return self._cached_agents(unit, subtree)
            else:
                raise
        self._agent_lists[key] = found
        self._agents.update((a.username, a) for a in found)
        with self.sc.replica.tx() as c:
            self.sc.replica.put(c, **{AGENTS_KEY: msgspec.json.encode(self._agent_lists).decode()})
        return found

    def _cached_agents(self, unit: str, subtree: bool) -> list[AgentOut]:
        """The last list read of ``unit``, or its agents out of a list read of a unit above."""
        key = f"{unit}/subtree" if subtree else unit
        if key in self._agent_lists:
            return self._agent_lists[key]
        if subtree:
            path = self._units[unit].path if unit in self._units else None
            return sorted(
                (
                    a
                    for a in self._agents.values()
                    if path and a.unit_code in self._units and self._units[a.unit_code].path.startswith(path)
                ),
                key=lambda a: a.username,
            )
        return sorted((a for a in self._agents.values() if a.unit_code == unit), key=lambda a: a.username)

    # --- sync ---------------------------------------------------------------------------

    async def status(self) -> SyncStatus:
        s = self.sc.status()
        last = datetime.fromisoformat(s.last_sync) if s.last_sync else None
        return SyncStatus(
            online=s.online, pending=s.pending, conflicts=s.conflicts, last_sync=last,
            unread=self.sc.replica.unread_notices(),
        )  # fmt: skip

    async def notifications(self) -> list[Notice]:
        """What the last pulls brought, from the replica: readable offline."""
        return [
            Notice(id=n.id, kind=n.kind, message=n.message, case_id=n.case_id,
                   created_at=datetime.fromisoformat(n.created_at) if n.created_at else None,
                   read=n.read_at is not None)
            for n in self.sc.inbox()
        ]  # fmt: skip

    async def project(self, code: str) -> ProjectView:
        """From the server: a project's blockers are not kept on the device."""
        return msgspec.convert(await self.sc.api("GET", f"/api/v1/projects/{code}"), ProjectView)

    async def mark_read(self, notice_id: int | None = None) -> None:
        async with self._lock:
            self.sc.replica.mark_notices_read(notice_id)

    async def conflicts(self) -> list[SyncConflict]:
        out = []
        for c in self.sc.conflicts():
            out.append(
                SyncConflict(
                    op_id=c.op_id or str(c.id),
                    id=c.id,
                    case_id=c.case_id,
                    ref=c.snapshot.ref if c.snapshot else None,
                    action=c.kind,
                    code=c.code,
                    message=c.message,
                    at=datetime.fromisoformat(c.at) if c.at else None,
                )
            )
        return out

    async def dismiss_conflict(self, conflict_id: int) -> None:
        async with self._lock:
            self.sc.replica.dismiss(conflict_id)

    async def sync(self) -> SyncStatus:
        """Push and pull now; offline is a state to show, not an error."""
        async with self._lock:
            changed = await self._sync_quietly()
        return msgspec.structs.replace(await self.status(), changed=changed)

    async def _sync_quietly(self) -> int:
        try:
            report = await self.sc.sync()
        except SyncError as error:
            if not error.transient:
                raise
            return 0
        return report.pulled + report.evicted

    # --- dispatcher: online only --------------------------------------------------------

    async def workload(self, unit: str) -> Workload:
        load = msgspec.convert(await self.sc.api("GET", "/api/v1/workload", params={"unit": unit}), Workload)
        try:
            report = await self.sc.api("GET", "/api/v1/reports/summary", params={"unit": unit})
        except SyncError as error:
            if error.status in (403, 404):
                return load
            raise
        days = (date.fromisoformat(report["period_to"]) - date.fromisoformat(report["period_from"])).days + 1
        return with_escalations(load, msgspec.convert(report["rows"], list[ReportRow]), days)

    async def plan(self, unit: str) -> Plan:
        return msgspec.convert(await self.sc.api("POST", "/api/v1/workload/plans", json={"unit": unit}), Plan)

    async def apply_plan(self, plan_id: int) -> PlanResult:
        answer = await self.sc.api("POST", f"/api/v1/workload/plans/{plan_id}/apply")
        return PlanResult.of(msgspec.convert(answer, Plan))

    async def close(self) -> None:
        if self._remembering is not None:
            await self._remembering  # the verifier is written before the replica closes
        await self.sc.close()


__all__ = ["ReplicaDataClient"]
