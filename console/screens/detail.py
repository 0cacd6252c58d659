"""One case: who has it, its clock, the applicant (masked as the API sends it), the
materials with 容缺 deferrals, and the whole history."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from console.data import Case, CaseEvent
from console.format import (
    CST,
    KIND_LABELS,
    MATERIAL_LABELS,
    MODE_LABELS,
    RATING_LABELS,
    local,
    sla_text,
    status_label,
    time_left,
)
from console.messages import CaseLoaded, Failed
from console.screens.case_actions import CaseActions, CaseTarget, case_bindings
from console.widgets.status_bar import StatusBar
from hierarchy.errors import DaibanError

if TYPE_CHECKING:
    from console.app import DaibanConsole

#: The widest material state label, in terminal cells (容缺 takes two cells a character).
LABEL_CELLS = max(cell_len(label) for label in MATERIAL_LABELS.values())
MATERIAL_MARKS = {"provided": "✓", "missing": "✗", "deferred": "◷"}
MATERIAL_STYLES = {"provided": "green", "missing": "bold red", "deferred": "yellow"}


class DetailScreen(CaseActions, Screen[None]):
    CSS_PATH = "detail.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "app.pop_screen", "Back"),
        Binding("f5", "reload", "Reload", show=False),
        Binding("m", "materials", "Materials"),
        *case_bindings(),
    ]

    if TYPE_CHECKING:
        app: DaibanConsole

    def __init__(self, case_id: str) -> None:
        super().__init__()
        self.case_id = case_id
        self.case: Case | None = None
        self.events: list[CaseEvent] = []
        self.pending = False

    def compose(self) -> ComposeResult:
        yield Static("loading …", id="detail-head")
        with VerticalScroll(id="detail-body"):
            yield Static(id="summary")
            yield Static(id="materials")
            yield Static(id="history")
        yield StatusBar()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one(StatusBar).show_status(self.app.sync_status)
        self.query_one("#detail-body").focus()
        self.reload()

    def reload(self) -> None:
        self.load(self.case_id)

    def action_reload(self) -> None:
        self.reload()

    @work(exclusive=True, group="case")
    async def load(self, case_id: str) -> None:
        client = self.app.client
        try:
            case = await client.case(case_id)
            history = await client.history(case_id)
            pending = await client.is_pending(case_id)
        except DaibanError as error:
            self.post_message(Failed("case", error))
            return
        await self.app.network_ready.wait()  # the names of items, units and agents
        self.post_message(CaseLoaded(case, history, pending))

    def on_case_loaded(self, message: CaseLoaded) -> None:
        self.case, self.events, self.pending = message.case, message.history, message.pending
        self.draw()

    def on_failed(self, message: Failed) -> None:
        if not self.refused(message):
            self.query_one("#detail-head", Static).update(f"cannot show this case: {message.error.message}")
            self.notify(message.error.message, title=message.error.code, severity="error")

    def after_action(self, case: Case) -> None:
        self.reload()

    def action_materials(self) -> None:
        from console.screens.case_forms import MaterialsForm

        if self.case is None:
            return
        if not self.case.materials:
            self.notify("This matter lists no materials.", severity="warning")
            return
        self.app.push_screen(MaterialsForm(self.case), lambda case: self.saved(case, "materials saved"))

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Materials", "Mark materials provided, missing or 容缺 deferred (m)", self.action_materials)
        yield SystemCommand("Reload", "Load the case again (F5)", self.action_reload)

    def selected_case(self) -> CaseTarget | None:
        c = self.case
        if c is None:
            return None
        return CaseTarget(c.id, c.ref or str(c.id)[:8], c.status.value, c.owner_unit)

    # --- drawing -------------------------------------------------------------------------

    def draw(self) -> None:
        case = self.case
        assert case is not None
        now = self.app.clock()
        head = Text()
        head.append(f" {case.ref or 'not yet synced'} ", style="bold reverse")
        head.append(f" {case.title}", style="bold")
        if self.pending:
            head.append("  ↑ PENDING SYNC", style="bold magenta")
        self.query_one("#detail-head", Static).update(head)
        self.query_one("#summary", Static).update(summary(case, now, self.who, self.app.unit_name, self.app.item_name))
        self.query_one("#materials", Static).update(materials(case, now))
        self.query_one("#history", Static).update(history(self.events, self.who, self.app.unit_name))

    def who(self, agent_id: int | None) -> str:
        return self.app.agent_label(agent_id)


def _grid() -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True, width=10)
    grid.add_column(ratio=1)
    return grid


def summary(
    case: Case,
    now: datetime,
    who: Callable[[int | None], str],
    unit_name: Callable[[str | None], str],
    item_name: Callable[[str], str],
) -> RenderableType:
    grid = _grid()
    status = case.status.value
    grid.add_row("Status", f"{status_label(status)} · assignee {who(case.assignee_id)} · version {case.version}")
    sla = Text.assemble(sla_text(status, case.due_at, now), "  ", time_left(status, case.due_at, now))
    grid.add_row("SLA", sla)
    grid.add_row("Owner", f"{unit_name(case.owner_unit)} {case.owner_unit}")
    grid.add_row("Origin", f"{unit_name(case.origin_unit)} {case.origin_unit} · accepted {local(case.accepted_at)}")
    mode = MODE_LABELS.get(case.service_mode, case.service_mode)
    grid.add_row(
        "Matter",
        f"{KIND_LABELS.get(case.kind.value, case.kind.value)} · {item_name(case.item_code)} · {mode}"
        f" · priority {case.priority}",
    )
    grid.add_row("Moves", f"escalations {case.escalations} · returns {case.returns} · reopens {case.reopens}")
    a = case.applicant
    ident = a.get("resident_id") or a.get("credit_code") or "—"
    applicant = f"{a.get('name', '—')} · {ident} · phone {a.get('phone') or '—'}"
    if case.groups:
        applicant += " · " + ", ".join(case.groups)
    grid.add_row("Applicant", applicant)
    if case.project:
        grid.add_row("Project", f"{case.project.get('name', '')} {case.project.get('firm', '')}")
    if case.extension:
        ext = case.extension
        grid.add_row("Extension", f"{ext.get('days')} working days, {ext.get('state')}: {ext.get('reason', '')}")
    if case.rating is not None:
        comment = f" “{case.rating_comment}”" if case.rating_comment else ""
        grid.add_row("Rating", f"{case.rating} {RATING_LABELS.get(case.rating, '')}{comment}")
    if case.review:
        review = case.review
        grid.add_row("Review", f"{review.get('state')} at {review.get('unit')}, act by {review.get('due_at', '')[:10]}")
    if case.description:
        grid.add_row("Notes", case.description)
    return grid


def materials(case: Case, now: datetime) -> RenderableType:
    title = Text("Materials", style="bold underline")
    if not case.materials:
        return Group(title, Text("  none listed", style="dim"))
    table = Table.grid(padding=(0, 1))
    table.add_column(width=1)
    table.add_column(no_wrap=True)
    table.add_column(ratio=1)
    today = now.astimezone(CST).date()
    for m in case.materials:
        state = str(m.get("state", "missing"))
        detail = Text()
        if state == "deferred":
            due = str(m.get("due", ""))
            detail.append(f"due {due}")
            try:
                if date.fromisoformat(due) < today:
                    detail.append(" OVERDUE", style="bold white on dark_red")
            except ValueError:
                pass
            if m.get("commitment"):
                detail.append(f" · 告知承诺: {m['commitment']}")
        table.add_row(
            Text(MATERIAL_MARKS.get(state, "?"), style=MATERIAL_STYLES.get(state, "")),
            Text(f"{_pad(MATERIAL_LABELS.get(state, state), LABEL_CELLS)} {m.get('name', m.get('code', ''))}"),
            detail,
        )
        for f in files_of(case, str(m.get("code"))):
            table.add_row(Text(""), Text(f"  📎 {f}", style="cyan"), Text(""))
    others = files_of(case, "other")
    for f in others:
        table.add_row(Text(""), Text(f"  📎 {f} (其他)", style="cyan"), Text(""))
    return Group(title, table)


def files_of(case: Case, material: str) -> list[str]:
    """The files attached to one material: name, type and size (download: daiban village save)."""
    return [
        f"{a.get('name') or str(a.get('sha256'))[:12]} · {a.get('media_type')} · {int(a.get('size') or 0) // 1024} KB"
        for a in case.attachments
        if a.get("material") == material
    ]


def _pad(text: str, cells: int) -> str:
    return text + " " * max(cells - cell_len(text), 0)


def history(
    events: list[CaseEvent], who: Callable[[int | None], str], unit_name: Callable[[str | None], str]
) -> RenderableType:
    title = Text(f"History ({len(events)} event{'' if len(events) == 1 else 's'})", style="bold underline")
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, style="dim")
    table.add_column(no_wrap=True, style="bold")
    table.add_column(ratio=1)
    for e in events:
        what = Text(f"{unit_name(e.actor_unit)} {who(e.actor_id)}")
        before, after = e.before, e.after
        if "status" in after and before.get("status") != after.get("status"):
            what.append(f" · {before.get('status', '∅')}→{after['status']}")
        if after.get("owner_unit") and after.get("owner_unit") != before.get("owner_unit"):
            what.append(f" · to {unit_name(after['owner_unit'])}")
        if after.get("assignee_id") is not None and after.get("assignee_id") != before.get("assignee_id"):
            what.append(f" · assignee {who(after['assignee_id'])}")
        if e.reason:
            what.append(f" · “{e.reason}”", style="italic")
        table.add_row(local(e.at, "%m-%d %H:%M"), e.action, what)
    return Group(title, table)
