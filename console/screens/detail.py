"""One case: who has it, its clock, the applicant (masked as the API sends it), the
materials with 容缺 deferrals, and the whole history."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from console.actions import BY_NAME
from console.data import Case, CaseEvent
from console.format import (
    CST,
    GROUP_LABELS,
    MATERIAL_LABELS,
    MODE_LABELS,
    RATING_LABELS,
    both,
    kind_label,
    label,
    local,
    sla_text,
    status_label,
    time_left,
)
from console.messages import CaseLoaded, Failed
from console.rules import case_state
from console.screens.base import ConsoleScreen
from console.screens.case_actions import CaseActions, CaseTarget, case_bindings
from console.screens.case_forms import MaterialsForm
from console.widgets.status_bar import StatusBar
from hierarchy.errors import DaibanError
from hierarchy.i18n import N_, _
from hierarchy.results import result_summary

if TYPE_CHECKING:
    from console.base import ConsoleBase

#: The widest material state label, in terminal cells (容缺 takes two cells a character).
#: Events that are not case actions, in words.
EVENT_LABELS = {
    "create": N_("created"),
    "update": N_("edited"),
    "sla.unclaimed": N_("auto-escalated: unclaimed past the SLA"),
    "sla.overdue": N_("auto-escalated: overdue"),
    "sla.escalate": N_("auto-escalated by the SLA sweep"),
    "plan": N_("moved by a rebalancing plan"),
}


def event_label(action: str) -> str:
    spec = BY_NAME.get(action)
    if spec is not None:
        return _(spec.label)
    if action in EVENT_LABELS:
        return _(EVENT_LABELS[action])
    if action.startswith("sla."):
        return _("SLA sweep: {what}").format(what=action.removeprefix("sla."))
    return action


def _label_cells() -> int:
    return max(cell_len(_(text)) for text in MATERIAL_LABELS.values())


MATERIAL_MARKS = {"provided": "✓", "missing": "✗", "deferred": "◷"}
MATERIAL_STYLES = {"provided": "green", "missing": "bold red", "deferred": "yellow"}


class DetailScreen(CaseActions, ConsoleScreen):
    CSS_PATH = "detail.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "app.pop_screen", _("Back")),
        Binding("f5", "reload", _("Reload"), show=False),
        Binding("m", "materials", _("Materials"), show=False),
        Binding("s", "save_files", _("Save files"), show=False),
        *case_bindings(),
    ]

    if TYPE_CHECKING:
        app: ConsoleBase

    def __init__(self, case_id: str) -> None:
        super().__init__()
        self.case_id = case_id
        self.case: Case | None = None
        self.events: list[CaseEvent] = []
        self.pending = False

    def compose(self) -> ComposeResult:
        yield Static(_("loading …"), id="detail-head")
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
        self.refresh_bindings()

    def on_failed(self, message: Failed) -> None:
        if not self.refused(message):
            why = _("cannot show this case: {why}").format(why=message.error.message)
            self.query_one("#detail-head", Static).update(why)
            self.app.tell(message.error)

    def after_action(self, case: Case) -> None:
        self.reload()

    def action_materials(self) -> None:
        if self.case is None:
            return
        if not self.case.materials:
            self.notify(_("This matter lists no materials."), severity="warning")
            return
        self.app.push_screen(MaterialsForm(self.case), lambda case: self.saved(case, _("materials saved")))

    def action_save_files(self) -> None:
        if self.case is None:
            return
        if not self.case.attachments:
            self.notify(_("This case has no files."), severity="warning")
            return
        self.save_files(self.case)

    @work(exclusive=True, group="files")
    async def save_files(self, case: Case) -> None:
        """Every file of the case into ``daiban-files/<reference>/`` under the working folder."""
        folder = Path.cwd() / "daiban-files" / (case.ref or str(case.id))
        saved = 0
        for entry in case.attachments:
            sha = str(entry.get("sha256"))
            try:
                data = await self.app.client.attachment(str(case.id), sha)
            except DaibanError as error:
                self.app.tell(error)
                continue
            folder.mkdir(parents=True, exist_ok=True)
            (folder / (Path(str(entry.get("name") or "")).name or sha)).write_bytes(data)
            saved += 1
        self.notify(_("{n} files saved in {folder}").format(n=saved, folder=folder))

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(
            both("Materials"),
            _("Mark materials provided, missing or 容缺 deferred (m) · materials"),
            self.action_materials,
        )
        yield SystemCommand(both("Reload"), _("Load the case again (F5) · reload"), self.action_reload)
        yield SystemCommand(
            both("Save files"), _("Save the case's photos and PDFs (s) · files"), self.action_save_files
        )

    def selected_case(self) -> CaseTarget | None:
        c = self.case
        if c is None:
            return None
        return CaseTarget(c.id, c.ref or str(c.id)[:8], c.status.value, c.owner_unit, case_state(c))

    # --- drawing -------------------------------------------------------------------------

    def draw(self) -> None:
        case = self.case
        assert case is not None
        now = self.app.clock()
        # Badges first, then the title, which wraps: a long title never hides them.
        head = Text()
        head.append(f" {case.ref or _('not yet synced')} ", style="bold reverse")
        head.append(f" {status_label(case.status.value)} ", style="bold")
        if self.pending:
            head.append(" " + _("↑ PENDING SYNC") + " ", style="bold white on magenta")
        head.append(f" {case.title}", style="bold")
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
    grid.add_row(
        _("Status"),
        _("{status} · assignee {who} · version {version}").format(
            status=status_label(status), who=who(case.assignee_id), version=case.version
        ),
    )
    sla = Text.assemble(sla_text(status, case.due_at, now), "  ", time_left(status, case.due_at, now))
    grid.add_row(_("SLA"), sla)
    grid.add_row(_("Owner"), f"{unit_name(case.owner_unit)} {case.owner_unit}")
    grid.add_row(
        _("Origin"),
        _("{unit} {code} · accepted {when}").format(
            unit=unit_name(case.origin_unit), code=case.origin_unit, when=local(case.accepted_at)
        ),
    )
    mode = label(MODE_LABELS, case.service_mode)
    grid.add_row(
        _("Matter"),
        _("{kind} · {item} · {mode} · priority {priority}").format(
            kind=kind_label(case.kind.value), item=item_name(case.item_code), mode=mode, priority=case.priority
        ),
    )
    grid.add_row(
        _("Moves"),
        _("escalations {e} · returns {r} · reopens {o}").format(e=case.escalations, r=case.returns, o=case.reopens),
    )
    a = case.applicant
    ident = a.get("resident_id") or a.get("credit_code") or "—"
    applicant = _("{name} · {ident} · phone {phone}").format(
        name=a.get("name", "—"), ident=ident, phone=a.get("phone") or "—"
    )
    if case.groups:
        applicant += " · " + "、".join(label(GROUP_LABELS, g) for g in case.groups)
    grid.add_row(_("Applicant"), applicant)
    if case.project:
        grid.add_row(_("Project"), f"{case.project.get('name', '')} {case.project.get('firm', '')}")
    if case.extension:
        ext = case.extension
        grid.add_row(
            _("Extension"),
            _("{days} working days, {state}: {reason}").format(
                days=ext.get("days"), state=ext.get("state"), reason=ext.get("reason", "")
            ),
        )
    if case.rating is not None:
        comment = f" “{case.rating_comment}”" if case.rating_comment else ""
        grid.add_row(_("Rating"), f"{case.rating} {RATING_LABELS.get(case.rating, '')}{comment}")
    if case.result:
        grid.add_row(_("Result"), result_summary(case.result))
    if case.review:
        review = case.review
        grid.add_row(
            _("Review"),
            _("{state} at {unit}, act by {due}").format(
                state=review.get("state"), unit=unit_name(review.get("unit")), due=review.get("due_at", "")[:10]
            ),
        )
    if case.description:
        grid.add_row(_("Notes"), case.description)
    return grid


def materials(case: Case, now: datetime) -> RenderableType:
    title = Text(_("Materials"), style="bold underline")
    if not case.materials:
        return Group(title, Text("  " + _("none listed"), style="dim"))
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
            detail.append(_("due {date}").format(date=due))
            try:
                if date.fromisoformat(due) < today:
                    detail.append(" " + _("OVERDUE"), style="bold white on dark_red")
            except ValueError:
                pass
            if m.get("commitment"):
                detail.append(" · " + _("告知承诺: {text}").format(text=m["commitment"]))
        table.add_row(
            Text(MATERIAL_MARKS.get(state, "?"), style=MATERIAL_STYLES.get(state, "")),
            Text(f"{_pad(label(MATERIAL_LABELS, state), _label_cells())} {m.get('name', m.get('code', ''))}"),
            detail,
        )
        for f in files_of(case, str(m.get("code"))):
            table.add_row(Text(""), Text(f"  📎 {f}", style="cyan"), Text(""))
    other = _("other material")
    for f in files_of(case, "other"):
        table.add_row(Text(""), Text(f"  📎 {f} ({other})", style="cyan"), Text(""))
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
    title = Text(_("History ({count} events)").format(count=len(events)), style="bold underline")
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, style="dim")
    table.add_column(no_wrap=True, style="bold")
    table.add_column(ratio=1)
    for e in events:
        actor = who(e.actor_id) if e.actor_id is not None else _("system")
        what = Text(f"{unit_name(e.actor_unit)} {actor}")
        before, after = e.before, e.after
        if "status" in after and before.get("status") != after.get("status"):
            was = status_label(before["status"]) if before.get("status") else "∅"
            what.append(f" · {was}→{status_label(after['status'])}")
        if after.get("owner_unit") and after.get("owner_unit") != before.get("owner_unit"):
            what.append(" · " + _("to {unit}").format(unit=unit_name(after["owner_unit"])))
        if after.get("assignee_id") is not None and after.get("assignee_id") != before.get("assignee_id"):
            what.append(" · " + _("assignee {who}").format(who=who(after["assignee_id"])))
        if e.reason in EVENT_LABELS:
            what.append(f" · {_(EVENT_LABELS[e.reason])}", style="italic")
        elif e.reason:
            what.append(f" · “{e.reason}”", style="italic")
        table.add_row(local(e.at, "%m-%d %H:%M"), event_label(e.action), what)
    return Group(title, table)
