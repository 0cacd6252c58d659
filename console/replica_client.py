"""A :class:`~console.data.DataClient` over the offline client (``sync.client.SyncClient``).

Lists and cases come from the device's local replica, so the console keeps working with
no network; actions are checked by the same rules as the server, applied locally and
queued (pending) until ``sync()`` pushes them. The network, the workload and history are
read online and the network is cached in the replica for offline starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec

from console.data import (
    AgentLoad,
    AgentOut,
    Case,
    CaseEvent,
    CaseFilter,
    CaseRow,
    Item,
    Plan,
    PlanResult,
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
from hierarchy.errors import InvalidInput, NotFound
from hierarchy.machine import UnitRef
from hierarchy.roles import Role
from hierarchy.tree import Level
from sync.client import SyncClient
from sync.transport import SyncError

#: Keys this adapter keeps in the replica's settings table.
UNITS_KEY = "console_units"
NAME_KEY = "console_agent_name"
_ROW_FIELDS = [f for f in CaseRow.__struct_fields__ if f not in ("pending", "conflict")]


class ReplicaDataClient:
    """The console's data from a device replica, with the server behind it."""

    def __init__(
        self, client: SyncClient, *, server: str | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.sc = client
        self.server = (server or client.replica.get("server") or "http://127.0.0.1:8000").rstrip("/")
        self._clock = clock or (lambda: datetime.now(UTC))
        #: One replica connection: reads in a thread and syncs take turns.
        self._lock = asyncio.Lock()
        self._units: dict[str, Unit] = {}
        self._agents: dict[str, AgentLoad] = {}
        cached = client.replica.get(UNITS_KEY)
        if cached:
            self._units = {u.code: u for u in msgspec.json.decode(cached, type=list[Unit])}

    @classmethod
    def open(cls, path: str | Path, *, server: str | None = None, **options: Any) -> ReplicaDataClient:
        """Open (or create) a replica; the console wants short retries, not a minute of backoff."""
        transport = {"attempts": 2, "wait_initial": 0.2, "wait_max": 1.0, "timeout": 10.0, **options}
        return cls(SyncClient.open(path, **transport), server=server)

    # --- who ----------------------------------------------------------------------------

    async def sign_in(self, username: str, password: str) -> AgentOut:
        replica = self.sc.replica
        try:
            if self.sc.registered and replica.get("username") == username:
                await self.sc.login(username, password)
            else:
                await self.sc.init(self.server, username, password, device_name=f"console {username}")
            agent = await self.sc.api("GET", "/api/v1/auth/me")
        except SyncError as error:
            # Offline, the device's own agent keeps working from the replica; the server
            # checks the token again at the next sync.
            if error.transient and self.sc.registered and replica.get("username") == username:
                return await self.me()
            raise
        with replica.tx() as c:
            replica.put(c, **{NAME_KEY: agent.get("name", username)})
        async with self._lock:
            await self._sync_quietly()
        return await self.me()

    async def sign_out(self) -> None:
        self.sc.transport.token = None

    async def me(self) -> AgentOut:
        r = self.sc.replica
        if r.get("agent_id") is None:
            raise SyncError("client.not_initialised", "sign in online once to set this device up")
        return AgentOut(
            id=int(r.get("agent_id") or 0),
            username=r.get("username") or "",
            name=r.get(NAME_KEY) or r.get("username") or "",
            unit_code=r.get("unit_code") or "",
            role=r.get("role") or "",
        )

    # --- cases, from the replica --------------------------------------------------------

    async def cases(self, view: View, filters: CaseFilter) -> list[CaseRow]:
        async with self._lock:
            return await asyncio.to_thread(self._rows, view, filters, self._clock())

    async def case_pages(self, view: View, filters: CaseFilter) -> AsyncIterator[list[CaseRow]]:
        yield await self.cases(view, filters)

    def _rows(self, view: View, filters: CaseFilter, now: datetime) -> list[CaseRow]:
        found = self.sc.cases(view, list(filters.status) or None)
        pending = self.sc.pending_cases()
        conflicted = {c.case_id for c in self.sc.conflicts()}
        prefix = self._units[filters.unit].path if filters.unit and filters.unit in self._units else None
        q = (filters.q or "").lower()
        rows = []
        for case in found:
            overdue = case.status.value in OPEN and case.due_at is not None and case.due_at < now
            if (
                (filters.item and case.item_code != filters.item)
                or (filters.kind and case.kind.value != filters.kind)
                or (filters.overdue is not None and overdue != filters.overdue)
                or (prefix and not case.owner_path.startswith(prefix))
                or (q and q not in case.title.lower() and q not in (case.ref or "").lower())
            ):
                continue
            row = CaseRow(**{f: getattr(case, f) for f in _ROW_FIELDS})
            row.overdue = overdue
            row.pending = str(case.id) in pending
            row.conflict = str(case.id) in conflicted
            rows.append(row)
        return rows

    async def case(self, case_id: str) -> Case:
        found = self.sc.case(case_id)
        if found is None:
            raise NotFound("case.not_found", "no such case on this device (sync first?)")
        return found

    async def history(self, case_id: str) -> list[CaseEvent]:
        """The server's history, then this device's operations still waiting to be sent."""
        events: list[CaseEvent] = []
        try:
            events = msgspec.convert(await self.sc.history(case_id), list[CaseEvent])
        except SyncError as error:
            if not (error.transient or error.code == "case.not_found"):
                raise
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
        if agent is None or agent.id is None or unit is None:
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

    async def agents(self, unit: str) -> list[AgentLoad]:
        try:
            load = msgspec.convert(await self.sc.api("GET", "/api/v1/workload", params={"unit": unit}), Workload)
        except SyncError as error:
            if error.transient or error.status in (403, 404):
                return []
            raise
        # The workload lists the unit's own agents; the rules need to know their unit.
        found = [msgspec.structs.replace(a, unit_code=unit) for a in load.agents if a.unit_code in ("", unit)]
        self._agents.update((a.username, a) for a in found)
        return found

    # --- sync ---------------------------------------------------------------------------

    async def status(self) -> SyncStatus:
        s = self.sc.status()
        last = datetime.fromisoformat(s.last_sync) if s.last_sync else None
        return SyncStatus(online=s.online, pending=s.pending, conflicts=s.conflicts, last_sync=last)

    async def conflicts(self) -> list[SyncConflict]:
        out = []
        for c in self.sc.conflicts():
            out.append(
                SyncConflict(
                    op_id=c.op_id or str(c.id),
                    case_id=c.case_id,
                    ref=c.snapshot.ref if c.snapshot else None,
                    action=c.kind,
                    code=c.code,
                    message=c.message,
                    at=datetime.fromisoformat(c.at) if c.at else None,
                )
            )
        return out

    async def sync(self) -> SyncStatus:
        """Push and pull now; offline is a state to show, not an error."""
        async with self._lock:
            await self._sync_quietly()
        return await self.status()

    async def _sync_quietly(self) -> None:
        try:
            await self.sc.sync()
        except SyncError as error:
            if not error.transient:
                raise

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
        await self.sc.close()


__all__ = ["ReplicaDataClient"]
