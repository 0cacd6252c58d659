"""F4: the agent's notifications — what reached them or concerns them, unread first.

Enter marks the line read and opens its case; ``a`` marks everything read. On a device
the list is what the last sync brought, readable with no network.
"""

from __future__ import annotations

from typing import Any

from textual import on, work
from textual.binding import Binding
from textual.widgets import DataTable

from console.data import Notice
from console.format import local
from console.messages import Failed
from console.screens.table_screen import TableScreen
from hierarchy.errors import DaibanError
from hierarchy.i18n import N_, _

UNREAD_MARK = "●"


class InboxScreen(TableScreen):
    BINDINGS = [Binding("a", "read_all", _("Mark all read"))]  # noqa: RUF012
    #: The message takes the width left.
    COLUMNS = ((N_("New"), "new", 3), (N_("When"), "when", 11), (N_("Message"), "message", 60))

    def __init__(self) -> None:
        super().__init__()
        self.notices: list[Notice] = []

    def heading(self) -> str:
        return _("Inbox — what reached you")

    async def fetch(self) -> Any:
        return await self.app.client.notifications()

    def show(self, payload: Any) -> None:
        self.notices = list(payload)
        table = self.query_one(DataTable)
        table.clear()
        table.add_rows(
            ("" if n.read else UNREAD_MARK, local(n.created_at, "%m-%d %H:%M"), n.message) for n in self.notices
        )
        self.set_heading(self.heading() if self.notices else _("Inbox — nothing has reached you yet"))

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
