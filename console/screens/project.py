"""A project as its task force works it: every issue, and under each its blockers (难点问题)
with the responsible department, the state and the due date. Enter opens the issue's or
the department's case."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from console.data import ProjectView
from console.messages import Failed
from console.screens.base import ConsoleScreen
from console.widgets.status_bar import StatusBar
from hierarchy.errors import DaibanError
from hierarchy.i18n import N_, _

if TYPE_CHECKING:
    from console.base import ConsoleBase

COLUMNS = ((N_("Issue / blocker"), "what", 40), (N_("State"), "state", 12), (N_("Department"), "dept", 22),
           (N_("Due"), "due", 11), (N_("Case"), "case", 16))  # fmt: skip
BLOCKER_STATES = {"open": N_("open"), "handed": N_("with department"), "resolved": N_("resolved")}


class ProjectLoaded(Message):
    def __init__(self, project: ProjectView) -> None:
        super().__init__()
        self.project = project


class ProjectScreen(ConsoleScreen):
    CSS_PATH = "inbox.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "app.pop_screen", _("Back")),
        Binding("f5", "reload", _("Reload")),
    ]

    if TYPE_CHECKING:
        app: ConsoleBase

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code
        self.project: ProjectView | None = None
        #: The case each row opens (an issue, or a blocker's department case).
        self.row_cases: list[str | None] = []

    def compose(self) -> ComposeResult:
        yield Static(" " + _("loading …"), id="inbox-head")
        yield DataTable(id="inbox", cursor_type="row")
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
            project = await self.app.client.project(self.code)
        except DaibanError as error:
            self.post_message(Failed("project", error))
            return
        self.post_message(ProjectLoaded(project))

    def on_project_loaded(self, message: ProjectLoaded) -> None:
        p = self.project = message.project
        head = _("{name} ({code}) · {firm} · stage {stage} · {investment} 万元 · {open} blockers open, {done} resolved")
        self.query_one("#inbox-head", Static).update(" " + head.format(
            name=p.name, code=p.code, firm=p.firm, stage=p.stage, investment=p.investment,
            open=p.blockers_open, done=p.blockers_resolved))  # fmt: skip
        table = self.query_one(DataTable)
        table.clear()
        self.row_cases = []
        for issue in p.issues:
            owner = self.app.unit_name(issue.owner_unit)
            table.add_row(f"{issue.ref or ''} {issue.title}", issue.status, owner, "", "")
            self.row_cases.append(issue.id)
            for b in issue.blockers:
                state = _(BLOCKER_STATES.get(b.status, b.status)) + (" !" if b.overdue else "")
                table.add_row(f"  └ {b.title}", state, b.department_name or b.department, b.due_date.isoformat(),
                              b.case_ref or "")  # fmt: skip
                self.row_cases.append(None)

    def on_failed(self, message: Failed) -> None:
        self.app.tell(message.error)

    @on(DataTable.RowSelected)
    def open_case(self, event: DataTable.RowSelected) -> None:
        index = event.cursor_row
        if 0 <= index < len(self.row_cases) and self.row_cases[index]:
            self.app.open_case(str(self.row_cases[index]))
