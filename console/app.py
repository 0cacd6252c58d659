"""The console application: it is handed a data client and never builds one itself."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer

from console.actions import offered
from console.data import AgentOut, DataClient, Item, SyncStatus, Unit
from console.messages import NetworkLoaded, StatusChanged
from console.widgets.status_bar import StatusBar
from hierarchy.errors import DaibanError

#: Roles that see the dispatcher dashboard.
DASHBOARD_ROLES = frozenset({"dispatcher", "county_lead", "admin"})
STATUS_EVERY = 5.0
#: A device with a queue tries to sync this often (seconds); a direct client just checks in.
SYNC_EVERY = 30.0


class DaibanConsole(App[None]):
    """The 帮办代办 console for agents and dispatchers."""

    CSS_PATH = "app.tcss"
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
        self.sync_status: SyncStatus | None = None
        self._syncing = False
        self._session_timers: list[Timer] = []
        #: Bumped after every accepted action, so lists know to reload when shown again.
        self.data_version = 0

    # --- start and sign-in ------------------------------------------------------------

    def on_mount(self) -> None:
        from console.screens.signin import SignInScreen

        self.push_screen(SignInScreen(username=self.initial_username))

    def signed_in(self, agent: AgentOut) -> None:
        self.me = agent
        self.load_network(agent)

    @work(exclusive=True, group="network")
    async def load_network(self, agent: AgentOut) -> None:
        try:
            own = await self.client.unit(agent.unit_code)
            units = await self.client.units(agent.unit_code)
            # Cases escalated above the agent's unit still show the names of their owners.
            above = [code for code in own.path.strip("/").split("/") if code != agent.unit_code]
            units += [await self.client.unit(code) for code in above]
            items = await self.client.items()
        except DaibanError as error:
            self.notify(error.message, title=error.code, severity="error")
            units, items = [], []
        self.post_message(NetworkLoaded(units, items))

    async def on_network_loaded(self, message: NetworkLoaded) -> None:
        from console.screens.main import MainScreen

        self.units = {u.code: u for u in message.units}
        self.items = {i.code: i for i in message.items}
        assert self.me is not None
        # Village agents take cases themselves; everyone else works from the unit's queue.
        await self.switch_screen(MainScreen("mine" if self.me.role == "village_agent" else "queue"))
        self.refresh_status()
        self._session_timers = [
            self.set_interval(self.status_every, self.refresh_status),
            self.set_interval(self.sync_every, self.sync_quietly),
        ]

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
        changed = (before.pending, before.conflicts) != (status.pending, status.conflicts)
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
        self.units, self.items = {}, {}
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
