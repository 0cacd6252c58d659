"""A :class:`~console.data.DataClient` straight over the HTTP API (always online).

The HTTP itself is the device's: :class:`sync.transport.Transport` (bearer token, problem
details read once). Its refusals become the domain error of their status with the
server's ``code``; transport failures become :class:`~console.data.Unreachable`.

httpx (its import and its client's TLS set-up, a tenth of a second) is loaded by
:meth:`HttpDataClient.prepare`, which the console calls while the agent types the
password, not before the sign-in screen shows.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

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
    Unreachable,
    View,
    Workload,
    with_escalations,
)
from hierarchy.errors import (
    Conflict,
    DaibanError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthorized,
)
from hierarchy.i18n import current_language
from sync.transport import SyncError, Transport

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

API = "/api/v1"
#: The first page of a list is small so that it arrives (and shows) soon; the rest
#: come in pages as large as the server allows.
FIRST_PAGE = 200
PAGE = 500
#: Seconds an idle connection is kept for the next call: less than the server keeps it
#: (uvicorn closes after 5 s), or a call sent as the server closes the connection fails
#: (httpx's default is those same 5 s, so an action taken 5 s after the last one could).
KEEPALIVE = 2.0
_BY_STATUS: dict[int, type[DaibanError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: TooLarge,
    422: InvalidInput,
    429: RateLimited,
}


class _Token(msgspec.Struct, kw_only=True):
    access_token: str
    agent: AgentOut | None = None


class _RowPage(msgspec.Struct, kw_only=True):
    cases: list[CaseRow]
    next_cursor: str | None = None


class _Report(msgspec.Struct, kw_only=True):
    period_from: date
    period_to: date
    rows: list[ReportRow] = []


class _UnitPage(msgspec.Struct, kw_only=True):
    units: list[Unit]
    next_cursor: str | None = None


class HttpDataClient:
    """The console's data over ``base_url``; ``transport`` lets tests swap the wire."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
        first_page: int = FIRST_PAGE,
        page_size: int = PAGE,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = transport
        self._timeout = timeout
        self._wire: Transport | None = None
        self._first_page = first_page
        self._page_size = page_size
        #: Agents per (unit, subtree), for this session.
        self._agents: dict[tuple[str, bool], list[AgentOut]] = {}
        self._clock = clock or (lambda: datetime.now(UTC))
        self._me: AgentOut | None = None
        self._online = False
        self._last_ok: datetime | None = None
        self._unread = 0

    # --- plumbing -----------------------------------------------------------------------

    def prepare(self) -> None:
        """Load httpx and build the HTTP client now (it is otherwise built at the first call)."""
        self._http.prepare()

    @property
    def _http(self) -> Transport:
        if self._wire is None:
            import httpx

            client = httpx.AsyncClient(
                transport=self._transport,
                timeout=self._timeout,
                limits=httpx.Limits(keepalive_expiry=KEEPALIVE),
                # Refusals come back in the console's language.
                headers={"Accept-Language": current_language().replace("_", "-")},
            )
            self._wire = Transport(self.base_url, attempts=1, timeout=self._timeout, client=client)
        return self._wire

    async def _call(self, method: str, path: str, *, json: Any = None, params: Any = None) -> bytes:
        try:
            content = await self._http.raw(method, API + path, json=json, params=params)
        except SyncError as error:
            if error.code == "network.unreachable":
                self._online = False
                raise Unreachable("client.unreachable", f"cannot reach {self.base_url}: {error.message}") from error
            self._online = True
            cls = _BY_STATUS.get(error.status, DaibanError)
            raise cls(error.code, error.message, **error.data) from None
        self._online = True
        self._last_ok = self._clock()
        return content

    async def _get(self, path: str, into: type[T], params: Any = None) -> T:
        return _decode(await self._call("GET", path, params=params), into)

    async def _post(self, path: str, into: type[T], json: Any = None) -> T:
        return _decode(await self._call("POST", path, json=json), into)

    # --- who ----------------------------------------------------------------------------

    async def sign_in(self, username: str, password: str) -> AgentOut:
        token = await self._post("/auth/token", _Token, {"username": username, "password": password})
        self._http.token = token.access_token
        me = token.agent if token.agent is not None else await self._get("/auth/me", AgentOut)
        self._me = me
        return me

    async def sign_out(self) -> None:
        if self._http.token:
            try:
                await self._call("POST", "/auth/logout")
            finally:
                self._http.token = None
                self._me = None
                self._agents.clear()

    async def me(self) -> AgentOut:
        if self._me is None:
            self._me = await self._get("/auth/me", AgentOut)
        return self._me

    # --- cases --------------------------------------------------------------------------

    async def cases(self, view: View, filters: CaseFilter) -> list[CaseRow]:
        return [row async for page in self.case_pages(view, filters) for row in page]

    async def case_pages(self, view: View, filters: CaseFilter) -> AsyncIterator[list[CaseRow]]:
        params: list[tuple[str, str | int]] = [("view", view)]
        params += [("status", s) for s in filters.status]
        for name in ("item", "kind", "unit", "q"):
            value = getattr(filters, name)
            if value:
                params.append((name, value))
        if filters.overdue is not None:
            params.append(("overdue", "true" if filters.overdue else "false"))
        page = await self._get("/cases", _RowPage, [*params, ("limit", self._first_page)])
        yield page.cases
        while page.next_cursor:
            more = [*params, ("limit", self._page_size), ("cursor", page.next_cursor)]
            page = await self._get("/cases", _RowPage, more)
            yield page.cases

    async def case(self, case_id: str) -> Case:
        return await self._get(f"/cases/{case_id}", Case)

    async def history(self, case_id: str) -> list[CaseEvent]:
        return await self._get(f"/cases/{case_id}/history", list[CaseEvent])

    async def attachment(self, case_id: str, sha256: str) -> bytes:
        return await self._call("GET", f"/cases/{case_id}/attachments/{sha256}")

    async def act(self, case_id: str, action: str, **args: Any) -> Case:
        body = {k: v for k, v in args.items() if v is not None}
        return await self._post(f"/cases/{case_id}/{action}", Case, body)

    async def edit(self, case_id: str, **fields: Any) -> Case:
        return await self._post(f"/cases/{case_id}/update", Case, fields)

    async def create(self, body: dict[str, Any]) -> Case:
        return await self._post("/cases", Case, {"id": str(uuid.uuid4()), **body})

    async def is_pending(self, case_id: str) -> bool:
        return False

    # --- the network --------------------------------------------------------------------

    async def units(self, within: str) -> list[Unit]:
        units: list[Unit] = []
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"within": within, "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            page = await self._get("/units", _UnitPage, params)
            units += page.units
            if not page.next_cursor:
                return units
            cursor = page.next_cursor

    async def unit(self, code: str) -> Unit:
        return await self._get(f"/units/{code}", Unit)

    async def children(self, code: str) -> list[Unit]:
        return await self._get(f"/units/{code}/children", list[Unit])

    async def items(self) -> list[Item]:
        return await self._get("/items", list[Item])

    async def agents(self, unit: str, *, subtree: bool = False) -> list[AgentOut]:
        key = (unit, subtree)
        if key not in self._agents:
            params = {"unit": unit, **({"subtree": "true"} if subtree else {})}
            try:
                self._agents[key] = await self._get("/agents", list[AgentOut], params)
            except (Forbidden, NotFound):
                self._agents[key] = []
        return self._agents[key]

    # --- sync state: a direct client has nothing queued ---------------------------------

    async def status(self) -> SyncStatus:
        if self._online and self._me is not None:
            # Unanswered, the badge keeps its last count; the status shows the network state.
            with contextlib.suppress(DaibanError):
                self._unread = (await self._get("/notifications/unread-count", _Unread)).unread
        return SyncStatus(
            online=self._online, pending=0, conflicts=0, last_sync=self._last_ok, unread=self._unread
        )

    async def notifications(self) -> list[Notice]:
        page = await self._get("/notifications", _NoticePage, params={"limit": 200})
        return [
            Notice(id=n.id, kind=n.kind, message=n.message, case_id=n.case_id, created_at=n.created_at,
                   read=n.read_at is not None)
            for n in page.notifications
        ]  # fmt: skip

    async def project(self, code: str) -> ProjectView:
        return await self._get(f"/projects/{code}", ProjectView)

    async def mark_read(self, notice_id: int | None = None) -> None:
        path = "/notifications/read-all" if notice_id is None else f"/notifications/{notice_id}/read"
        self._unread = (await self._post(path, _Unread)).unread

    async def conflicts(self) -> list[SyncConflict]:
        return []

    async def dismiss_conflict(self, conflict_id: int) -> None:
        """Online, nothing is refused later: there is nothing to dismiss."""

    async def sync(self) -> SyncStatus:
        import httpx

        try:
            response = await self._http.client.get(self.base_url + "/health")
            self._online = response.status_code == 200
            if self._online:
                self._last_ok = self._clock()
        except httpx.HTTPError:
            self._online = False
        return await self.status()

    # --- dispatcher ---------------------------------------------------------------------

    async def workload(self, unit: str) -> Workload:
        load = await self._get("/workload", Workload, {"unit": unit})
        try:
            report = await self._get("/reports/summary", _Report, {"unit": unit})
        except (Forbidden, NotFound):
            return load
        return with_escalations(load, report.rows, (report.period_to - report.period_from).days + 1)

    async def plan(self, unit: str) -> Plan:
        return await self._post("/workload/plans", Plan, {"unit": unit})

    async def apply_plan(self, plan_id: int) -> PlanResult:
        return PlanResult.of(await self._post(f"/workload/plans/{plan_id}/apply", Plan))

    async def close(self) -> None:
        if self._wire is not None:
            await self._wire.close()


class _Unread(msgspec.Struct, kw_only=True):
    unread: int


class _NoticeOut(msgspec.Struct, kw_only=True):
    id: int
    kind: str
    message: str = ""
    case_id: str | None = None
    created_at: datetime | None = None
    read_at: datetime | None = None


class _NoticePage(msgspec.Struct, kw_only=True):
    notifications: list[_NoticeOut]


def _decode(content: bytes, into: type[T]) -> T:
    try:
        return msgspec.json.decode(content, type=into)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Unreachable("client.bad_response", f"the server sent something unexpected: {exc}") from exc
