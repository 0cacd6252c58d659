"""F2, for dispatchers and county leads: load per unit down the tree and per agent, SLA
breaches and escalations; a rebalancing plan previewed as a table of moves, applied with
one key after confirmation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Static

from console.data import Plan, UnitLoad, Workload
from console.messages import Failed, PlanApplied, PlanReady, WorkloadLoaded
from console.widgets.status_bar import StatusBar
from hierarchy.errors import DaibanError

if TYPE_CHECKING:
    from console.app import DaibanConsole

UNIT_COLUMNS = (
    ("Unit", 16), ("Open", 6), ("Queue", 6), ("Work", 5), ("Wait", 4), ("Late", 5), ("Esc", 4), ("Cap", 6), ("Load", 5)
)  # fmt: skip
AGENT_COLUMNS = (
    ("Agent", 15), ("Name", 14), ("Open", 4), ("Work", 4), ("Wait", 4), ("Late", 4), ("Cap", 4), ("Load", 5)
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


class DashboardScreen(Screen[None]):
    CSS_PATH = "dashboard.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "app.pop_screen", "Back"),
        Binding("backspace", "up", "Up a level"),
        Binding("p", "plan", "Plan rebalance"),
        Binding("f5", "reload", "Reload"),
    ]

    if TYPE_CHECKING:
        app: DaibanConsole

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.home = unit
        self.unit = unit
        self.workload: Workload | None = None
        self.unit_rows: list[UnitLoad] = []

    def compose(self) -> ComposeResult:
        yield Static(" Dashboard", id="dash-head")
        yield Static(" Units", classes="dash-caption", id="units-caption")
        yield DataTable(id="units", cursor_type="row")
        yield Static(" Agents", classes="dash-caption", id="agents-caption")
        yield DataTable(id="agents", cursor_type="row")
        yield StatusBar()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        for table_id, columns in (("#units", UNIT_COLUMNS), ("#agents", AGENT_COLUMNS)):
            table = self.query_one(table_id, DataTable)
            for label, width in columns:
                table.add_column(label, width=width)
        self.query_one(StatusBar).show_status(self.app.sync_status)
        self.query_one("#units", DataTable).focus()
        self.reload()

    def reload(self) -> None:
        self.query_one(StatusBar).show_info(f"loading {self.app.unit_name(self.unit)} …")
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
        head = Text(f" Dashboard · {name} {w.unit} · ", style="bold")
        head.append(f"{w.breaches} SLA breaches", style="bold white on dark_red" if w.breaches else "")
        if w.escalations is not None:
            head.append(f" · {w.escalations} escalations in {w.report_days} days")
        self.query_one("#dash-head", Static).update(head)
        self.query_one("#units-caption", Static).update(
            f" Units under {name} — Enter drills down, Backspace goes up, p plans a rebalance"
        )
        self.query_one("#agents-caption", Static).update(f" Agents of {name}")
        self.unit_rows = w.units
        units = self.query_one("#units", DataTable)
        units.clear()
        units.add_rows(
            (
                Text(f"{u.name} (all)", style="bold") if u.code == w.unit else f"  {u.name}",
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
        self.query_one(StatusBar).show_info(f"{len(w.units)} units · {len(w.agents)} agents")

    def on_failed(self, message: Failed) -> None:
        self.query_one(StatusBar).show_info(f"{message.what}: {message.error.code}")
        self.notify(message.error.message, title=message.error.code, severity="error", timeout=10)

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
        self.query_one(StatusBar).show_info("planning …")
        try:
            plan = await self.app.client.plan(self.unit)
        except DaibanError as error:
            self.post_message(Failed("plan", error))
            return
        self.post_message(PlanReady(plan))

    def on_plan_ready(self, message: PlanReady) -> None:
        plan = message.plan
        self.query_one(StatusBar).show_info(f"plan {plan.id}: {len(plan.moves)} moves")
        if not plan.moves:
            self.notify("The load is balanced: nothing to move.")
            return

        def decided(apply: bool | None) -> None:
            if apply:
                self.apply_plan(plan.id)

        agents = {a.id: a.username for a in self.workload.agents} if self.workload else {}
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
        note = f"plan {r.id} applied: {r.applied} moved"
        if r.skipped:
            note += f", {r.skipped} skipped ({', '.join(r.codes)})"
        self.notify(note, severity="warning" if r.skipped else "information")
        self.app.data_version += 1
        self.reload()


class PlanScreen(ModalScreen[bool]):
    """The moves of a plan; ``a`` applies them after a yes/no question."""

    CSS_PATH = "dashboard.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("a", "apply", "Apply plan"),
        Binding("escape", "dismiss(False)", "Close"),
    ]

    if TYPE_CHECKING:
        app: DaibanConsole

    def __init__(self, plan: Plan, agents: dict[int | None, str] | None = None) -> None:
        super().__init__()
        self.plan = plan
        self.agent_names = agents or {}

    def compose(self) -> ComposeResult:
        p = self.plan
        head = f" Rebalance plan {p.id} for {self.app.unit_name(p.unit)}: {len(p.moves)} moves"
        yield Static(head, id="plan-head")
        yield Static(
            f" busiest agent {pct(p.before_max_agent_utilisation)} → {pct(p.after_max_agent_utilisation)}"
            f" · busiest unit {pct(p.before_max_unit_utilisation)} → {pct(p.after_max_unit_utilisation)}",
            id="plan-summary",
        )
        yield DataTable(id="moves", cursor_type="row")
        yield Static(" a applies every move (you will be asked to confirm) · Esc closes", id="plan-foot")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in (("Case", 15), ("Move", 6), ("From", 20), ("To", 20), ("Item", 20)):
            table.add_column(label, width=width)
        table.add_rows(
            (
                m.ref or m.case_id[:8],
                m.kind,
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
        return f"{self.agent_names.get(agent, f'#{agent}')} {place}"

    def action_apply(self) -> None:
        from console.screens.forms import ConfirmScreen

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.dismiss(True)

        self.app.push_screen(
            ConfirmScreen(f"Apply {len(self.plan.moves)} moves?", "Each case moves unless it changed since the plan."),
            confirmed,
        )
