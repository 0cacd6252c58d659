"""The case list: one DataTable, rows added in a single call, no widget per row."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from console.data import CaseRow
from console.format import SLA_STYLES, kind_label, sla_state, status_label
from hierarchy.i18n import N_, _

#: (label, key, width at 80 columns, width at 160 columns, shown from this many columns).
#: Widths are fixed per terminal size, so 10,000 rows are never measured cell by cell;
#: the title takes what the others leave.
COLUMNS = (
    (N_("Ref"), "ref", 15, 15, 0),
    (N_("SLA"), "sla", 9, 11, 0),
    (N_("Status"), "status", 6, 8, 0),
    (N_("Kind"), "kind", 4, 6, 0),
    (N_("Origin"), "origin", 8, 16, 0),
    (N_("Unit"), "unit", 10, 16, 100),
    (N_("Who"), "who", 7, 10, 0),
    (N_("Title"), "title", 17, 40, 0),
)
MIN_TITLE = 12
SCROLLBAR = 1
PENDING = "↑"
CONFLICT = "!"


def layout(width: int) -> dict[str, int]:
    """Column widths for a table ``width`` cells wide: the narrow widths at 80 columns
    and below, growing linearly to the wide ones at 160; the title takes the rest."""
    shown = [(key, narrow, wide) for _label, key, narrow, wide, least in COLUMNS if width >= least]
    grow = min(max((width - 80) / 80, 0.0), 1.0)
    widths = {key: round(narrow + (wide - narrow) * grow) for key, narrow, wide in shown if key != "title"}
    used = sum(w + 2 for w in widths.values()) + 2 + SCROLLBAR
    widths["title"] = max(MIN_TITLE, width - used)
    return widths


class CaseTable(DataTable[str | Text]):
    """Cases, most urgent first (the server's order); row index = index in ``rows``."""

    BINDINGS = [Binding("enter", "select_cursor", _("Open it"), show=True)]  # noqa: RUF012

    DEFAULT_CSS = """
    CaseTable { scrollbar-size-vertical: 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.rows_shown: list[CaseRow] = []
        self._keep: object = None
        self.widths = layout(80)
        self._names: tuple[datetime, Callable[[int | None], str], Callable[[str], str]] | None = None

    def on_mount(self) -> None:
        self._add_columns()

    def _add_columns(self) -> None:
        for label, key, *_rest in COLUMNS:
            if key in self.widths:
                self.add_column(_(label), key=key, width=self.widths[key])

    def on_resize(self, event: events.Resize) -> None:
        """Columns use the terminal's width (nothing scrolls sideways); cut cells are
        drawn again at the new widths."""
        widths = layout(event.size.width)
        if widths == self.widths:
            return
        self.widths = widths
        rows = self.rows_shown
        keep = self.current()
        self.clear(columns=True)
        self._add_columns()
        self.rows_shown = []
        if rows and self._names is not None:
            now, who, unit_name = self._names
            self._keep = keep.id if keep else None
            self.append(rows, now=now, who=who, unit_name=unit_name)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # Every column has a fixed width and every row is one line, so there is nothing to
        # measure. DataTable would render and measure each new cell to track content widths
        # (60,000 cells for 10,000 cases: seconds); the virtual size is all it needs here.
        # A private hook of Textual 8's DataTable (the project pins textual<9).
        header = self.header_height if self.show_header else 0
        width = sum(column.get_render_width(self) for column in self.columns.values())
        self.virtual_size = Size(width, self._total_row_height + header)

    def show(
        self,
        rows: list[CaseRow],
        *,
        now: datetime,
        who: Callable[[int | None], str],
        unit_name: Callable[[str], str],
        keep: object = None,
    ) -> None:
        """Replace the rows; the cursor stays on case ``keep`` (an id) when it is listed."""
        self.clear()
        self.rows_shown = []
        self._keep = keep
        self.append(rows, now=now, who=who, unit_name=unit_name)

    def append(
        self, rows: list[CaseRow], *, now: datetime, who: Callable[[int | None], str], unit_name: Callable[[str], str]
    ) -> None:
        """Add rows at the end (the next page of a long list), in one ``add_rows`` call."""
        start = len(self.rows_shown)
        self.rows_shown.extend(rows)
        self._names = (now, who, unit_name)
        self.add_rows(_cells(rows, now, who, unit_name, self.widths))
        if self._keep is not None:
            for index, row in enumerate(rows, start):
                if row.id == self._keep:
                    self.move_cursor(row=index, animate=False)
                    self._keep = None
                    break

    def current(self) -> CaseRow | None:
        if not self.rows_shown or not 0 <= self.cursor_row < len(self.rows_shown):
            return None
        return self.rows_shown[self.cursor_row]


def _cells(
    rows: Iterable[CaseRow],
    now: datetime,
    who: Callable[[int | None], str],
    unit_name: Callable[[str], str],
    widths: Mapping[str, int],
) -> Iterable[tuple[str | Text, ...]]:
    names: dict[tuple[str, int], str] = {}
    agents: dict[int | None, str] = {}
    styles: Mapping[str, str] = SLA_STYLES
    kinds = {kind: fit(kind_label(kind), widths["kind"]) for kind in ("service", "project_issue", "complaint")}
    statuses: dict[str, str] = {}
    new = _("new {id}")
    title_width = widths["title"]
    with_unit = "unit" in widths

    def place(code: str, width: int) -> str:
        """A unit's name cut at its end (``向阳巷…``): the start tells units apart."""
        name = names.get((code, width))
        if name is None:
            text = Text(unit_name(code))
            text.truncate(width, overflow="ellipsis")
            name = names[(code, width)] = text.plain
        return name

    for row in rows:
        ref = row.ref or new.format(id=str(row.id)[:8])
        if row.conflict:
            ref_cell: str | Text = Text(CONFLICT + ref, style="bold red")
        elif row.pending:
            ref_cell = Text(PENDING + ref, style="bold magenta")
        else:
            ref_cell = " " + ref
        text, level = sla_state(row.status, row.due_at, now)
        agent = agents.get(row.assignee_id)
        if agent is None:
            agent = agents[row.assignee_id] = fit(who(row.assignee_id), widths["who"])
        status = statuses.get(row.status)
        if status is None:
            status = statuses[row.status] = fit(status_label(row.status), widths["status"])
        kind = kinds.get(row.kind) or fit(row.kind, widths["kind"])
        title = Text(row.title, no_wrap=True, overflow="ellipsis")
        title.truncate(title_width, overflow="ellipsis")
        origin = place(row.origin_unit, widths["origin"])
        sla = Text(text, style=styles[level])
        if with_unit:
            yield ref_cell, sla, status, kind, origin, place(row.owner_unit, widths["unit"]), agent, title
        else:
            yield ref_cell, sla, status, kind, origin, agent, title


def fit(text: str, width: int) -> str:
    """``text`` in ``width`` cells, keeping both ends (``滨…员二``): names that share a
    beginning stay apart."""
    if cell_len(text) <= width:
        return text
    tail = ""
    for char in reversed(text):
        if cell_len(char + tail) > (width - 1) // 2 + (width - 1) % 2:
            break
        tail = char + tail
    head = ""
    for char in text:
        if cell_len(head + char) + 1 + cell_len(tail) > width:
            break
        head += char
    return f"{head}…{tail}"
