"""F2, for dispatchers and county leads: load per unit down the tree and per agent, SLA
breaches and escalations; a rebalancing plan previewed as a table of moves, applied with
one key after confirmation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Static

from console.data import Plan, UnitLoad, Workload
from console.messages import Failed, PlanApplied, PlanReady, WorkloadLoaded
from console.screens.base import ConsoleScreen
from console.screens.forms import ConfirmScreen
from console.widgets.status_bar import StatusBar
from hierarchy.errors import DaibanError
from hierarchy.i18n import N_, _

if TYPE_CHECKING:
    from console.base import ConsoleBase

UNIT_COLUMNS = (
    (N_("Unit"), 16), (N_("Open"), 6), (N_("Queue"), 6), (N_("Work"), 5), (N_("Wait"), 4), (N_("Late"), 5),
    (N_("Esc"), 4), (N_("Cap"), 6), (N_("Load"), 5),
)  # fmt: skip
AGENT_COLUMNS = (
    (N_("Agent"), 15), (N_("Name"), 14), (N_("Open"), 4), (N_("Work"), 4), (N_("Wait"), 4), (N_("Late"), 4),
    (N_("Cap"), 4), (N_("Load"), 5),
)  # fmt: skip


def load_cell(utilisation: float | None) -> Text:
    """Open cases against capacity, in words and colour: ``80%``, ``120%!``."""
    if utilisation is None:
        return Text("—", style="dim")
    pct = round(100 * utilisation)
    if pct > 100:
        return Text(f"{pct}%!", style="bold white on dark_red")
    if pct >= 80:
        return Text(f"{pct}%", style="bold yellow")
    return Text(f"{pct}%", style="green")


def pct(value: float | None) -> str:
    return "—" if value is None else f"{round(100 * value)}%"


def late_cell(n: int) -> Text | str:
    return Text(str(n), style="bold red") if n else "0"


class DashboardScreen(ConsoleScreen):
    CSS_PATH = "dashboard.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "app.pop_screen", _("Back")),
        Binding("backspace", "up", _("Up a level")),
        Binding("p", "plan", _("Plan rebalance")),
        Binding("f5", "reload", _("Reload")),
    ]

    if TYPE_CHECKING:
        app: ConsoleBase

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.home = unit
        self.unit = unit
        self.workload: Workload | None = None
        self.unit_rows: list[UnitLoad] = []

    def compose(self) -> ComposeResult:
        yield Static(" " + _("Dashboard"), id="dash-head")
        yield Static(" " + _("Units"), classes="dash-caption", id="units-caption")
        yield DataTable(id="units", cursor_type="row")
        yield Static(" " + _("Agents"), classes="dash-caption", id="agents-caption")
        yield DataTable(id="agents", cursor_type="row")
        yield StatusBar()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        for table_id, columns in (("#units", UNIT_COLUMNS), ("#agents", AGENT_COLUMNS)):
            table = self.query_one(table_id, DataTable)
            for label, width in columns:
                table.add_column(_(label), width=width)
        self.query_one(StatusBar).show_status(self.app.sync_status)
        self.query_one("#units", DataTable).focus()
        self.reload()

    def reload(self) -> None:
        self.query_one(StatusBar).show_info(_("loading {unit} …").format(unit=self.app.unit_name(self.unit)))
        self.load(self.unit)

    def action_reload(self) -> None:
        self.reload()

    @work(exclusive=True, group="workload")
    async def load(self, unit: str) -> None:
        try:
            workload = await self.app.client.workload(unit)
        except DaibanError as error:
            self.post_message(Failed("workload", error))
            return
        self.post_message(WorkloadLoaded(workload))

    def on_workload_loaded(self, message: WorkloadLoaded) -> None:
        w = self.workload = message.workload
        name = w.name or self.app.unit_name(w.unit)
        head = Text(" " + _("Dashboard · {name} {code} · ").format(name=name, code=w.unit), style="bold")
        breaches = _("{count} SLA breaches").format(count=w.breaches)
        head.append(breaches, style="bold white on dark_red" if w.breaches else "")
        if w.escalations is not None:
            head.append(" · " + _("{count} escalations in {days} days").format(count=w.escalations, days=w.report_days))
        self.query_one("#dash-head", Static).update(head)
        self.query_one("#units-caption", Static).update(
            " " + _("Units under {name} — Enter drills down, Backspace goes up, p plans a rebalance").format(name=name)
        )
        self.query_one("#agents-caption", Static).update(" " + _("Agents of {name}").format(name=name))
        self.unit_rows = w.units
        units = self.query_one("#units", DataTable)
        units.clear()
        units.add_rows(
            (
                unit_label(u, w.unit),
                str(u.open),
                str(u.queued),
                str(u.in_progress),
                str(u.waiting),
                late_cell(u.overdue),
                "—" if u.escalations is None else str(u.escalations),
                str(u.capacity),
                load_cell(u.utilisation),
            )
            for u in w.units
        )
        agents = self.query_one("#agents", DataTable)
        agents.clear()
        agents.add_rows(
            (
                a.username,
                a.name,
                str(a.open),
                str(a.in_progress),
                str(a.waiting),
                late_cell(a.overdue),
                str(a.capacity),
                load_cell(a.utilisation),
            )
            for a in w.agents
        )
        self.query_one(StatusBar).show_info(
            _("{units} units · {agents} agents").format(units=len(w.units), agents=len(w.agents))
        )

    def on_failed(self, message: Failed) -> None:
        self.query_one(StatusBar).show_info(f"{message.what}: {message.error.code}")
        self.app.tell(message.error)

    @on(DataTable.RowSelected, "#units")
    def drill(self, event: DataTable.RowSelected) -> None:
        index = event.cursor_row
        if 0 <= index < len(self.unit_rows) and self.unit_rows[index].code != self.unit:
            self.unit = self.unit_rows[index].code
            self.reload()

    def action_up(self) -> None:
        if self.unit == self.home:
            return
        unit = self.app.units.get(self.unit)
        if unit is not None and unit.parent_code:
            self.unit = unit.parent_code
            self.reload()

    # --- rebalancing --------------------------------------------------------------------

    @work(exclusive=True, group="plan")
    async def action_plan(self) -> None:
        self.query_one(StatusBar).show_info(_("planning …"))
        try:
            plan = await self.app.client.plan(self.unit)
        except DaibanError as error:
            self.post_message(Failed("plan", error))
            return
        self.post_message(PlanReady(plan))

    def on_plan_ready(self, message: PlanReady) -> None:
        plan = message.plan
        self.query_one(StatusBar).show_info(_("plan {id}: {count} moves").format(id=plan.id, count=len(plan.moves)))
        if not plan.moves:
            self.notify(_("The load is balanced: nothing to move."))
            return

        def decided(apply: bool | None) -> None:
            if apply:
                self.apply_plan(plan.id)

        agents = {a.id: a.name or a.username for a in self.workload.agents} if self.workload else {}
        self.app.push_screen(PlanScreen(plan, agents), decided)

    @work(exclusive=True, group="plan")
    async def apply_plan(self, plan_id: int) -> None:
        try:
            result = await self.app.client.apply_plan(plan_id)
        except DaibanError as error:
            self.post_message(Failed("apply", error))
            return
        self.post_message(PlanApplied(result))

    def on_plan_applied(self, message: PlanApplied) -> None:
        r = message.result
        note = _("plan {id} applied: {count} moved").format(id=r.id, count=r.applied)
        if r.skipped:
            note += _(", {count} skipped ({codes})").format(count=r.skipped, codes=", ".join(r.codes))
        self.notify(note, severity="warning" if r.skipped else "information")
        self.app.data_version += 1
        self.reload()


class PlanScreen(ModalScreen[bool]):
    """The moves of a plan; ``a`` applies them after a yes/no question."""

    CSS_PATH = "dashboard.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("a", "apply", _("Apply plan")),
        Binding("escape", "dismiss(False)", _("Close")),
    ]

    if TYPE_CHECKING:
        app: ConsoleBase

    def __init__(self, plan: Plan, agents: dict[int | None, str] | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.agent_names = agents or {}

    def compose(self) -> ComposeResult:
        p = self.plan
        head = " " + _("Rebalance plan {id} for {unit}: {count} moves").format(
            id=p.id, unit=self.app.unit_name(p.unit), count=len(p.moves)
        )
        yield Static(head, id="plan-head")
        yield Static(
            " "
            + _("busiest agent {a0} → {a1} · busiest unit {u0} → {u1}").format(
                a0=pct(p.before_max_agent_utilisation),
                a1=pct(p.after_max_agent_utilisation),
                u0=pct(p.before_max_unit_utilisation),
                u1=pct(p.after_max_unit_utilisation),
            ),
            id="plan-summary",
        )
        yield DataTable(id="moves", cursor_type="row")
        yield Static(" " + _("a applies every move (you will be asked to confirm) · Esc closes"), id="plan-foot")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in ((N_("Case"), 15), (N_("Move"), 6), (N_("From"), 20), (N_("To"), 20), (N_("Item"), 20)):
            table.add_column(_(label), width=width)
        moves = {"agent": _("to agent"), "unit": _("to unit")}
        table.add_rows(
            (
                m.ref or m.case_id[:8],
                moves.get(m.kind, m.kind),
                self.where(m.from_unit, m.from_agent),
                self.where(m.to_unit, m.to_agent),
                self.app.item_name(m.item),
            )
            for m in self.plan.moves
        )
        table.focus()

    def where(self, unit: str | None, agent: int | None) -> str:
        place = self.app.unit_name(unit)
        if agent is None:
            return place
        # The unit's own agents come with the workload; the rest of the subtree was loaded
        # at sign-in (names, never numbers, where the agent is in scope).
        name = self.agent_names.get(agent) or self.app.agent_label(agent)
        return f"{name} {place}"

    def action_apply(self) -> None:
        def confirmed(yes: bool | None) -> None:
            if yes:
                self.dismiss(True)

        self.app.push_screen(
            ConfirmScreen(
                _("Apply {count} moves?").format(count=len(self.plan.moves)),
                _("Each case moves unless it changed since the plan."),
            ),
            confirmed,
        )


def unit_label(u: UnitLoad, top: str) -> Text | str:
    """The subtree total in bold, the unit's own line (its own queue and agents) apart."""
    if u.code != top:
        return f"  {u.name}"
    if u.line == "own":
        return Text(_("{name} (own)").format(name=u.name))
    return Text(_("{name} (all)").format(name=u.name), style="bold")
