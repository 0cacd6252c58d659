"""The console application: it is handed a data client and never builds one itself.

It is the one module that imports the screens; they see it as
:class:`console.base.ConsoleBase` and hook into it through :class:`ConsoleScreen`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from textual import work
from textual.app import SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from console.base import ConsoleBase
from console.data import AgentOut, View
from console.format import both
from console.screens.base import ConsoleScreen
from console.screens.case_actions import CaseActions
from console.screens.conflicts import ConflictsScreen
from console.screens.dashboard import DashboardScreen
from console.screens.detail import DetailScreen
from console.screens.inbox import InboxScreen
from console.screens.main import START_FILTER, MainScreen
from console.screens.project import ProjectScreen
from console.screens.signin import SignInScreen
from hierarchy.errors import DaibanError
from hierarchy.i18n import _


class DaibanConsole(ConsoleBase):
    """The 帮办代办 console for agents and dispatchers."""

    # The first two screens' CSS is read here, at start: a screen with its own CSS_PATH
    # makes Textual re-parse every stylesheet and restyle every widget when first shown,
    # which would sit between the sign-in and the first painted list.
    CSS_PATH = ["app.tcss", "screens/signin.tcss", "screens/main.tcss"]  # noqa: RUF012
    TITLE = "daiban"
    SUB_TITLE = "1+5+N 帮办代办"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [  # noqa: RUF012  (Textual reads it as a class attribute)
        Binding("f1", "help", _("Help"), show=True),
        Binding("question_mark", "help", _("Help"), show=False),
        Binding("ctrl+s", "sync", _("Sync"), show=False),
        Binding("f2", "dashboard", _("Dashboard"), show=False),
        Binding("f3", "conflicts", _("Conflicts"), show=False),
        Binding("f4", "inbox", _("Inbox"), show=False),
        Binding("q", "quit_safely", _("Quit"), show=False),
        Binding("ctrl+q", "quit_safely", _("Quit"), show=False, priority=True),
    ]

    #: What quitting said (pending work), kept for whoever started the console.
    quit_message = ""

    # --- start and sign-in ------------------------------------------------------------

    def on_mount(self) -> None:
        self.push_screen(SignInScreen(username=self.initial_username))

    def signed_in(self, agent: AgentOut) -> None:
        """Load the network and the first page of the start view at once, and build the
        main screen meanwhile; its rows show when both have arrived."""
        # Village agents take cases themselves; everyone else works from the unit's queue.
        view: View = "mine" if agent.role == "village_agent" else "queue"
        self.start_session(agent, view, START_FILTER)
        self.switch_screen(MainScreen(view))

    def screen_changed(self) -> None:
        if isinstance(self.screen, ConsoleScreen):
            self.screen.network_changed()

    def reload_screen(self) -> None:
        if isinstance(self.screen, ConsoleScreen):
            self.screen.reload()

    # --- leaving ------------------------------------------------------------------------

    @work(exclusive=True, group="quit")
    async def action_quit_safely(self) -> None:
        """Quit, saying what waits to be synced (it is kept on this device)."""
        pending = 0
        if self.me is not None:
            try:
                pending = (await self.client.status()).pending
            except DaibanError:
                pending = self.sync_status.pending if self.sync_status else 0
        message = (
            _("{count} operation(s) wait to sync; they are kept on this device and sync next time.").format(
                count=pending
            )
            if pending
            else _("Nothing waits to sync.")
        )
        self.quit_message = message
        self.exit(message=message)

    @work(exclusive=True, group="network")
    async def action_sign_out(self) -> None:
        try:
            await self.client.sign_out()
        except DaibanError as error:
            self.tell(error, severity="warning")
        username = self.me.username if self.me else ""
        self.end_session()
        while len(self.screen_stack) > 2:
            await self.pop_screen()
        await self.switch_screen(SignInScreen(username=username))

    # --- screens ------------------------------------------------------------------------

    def action_help(self) -> None:
        # Loaded when first asked for: its Markdown widget would cost every start-up.
        from console.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            actions = self.screen.allowed_specs() if isinstance(self.screen, CaseActions) else None
            self.push_screen(HelpScreen(actions))

    def action_conflicts(self) -> None:
        if self.me is not None and not isinstance(self.screen, ConflictsScreen):
            self.push_screen(ConflictsScreen())

    def action_project(self) -> None:
        """The project of the case on screen: its issues and blockers."""
        case = self.screen.case if isinstance(self.screen, DetailScreen) else None
        code = str((case.project or {}).get("code") or "") if case is not None else ""
        if code:
            self.push_screen(ProjectScreen(code))

    def action_inbox(self) -> None:
        if self.me is not None and not isinstance(self.screen, InboxScreen):
            self.push_screen(InboxScreen())

    def action_dashboard(self) -> None:
        if not self.can_dispatch:
            self.notify(_("the dashboard is for dispatchers and county leads"), severity="warning")
            return
        if self.me is not None and not isinstance(self.screen, DashboardScreen):
            self.push_screen(DashboardScreen(self.me.unit_code))

    def open_case(self, case_id: str) -> None:
        self.push_screen(DetailScreen(case_id))

    # --- the command palette: every action, by name ----------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(both("Help"), _("How to sign in, claim and act on cases (F1) · help"), self.action_help)
        yield SystemCommand(
            both("Quit"), _("Leave the console; waiting work is kept (q) · quit"), self.action_quit_safely
        )
        if self.me is None:
            return
        yield SystemCommand(
            both("Sync now"), _("Push waiting operations and pull changes (Ctrl+S) · sync"), self.action_sync
        )
        yield SystemCommand(
            both("Conflicts"), _("Operations the server refused (F3) · conflicts"), self.action_conflicts
        )
        yield SystemCommand(both("Inbox"), _("Notifications: what reached you (F4) · inbox"), self.action_inbox)
        yield SystemCommand(
            both("Sign out"), _("End this session and return to the sign-in screen · sign out"), self.action_sign_out
        )
        if self.can_dispatch:
            yield SystemCommand(
                both("Dashboard"),
                _("Load per unit and agent, SLA breaches, rebalancing (F2) · dashboard"),
                self.action_dashboard,
            )
        if isinstance(screen, DetailScreen) and screen.case is not None and (screen.case.project or {}).get("code"):
            yield SystemCommand(both("Project"), _("Every issue and blocker of this case's project · project"),
                                self.action_project)  # fmt: skip
        if isinstance(screen, ConsoleScreen):
            yield from screen.palette_commands()
        if isinstance(screen, CaseActions):
            for spec in screen.allowed_specs():
                key = spec.key.replace("ctrl+", "Ctrl+")
                run = partial(screen.start_action, spec.name)
                yield SystemCommand(f"{both(spec.label)} [{key}]", f"{_(spec.help)} · {spec.label}", run)
