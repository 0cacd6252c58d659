"""F3: operations the server refused, and local edits to cases that left the scope.

Nothing here is ever dropped silently: each line says what was tried and why it was
refused; Enter opens the case so the agent can redo or tell the applicant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static
from textual.widgets.data_table import ColumnKey

from console.actions import BY_NAME
from console.data import SyncConflict
from console.format import local
from console.messages import ConflictsLoaded, Failed
from console.screens.base import ConsoleScreen
from console.screens.forms import ConfirmScreen
from console.widgets.status_bar import StatusBar
from hierarchy.errors import DaibanError
from hierarchy.i18n import N_, _
from hierarchy.problem_words import say

if TYPE_CHECKING:
    from console.base import ConsoleBase


#: (label, key, width): the reason before the code; the reason takes the width left.
COLUMNS = ((N_("When"), "when", 11), (N_("Case"), "case", 15), (N_("Action"), "action", 8),
           (N_("Why"), "why", 30), (N_("Code"), "code", 22))  # fmt: skip
WHY_MIN = 20


def why(conflict: SyncConflict) -> str:
    return say(conflict.code, conflict.message)


def action_word(action: str) -> str:
    spec = BY_NAME.get(action)
    return _(spec.label) if spec is not None else {"create": _("create"), "update": _("edit")}.get(action, action)


class ConflictsScreen(ConsoleScreen):
    CSS_PATH = "conflicts.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "app.pop_screen", _("Back")),
        Binding("x", "dismiss_conflict", _("Dismiss")),
        Binding("f5", "reload", _("Reload")),
        Binding("ctrl+s", "app.sync", _("Sync now")),
    ]

    if TYPE_CHECKING:
        app: ConsoleBase

    def __init__(self) -> None:
        super().__init__()
        self.conflicts: list[SyncConflict] = []

    def compose(self) -> ComposeResult:
        yield Static(" " + _("Conflicts — operations the server refused"), id="conflicts-head")
        yield Static("", id="conflicts-note")
        yield DataTable(id="conflicts", cursor_type="row")
        yield Static("", id="conflict-why")
        yield StatusBar()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key, width in COLUMNS:
            table.add_column(_(label), key=key, width=width)
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
            (local(c.at, "%m-%d %H:%M"), c.ref or (c.case_id or "")[:8], action_word(c.action), why(c), c.code)
            for c in self.conflicts
        )
        self.show_why(0)
        note = (
            _("None: everything you did has been accepted.")
            if not self.conflicts
            else _("Enter opens the case: redo the action on its current state, or tell the applicant; x dismisses.")
        )
        self.query_one("#conflicts-note", Static).update(note)

    @on(DataTable.RowHighlighted)
    def highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_why(event.cursor_row)

    def show_why(self, index: int) -> None:
        """The whole reason of the highlighted conflict, wrapped: it is what the agent reads."""
        text = ""
        if 0 <= index < len(self.conflicts):
            c = self.conflicts[index]
            ref = c.ref or (c.case_id or "")[:8]
            text = _("{case} {action}: {why} ({code})").format(
                case=ref, action=action_word(c.action), why=why(c), code=c.code
            )
        self.query_one("#conflict-why", Static).update(text)

    def on_resize(self) -> None:
        """The reason takes what the other columns leave (it is what the agent reads)."""
        table = self.query_one(DataTable)
        column = table.columns.get(ColumnKey("why"))
        if column is None:
            return
        fixed = sum(width + 2 for _label, key, width in COLUMNS if key != "why") + 2 + 1
        column.width = max(WHY_MIN, self.size.width - fixed)
        table.refresh()

    def on_failed(self, message: Failed) -> None:
        self.app.tell(message.error)

    def action_dismiss_conflict(self) -> None:
        table = self.query_one(DataTable)
        index = table.cursor_row
        if not 0 <= index < len(self.conflicts) or self.conflicts[index].id is None:
            return
        conflict = self.conflicts[index]

        def answered(yes: bool | None) -> None:
            if yes and conflict.id is not None:
                self.dismiss_one(conflict.id)

        question = _("Dismiss the refused {action} of {case}?").format(
            action=action_word(conflict.action), case=conflict.ref or (conflict.case_id or "")[:8]
        )
        self.app.push_screen(ConfirmScreen(question, conflict.message), answered)

    @work(group="dismiss")
    async def dismiss_one(self, conflict_id: int) -> None:
        try:
            await self.app.client.dismiss_conflict(conflict_id)
        except DaibanError as error:
            self.post_message(Failed("dismiss", error))
            return
        self.app.refresh_status()
        self.reload()

    @on(DataTable.RowSelected)
    def open_case(self, event: DataTable.RowSelected) -> None:
        index = event.cursor_row
        if 0 <= index < len(self.conflicts) and self.conflicts[index].case_id:
            self.app.open_case(str(self.conflicts[index].case_id))
