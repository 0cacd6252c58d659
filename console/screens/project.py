"""A project as its task force works it: every issue, and under each its blockers (难点问题)
with the responsible department, the state and the due date. Enter on an issue opens it."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.widgets import DataTable

from console.data import ProjectView
from console.screens.table_screen import TableScreen
from hierarchy.i18n import N_, _

BLOCKER_STATES = {"open": N_("open"), "handed": N_("with department"), "resolved": N_("resolved")}


class ProjectScreen(TableScreen):
    COLUMNS = ((N_("Issue / blocker"), "what", 40), (N_("State"), "state", 12), (N_("Department"), "dept", 22),
               (N_("Due"), "due", 11), (N_("Case"), "case", 16))  # fmt: skip

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code
        self.project: ProjectView | None = None
        #: The case each row opens (an issue; None for a blocker line).
        self.row_cases: list[str | None] = []

    async def fetch(self) -> Any:
        return await self.app.client.project(self.code)

    def show(self, payload: Any) -> None:
        p: ProjectView = payload
        self.project = p
        head = _("{name} ({code}) · {firm} · stage {stage} · {investment} 万元 · {open} blockers open, {done} resolved")
        self.set_heading(head.format(name=p.name, code=p.code, firm=p.firm, stage=p.stage, investment=p.investment,
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

    @on(DataTable.RowSelected)
    def open_case(self, event: DataTable.RowSelected) -> None:
        index = event.cursor_row
        if 0 <= index < len(self.row_cases) and self.row_cases[index]:
            self.app.open_case(str(self.row_cases[index]))
