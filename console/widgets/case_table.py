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
from textual.widgets.data_table import ColumnKey, RowKey

from console.data import CaseRow
from console.format import SLA_STYLES, sla_state, status_label

WHO_WIDTH = 8
#: (label, key, width); fixed widths keep 10,000 rows from being measured cell by cell.
COLUMNS = (
    ("Ref", "ref", 15),
    ("SLA", "sla", 11),
    ("Status", "status", 11),
    ("Unit", "unit", 10),
    ("Who", "who", WHO_WIDTH),
    ("Title", "title", 40),
)
MIN_TITLE = 12
SCROLLBAR = 1
PENDING = "↑"
CONFLICT = "!"


class CaseTable(DataTable[str | Text]):
    """Cases, most urgent first (the server's order); row index = index in ``rows``."""

    BINDINGS = [Binding("enter", "select_cursor", "Open", show=True)]  # noqa: RUF012

    DEFAULT_CSS = """
    CaseTable { scrollbar-size-vertical: 1; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)  # type: ignore[arg-type]
        self.rows_shown: list[CaseRow] = []
        self._keep: object = None

    def on_mount(self) -> None:
        for label, key, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def on_resize(self, event: events.Resize) -> None:
        """The title takes whatever width the fixed columns leave, so nothing scrolls sideways."""
        column = self.columns.get(ColumnKey("title"))
        if column is None:
            return
        fixed = sum(width + 2 * self.cell_padding for _, key, width in COLUMNS if key != "title")
        width = max(MIN_TITLE, event.size.width - fixed - 2 * self.cell_padding - SCROLLBAR)
        if column.width != width:
            column.width = width
            # DataTable recomputes its virtual width only when told its dimensions changed.
            self._require_update_dimensions = True
            self.refresh()

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
        self.add_rows(_cells(rows, now, who, unit_name))
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
    rows: Iterable[CaseRow], now: datetime, who: Callable[[int | None], str], unit_name: Callable[[str], str]
) -> Iterable[tuple[str | Text, ...]]:
    names: dict[str, str] = {}
    agents: dict[int | None, str] = {}
    styles: Mapping[str, str] = SLA_STYLES
    for row in rows:
        ref = row.ref or f"new {str(row.id)[:8]}"
        if row.conflict:
            ref_cell: str | Text = Text(CONFLICT + ref, style="bold red")
        elif row.pending:
            ref_cell = Text(PENDING + ref, style="bold magenta")
        else:
            ref_cell = " " + ref
        text, level = sla_state(row.status, row.due_at, now)
        unit = names.get(row.owner_unit)
        if unit is None:
            unit = names[row.owner_unit] = unit_name(row.owner_unit)
        agent = agents.get(row.assignee_id)
        if agent is None:
            agent = agents[row.assignee_id] = fit(who(row.assignee_id), WHO_WIDTH)
        status = status_label(row.status)
        if row.pending:
            status += "*"
        yield ref_cell, Text(text, style=styles[level]), status, unit, agent, row.title


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
