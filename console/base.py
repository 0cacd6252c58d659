"""What screens get from the application: the data client, who is signed in, the names of
units, items and agents, the clock, and a few services (open a case, sync, status).

Screens type ``self.app`` as :class:`ConsoleBase`; the application
(:class:`console.app.DaibanConsole`) is built on it and is the only module that imports
the screens, so nothing in ``console`` imports in a circle.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from textual import work
from textual.app import App
from textual.timer import Timer

from console.data import AgentOut, CaseFilter, CaseRow, DataClient, Item, SyncStatus, Unit, View
from console.format import role_label
from console.messages import NetworkLoaded, StatusChanged
from console.widgets.status_bar import StatusBar
from hierarchy.errors import DaibanError
from hierarchy.i18n import _
from hierarchy.problem_words import say

#: Roles that see the dispatcher dashboard.
DASHBOARD_ROLES = frozenset({"dispatcher", "county_lead", "admin"})
STATUS_EVERY = 5.0
#: A device with a queue tries to sync this often (seconds); a direct client just checks in.
SYNC_EVERY = 30.0
#: Errors that mean "no network": the status bar shows it, no error toast.
OFFLINE = 503


class FirstPage:
    """The first page of a list, asked for at sign-in, while the screen that shows it is
    still being built; the screen then reads the rest from ``pages``."""

    def __init__(self, client: DataClient, view: View, filters: CaseFilter) -> None:
        self.view = view
        self.filters = filters
        self.pages = client.case_pages(view, filters)
        self.first: asyncio.Task[list[CaseRow] | None] = asyncio.ensure_future(self._first())
        # Not asked for (signed out at once): its failure is not worth a warning.
        self.first.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def _first(self) -> list[CaseRow] | None:
        try:
            return await anext(self.pages)
        except StopAsyncIteration:
            return None

    async def all_pages(self) -> AsyncIterator[list[CaseRow]]:
        first = await self.first
        if first is None:
            return
        yield first
        async for page in self.pages:
            yield page


class ConsoleBase(App[None]):
    """The console's state and services; screens see the application as this."""

    def __init__(
        self,
        client: DataClient,
        *,
        clock: Callable[[], datetime] | None = None,
        server_label: str = "",
        username: str = "",
        status_every: float = STATUS_EVERY,
        sync_every: float = SYNC_EVERY,
    ) -> None:
        super().__init__()
        self.client = client
        self.clock = clock or (lambda: datetime.now(UTC))
        self.server_label = server_label
        self.initial_username = username
        self.status_every = status_every
        self.sync_every = sync_every
        self.me: AgentOut | None = None
        self.units: dict[str, Unit] = {}
        self.items: dict[str, Item] = {}
        #: Agents of the signed-in agent's subtree, by id: names instead of numbers.
        self.agents: dict[int, AgentOut] = {}
        self.sync_status: SyncStatus | None = None
        #: Set once the agent's own subtree is loaded after a sign-in: all a list of
        #: their cases or their unit's queue names.
        self.units_ready = asyncio.Event()
        #: Set once the rest is loaded too: the units above, the catalogue, the agents.
        self.network_ready = asyncio.Event()
        self._first_page: FirstPage | None = None
        self._listed = False
        self._syncing = False
        self._session_timers: list[Timer] = []
        #: Bumped after every accepted action, so lists know to reload when shown again.
        self.data_version = 0

    # --- what the screens call ------------------------------------------------------------

    def signed_in(self, agent: AgentOut) -> None:
        raise NotImplementedError

    def open_case(self, case_id: str) -> None:
        raise NotImplementedError

    def take_first_page(self, view: View, filters: CaseFilter) -> FirstPage | None:
        """The list asked for at sign-in, once, if it is the one wanted now."""
        head, self._first_page = self._first_page, None
        if head is not None and (head.view, head.filters) == (view, filters):
            return head
        return None

    def listed(self) -> None:
        """The first list of the session is on screen: now sync (a device brings its
        replica up to date behind the list, not before it)."""
        if not self._listed:
            self._listed = True
            self.sync_quietly()

    def agent_label(self, agent_id: int | None) -> str:
        """``me``, the agent's name, or ``#id`` for an agent outside the scope."""
        if agent_id is None:
            return "—"
        if self.me is not None and agent_id == self.me.id:
            return _("me")
        agent = self.agents.get(agent_id)
        return agent.name if agent else f"#{agent_id}"

    def agent_name(self, username: str) -> str:
        agent = next((a for a in self.agents.values() if a.username == username), None)
        return agent.name if agent else username

    def unit_name(self, code: str | None) -> str:
        if not code:
            return "—"
        unit = self.units.get(code)
        return unit.name if unit else code

    def item_name(self, code: str) -> str:
        item = self.items.get(code)
        return item.name if item else code

    def role_name(self, role: str) -> str:
        return role_label(role)

    @property
    def can_dispatch(self) -> bool:
        return self.me is not None and self.me.role in DASHBOARD_ROLES

    def tell(self, error: DaibanError, *, severity: str = "error") -> None:
        """A refusal as a toast; no network is not an error (the status bar shows it)."""
        if error.status == OFFLINE:
            self.refresh_status()
            return
        self.notify(say(error.code, error.message, error.data), title=error.code, severity=severity)  # type: ignore[arg-type]

    # --- the network of the signed-in agent ------------------------------------------------

    def start_session(self, agent: AgentOut, view: View, filters: CaseFilter) -> None:
        self.me = agent
        self.units_ready.clear()
        self.network_ready.clear()
        self._listed = False
        self._first_page = FirstPage(self.client, view, filters)
        self.load_network(agent)

    def end_session(self) -> None:
        self.me = None
        self.units, self.items, self.agents = {}, {}, {}
        self.units_ready.clear()
        self.network_ready.clear()
        self._first_page = None
        for timer in self._session_timers:
            timer.stop()
        self._session_timers.clear()

    @work(exclusive=True, group="network")
    async def load_network(self, agent: AgentOut) -> None:
        """The agent's subtree first (the first list waits for it), then, once the first
        page has been answered, the rest, so the server answers the first list sooner.
        Each part stands alone: a unit above that cannot be read (offline, outside the
        replica) costs its name, never the items or the agents."""
        client = self.client
        try:
            units = await client.units(agent.unit_code)
        except DaibanError as error:
            self.tell(error)
            units = []
        # Straight from the worker (the same thread), not through the app's queue: that is
        # busy building the main screen now, and the first list waits for these names.
        self.units.update((u.code, u) for u in units)
        self.units_ready.set()
        self.post_message(NetworkLoaded(units, [], [], done=False))
        if self._first_page is not None:
            await asyncio.wait([self._first_page.first])

        async def above() -> list[Unit]:
            # Cases escalated above the agent's unit still show the names of their owners.
            own = next((u for u in units if u.code == agent.unit_code), None) or await client.unit(agent.unit_code)
            codes = [code for code in own.path.strip("/").split("/") if code != agent.unit_code]
            found = await asyncio.gather(*(client.unit(code) for code in codes), return_exceptions=True)
            return [u for u in found if isinstance(u, Unit)]

        more, items, agents = await asyncio.gather(
            above(), client.items(), client.agents(agent.unit_code, subtree=True), return_exceptions=True
        )
        for part in (more, items, agents):
            if isinstance(part, DaibanError):
                self.tell(part)
            elif isinstance(part, BaseException):
                raise part
        self.post_message(
            NetworkLoaded(
                more if isinstance(more, list) else [],
                items if isinstance(items, list) else [],
                agents if isinstance(agents, list) else [],
                done=True,
            )
        )

    def on_network_loaded(self, message: NetworkLoaded) -> None:
        self.units.update((u.code, u) for u in message.units)
        if not message.done:
            self.screen_changed()
            return
        self.items = {i.code: i for i in message.items}
        self.agents = {a.id: a for a in message.agents}
        self.network_ready.set()
        self.screen_changed()
        self.refresh_status()
        self._session_timers = [
            self.set_interval(self.status_every, self.refresh_status),
            self.set_interval(self.sync_every, self.sync_quietly),
        ]

    def screen_changed(self) -> None:
        """The network has loaded: the screen on top redraws its names."""

    def reload_screen(self) -> None:
        """Data changed under the screen on top (a sync): it reloads."""

    # --- sync state ---------------------------------------------------------------------

    @work(exclusive=True, group="status")
    async def refresh_status(self) -> None:
        try:
            status = await self.client.status()
        except DaibanError:
            status = SyncStatus(online=False)
        self.post_message(StatusChanged(status))

    def on_status_changed(self, message: StatusChanged) -> None:
        self.sync_status = message.status
        if not self.screen_stack:
            return  # shutting down
        for bar in self.screen.query(StatusBar):
            bar.show_status(message.status)

    def sync_quietly(self) -> None:
        """Sync in the background (after an offline action, and every ``sync_every`` seconds)."""
        self._sync(quiet=True)

    def action_sync(self) -> None:
        self._sync(quiet=False)

    @work(group="sync")
    async def _sync(self, quiet: bool) -> None:
        if self._syncing:
            if not quiet:
                self.notify(_("a sync is already running"), timeout=2)
            return
        self._syncing = True
        try:
            await self._sync_once(quiet)
        finally:
            self._syncing = False

    async def _sync_once(self, quiet: bool) -> None:
        if not quiet:
            self.notify(_("syncing …"), timeout=2)
        try:
            before = await self.client.status()
            status = await self.client.sync()
        except DaibanError as error:
            if not quiet or error.status != OFFLINE:
                self.tell(error)
            return
        self.post_message(StatusChanged(status))
        changed = (before.pending, before.conflicts) != (status.pending, status.conflicts) or status.changed
        if not quiet or changed:
            self.data_version += 1
            self.reload_screen()
        if status.conflicts > before.conflicts:
            self.notify(
                _("{count} operation(s) refused by the server: F3 shows why").format(
                    count=status.conflicts - before.conflicts
                ),
                title=_("conflicts"),
                severity="error",
                timeout=10,
            )
        elif not quiet and status.online:
            self.notify(
                _("synced: {pending} pending, {conflicts} conflicts").format(
                    pending=status.pending, conflicts=status.conflicts
                )
            )
        elif not quiet:
            self.notify(_("still offline: your work is kept and will sync later"), severity="warning")
