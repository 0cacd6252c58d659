"""The console application: it is handed a data client and never builds one itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime
from functools import partial

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer

from console.actions import offered
from console.data import AgentOut, CaseFilter, CaseRow, DataClient, Item, SyncStatus, Unit, View
from console.messages import NetworkLoaded, StatusChanged
from console.widgets.status_bar import StatusBar
from hierarchy.errors import DaibanError

#: Roles that see the dispatcher dashboard.
DASHBOARD_ROLES = frozenset({"dispatcher", "county_lead", "admin"})
STATUS_EVERY = 5.0
#: A device with a queue tries to sync this often (seconds); a direct client just checks in.
SYNC_EVERY = 30.0


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


class DaibanConsole(App[None]):
    """The 帮办代办 console for agents and dispatchers."""

    # The first two screens' CSS is read here, at start: a screen with its own CSS_PATH
    # makes Textual re-parse every stylesheet and restyle every widget when first shown,
    # which would sit between the sign-in and the first painted list.
    CSS_PATH = ["app.tcss", "screens/signin.tcss", "screens/main.tcss"]  # noqa: RUF012
    TITLE = "daiban"
    SUB_TITLE = "1+5+N 帮办代办"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [  # noqa: RUF012  (Textual reads it as a class attribute)
        Binding("f1", "help", "Help", show=True),
        Binding("question_mark", "help", "Help", show=False),
        Binding("ctrl+s", "sync", "Sync", show=False),
        Binding("f2", "dashboard", "Dashboard", show=False),
        Binding("f3", "conflicts", "Conflicts", show=False),
    ]

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

    # --- start and sign-in ------------------------------------------------------------

    def on_mount(self) -> None:
        from console.screens.signin import SignInScreen

        self.push_screen(SignInScreen(username=self.initial_username))

    def signed_in(self, agent: AgentOut) -> None:
        """Load the network and the first page of the start view at once, and build the
        main screen meanwhile; its rows show when both have arrived."""
        from console.screens.main import MainScreen

        self.me = agent
        self.units_ready.clear()
        self.network_ready.clear()
        self._listed = False
        # Village agents take cases themselves; everyone else works from the unit's queue.
        view: View = "mine" if agent.role == "village_agent" else "queue"
        self._first_page = FirstPage(self.client, view, CaseFilter())
        self.load_network(agent)
        self.switch_screen(MainScreen(view))

    def take_first_page(self, view: View, filters: CaseFilter) -> FirstPage | None:
        """The list asked for at sign-in, once, if it is the one wanted now."""
        head, self._first_page = self._first_page, None
        if head is not None and (head.view, head.filters) == (view, filters):
            return head
        return None

    @work(exclusive=True, group="network")
    async def load_network(self, agent: AgentOut) -> None:
        """The agent's subtree first (the first list waits for it), then, once the first
        page has been answered, the rest, so the server answers the first list sooner."""
        client = self.client
        try:
            units = await client.units(agent.unit_code)
        except DaibanError as error:
            self.notify(error.message, title=error.code, severity="error")
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
            return list(await asyncio.gather(*(client.unit(code) for code in codes)))

        try:
            more, items, agents = await asyncio.gather(
                above(), client.items(), client.agents(agent.unit_code, subtree=True)
            )
        except DaibanError as error:
            self.notify(error.message, title=error.code, severity="error")
            more, items, agents = [], [], []
        self.post_message(NetworkLoaded(more, items, agents, done=True))

    def on_network_loaded(self, message: NetworkLoaded) -> None:
        self.units.update((u.code, u) for u in message.units)
        if not message.done:
            changed = getattr(self.screen, "network_changed", None)
            if callable(changed):
                changed()
            return
        self.items = {i.code: i for i in message.items}
        self.agents = {a.id: a for a in message.agents}
        self.network_ready.set()
        changed = getattr(self.screen, "network_changed", None)
        if callable(changed):
            changed()
        self.refresh_status()
        self._session_timers = [
            self.set_interval(self.status_every, self.refresh_status),
            self.set_interval(self.sync_every, self.sync_quietly),
        ]

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
            return "me"
        agent = self.agents.get(agent_id)
        return agent.name if agent else f"#{agent_id}"

    def unit_name(self, code: str | None) -> str:
        if not code:
            return "—"
        unit = self.units.get(code)
        return unit.name if unit else code

    def item_name(self, code: str) -> str:
        item = self.items.get(code)
        return item.name if item else code

    @property
    def can_dispatch(self) -> bool:
        return self.me is not None and self.me.role in DASHBOARD_ROLES

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
                self.notify("a sync is already running", timeout=2)
            return
        self._syncing = True
        try:
            await self._sync_once(quiet)
        finally:
            self._syncing = False

    async def _sync_once(self, quiet: bool) -> None:
        if not quiet:
            self.notify("syncing …", timeout=2)
        try:
            before = await self.client.status()
            status = await self.client.sync()
        except DaibanError as error:
            self.notify(error.message, title=error.code, severity="error")
            return
        self.post_message(StatusChanged(status))
        changed = (before.pending, before.conflicts) != (status.pending, status.conflicts) or status.changed
        if not quiet or changed:
            self.data_version += 1
            reload = getattr(self.screen, "reload", None)
            if callable(reload):
                reload()
        if status.conflicts > before.conflicts:
            self.notify(
                f"{status.conflicts - before.conflicts} operation(s) refused by the server: F3 shows why",
                title="conflicts",
                severity="error",
                timeout=10,
            )
        elif not quiet and status.online:
            self.notify(f"synced: {status.pending} pending, {status.conflicts} conflicts")
        elif not quiet:
            self.notify("still offline: your work is kept and will sync later", severity="warning")

    # --- screens ------------------------------------------------------------------------

    @work(exclusive=True, group="network")
    async def action_sign_out(self) -> None:
        from console.screens.signin import SignInScreen

        try:
            await self.client.sign_out()
        except DaibanError as error:
            self.notify(error.message, title=error.code, severity="warning")
        username = self.me.username if self.me else ""
        self.me = None
        self.units, self.items, self.agents = {}, {}, {}
        self.units_ready.clear()
        self.network_ready.clear()
        self._first_page = None
        for timer in self._session_timers:
            timer.stop()
        self._session_timers.clear()
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        await self.switch_screen(SignInScreen(username=username))

    def action_help(self) -> None:
        from console.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_conflicts(self) -> None:
        from console.screens.conflicts import ConflictsScreen

        if self.me is not None and not isinstance(self.screen, ConflictsScreen):
            self.push_screen(ConflictsScreen())

    def action_dashboard(self) -> None:
        from console.screens.dashboard import DashboardScreen

        if not self.can_dispatch:
            self.notify("the dashboard is for dispatchers and county leads", severity="warning")
            return
        if self.me is not None and not isinstance(self.screen, DashboardScreen):
            self.push_screen(DashboardScreen(self.me.unit_code))

    def open_case(self, case_id: str) -> None:
        from console.screens.detail import DetailScreen

        self.push_screen(DetailScreen(case_id))

    # --- the command palette: every action, by name ----------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Help", "How to sign in, claim and act on cases (F1)", self.action_help)
        if self.me is None:
            return
        yield SystemCommand("Sync now", "Push waiting operations and pull changes (Ctrl+S)", self.action_sync)
        yield SystemCommand("Conflicts", "Operations the server refused (F3)", self.action_conflicts)
        yield SystemCommand("Sign out", "End this session and return to the sign-in screen", self.action_sign_out)
        if self.can_dispatch:
            yield SystemCommand(
                "Dashboard", "Load per unit and agent, SLA breaches, rebalancing (F2)", self.action_dashboard
            )
        extra = getattr(screen, "palette_commands", None)
        if callable(extra):
            yield from extra()
        start = getattr(screen, "start_action", None)
        current = getattr(screen, "current_status", None)
        if callable(start) and callable(current):
            status = current()
            for spec in offered(status) if status else ():
                yield SystemCommand(f"{spec.label} [{spec.key}]", spec.help, partial(start, spec.name))
