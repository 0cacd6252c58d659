"""A screen that is a heading, one table and the status bar, filled from the data client:
the inbox and the project view. A subclass says what to fetch and how to show it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from console.messages import Failed
from console.screens.base import ConsoleScreen
from console.widgets.status_bar import StatusBar
from hierarchy.errors import DaibanError
from hierarchy.i18n import _

if TYPE_CHECKING:
    from console.base import ConsoleBase


class Fetched(Message):
    def __init__(self, payload: Any) -> None:
        super().__init__()
        self.payload = payload


class TableScreen(ConsoleScreen):
    CSS_PATH = "table.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "app.pop_screen", _("Back")),
        Binding("f5", "reload", _("Reload")),
    ]
    #: (label marked with N_, key, width) of each column.
    COLUMNS: tuple[tuple[str, str, int], ...] = ()

    if TYPE_CHECKING:
        app: ConsoleBase

    def heading(self) -> str:
        return _("loading …")

    async def fetch(self) -> Any:
        """What the table shows, from ``self.app.client``."""
        raise NotImplementedError

    def show(self, payload: Any) -> None:
        """Fill the table (and the heading) from what :meth:`fetch` returned."""
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        yield Static(" " + self.heading(), id="table-head")
        yield DataTable(id="table-rows", cursor_type="row")
        yield StatusBar()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, key, width in self.COLUMNS:
            table.add_column(_(label), key=key, width=width)
        self.query_one(StatusBar).show_status(self.app.sync_status)
        table.focus()
        self.reload()

    def set_heading(self, text: str) -> None:
        self.query_one("#table-head", Static).update(" " + text)

    def reload(self) -> None:
        self.load()

    def action_reload(self) -> None:
        self.reload()

    @work(exclusive=True)
    async def load(self) -> None:
        try:
            payload = await self.fetch()
        except DaibanError as error:
            self.post_message(Failed(type(self).__name__, error))
            return
        self.post_message(Fetched(payload))

    def on_fetched(self, message: Fetched) -> None:
        self.show(message.payload)

    def on_failed(self, message: Failed) -> None:
        self.app.tell(message.error)
