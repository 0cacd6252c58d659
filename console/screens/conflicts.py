"""F3: operations the server refused, and local edits to cases that left the scope.

Nothing here is ever dropped silently: each line says what was tried and why it was
refused; Enter opens the case so the agent can redo or tell the applicant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from console.data import SyncConflict
from console.format import local
from console.messages import ConflictsLoaded, Failed
from console.widgets.status_bar import StatusBar
from hierarchy.errors import DaibanError

if TYPE_CHECKING:
    from console.app import DaibanConsole


class ConflictsScreen(Screen[None]):
    CSS_PATH = "conflicts.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f5", "reload", "Reload"),
        Binding("ctrl+s", "app.sync", "Sync now"),
    ]

    if TYPE_CHECKING:
        app: DaibanConsole

    def __init__(self) -> None:
        super().__init__()
        self.conflicts: list[SyncConflict] = []

    def compose(self) -> ComposeResult:
        yield Static(" Conflicts — operations the server refused", id="conflicts-head")
        yield Static("", id="conflicts-note")
        yield DataTable(id="conflicts", cursor_type="row")
        yield StatusBar()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in (("When", 11), ("Case", 15), ("Action", 10), ("Code", 24), ("Why", 40)):
            table.add_column(label, width=width)
        self.query_one(StatusBar).show_status(self.app.sync_status)
        table.focus()
        self.reload()

    def reload(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.reload()

    @work(exclusive=True)
    async def load(self) -> None:
        try:
            conflicts = await self.app.client.conflicts()
        except DaibanError as error:
            self.post_message(Failed("conflicts", error))
            return
        self.post_message(ConflictsLoaded(conflicts))

    def on_conflicts_loaded(self, message: ConflictsLoaded) -> None:
        self.conflicts = message.conflicts
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(
            (local(c.at, "%m-%d %H:%M"), c.ref or (c.case_id or "")[:8], c.action, c.code, c.message)
            for c in self.conflicts
        )
        note = (
            "None: everything you did has been accepted."
            if not self.conflicts
            else "Enter opens the case: redo the action on its current state, or tell the applicant."
        )
        self.query_one("#conflicts-note", Static).update(note)

    def on_failed(self, message: Failed) -> None:
        self.notify(message.error.message, title=message.error.code, severity="error")

    @on(DataTable.RowSelected)
    def open_case(self, event: DataTable.RowSelected) -> None:
        index = event.cursor_row
        if 0 <= index < len(self.conflicts) and self.conflicts[index].case_id:
            self.app.open_case(str(self.conflicts[index].case_id))
