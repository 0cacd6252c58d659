"""F4: the agent's notifications — what reached them or concerns them, unread first.

Enter marks the line read and opens its case; ``a`` marks everything read. On a device
the list is what the last sync brought, readable with no network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from console.data import Notice
from console.format import local
from console.messages import Failed
from console.screens.base import ConsoleScreen
from console.widgets.status_bar import StatusBar
from hierarchy.errors import DaibanError
from hierarchy.i18n import N_, _

if TYPE_CHECKING:
    from console.base import ConsoleBase

#: (label, key, width); the message takes the width left.
COLUMNS = ((N_("New"), "new", 3), (N_("When"), "when", 11), (N_("Message"), "message", 60))
UNREAD_MARK = "●"


class NoticesLoaded(Message):
    def __init__(self, notices: list[Notice]) -> None:
        super().__init__()
        self.notices = notices


class InboxScreen(ConsoleScreen):
    CSS_PATH = "inbox.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "app.pop_screen", _("Back")),
        Binding("a", "read_all", _("Mark all read")),
        Binding("f5", "reload", _("Reload")),
    ]

    if TYPE_CHECKING:
        app: ConsoleBase

    def __init__(self) -> None:
        super().__init__()
        self.notices: list[Notice] = []

    def compose(self) -> ComposeResult:
        yield Static(" " + _("Inbox — what reached you"), id="inbox-head")
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
            notices = await self.app.client.notifications()
        except DaibanError as error:
            self.post_message(Failed("inbox", error))
            return
        self.post_message(NoticesLoaded(notices))

    def on_notices_loaded(self, message: NoticesLoaded) -> None:
        self.notices = message.notices
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(
            ("" if n.read else UNREAD_MARK, local(n.created_at, "%m-%d %H:%M"), n.message) for n in self.notices
        )
        if not self.notices:
            self.query_one("#inbox-head", Static).update(" " + _("Inbox — nothing has reached you yet"))

    def on_failed(self, message: Failed) -> None:
        self.app.tell(message.error)

    @work(group="read")
    async def mark(self, notice_id: int | None) -> None:
        try:
            await self.app.client.mark_read(notice_id)
        except DaibanError as error:
            self.post_message(Failed("read", error))
            return
        self.app.refresh_status()
        self.reload()

    def action_read_all(self) -> None:
        self.mark(None)

    @on(DataTable.RowSelected)
    def open_case(self, event: DataTable.RowSelected) -> None:
        index = event.cursor_row
        if not 0 <= index < len(self.notices):
            return
        notice = self.notices[index]
        if not notice.read:
            self.mark(notice.id)
        if notice.case_id:
            self.app.open_case(notice.case_id)
