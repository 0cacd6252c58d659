"""One line at the bottom: online or offline, operations waiting, conflicts, last sync."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from console.data import SyncStatus
from console.format import local
from hierarchy.i18n import _


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; width: 1fr; background: $panel; color: $text; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", **kwargs)  # type: ignore[arg-type]
        self.sync_status: SyncStatus | None = None
        self.info = ""

    def show_status(self, status: SyncStatus | None) -> None:
        self.sync_status = status
        self._draw()

    def show_info(self, info: str) -> None:
        self.info = info
        self._draw()

    def _draw(self) -> None:
        text = Text(no_wrap=True, overflow="ellipsis")
        status = self.sync_status
        if status is None:
            text.append(" " + _("… connecting") + " ", style="dim")
        else:
            if status.online:
                text.append(" " + _("● online") + " ", style="bold green")
            else:
                # A calm state, not an alarm: the work is kept and syncs later.
                text.append(" " + _("○ offline · work is kept") + " ", style="bold black on yellow")
            pending_style = "bold magenta" if status.pending else ""
            text.append("│ " + _("{count} pending").format(count=status.pending) + " ", style=pending_style)
            conflict_style = "bold red" if status.conflicts else ""
            text.append("│ " + _("{count} conflicts").format(count=status.conflicts) + " ", style=conflict_style)
            text.append("│ " + _("synced {when}").format(when=local(status.last_sync, "%m-%d %H:%M")) + " ")
            if status.unread:
                text.append("│ " + _("✉ {count} unread (F4)").format(count=status.unread) + " ", style="bold cyan")
        if self.info:
            text.append(f"│ {self.info}")
        self.update(text)
