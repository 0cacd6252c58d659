"""The hooks a console screen offers the application (instead of duck typing)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.screen import Screen

if TYPE_CHECKING:
    from console.base import ConsoleBase


class ConsoleScreen(Screen[None]):
    if TYPE_CHECKING:
        app: ConsoleBase

    def network_changed(self) -> None:
        """The network (unit, item and agent names) has loaded: redraw what names them."""

    def reload(self) -> None:
        """Data changed underneath (a sync): read it again."""

    def palette_commands(self) -> Iterable[SystemCommand]:
        """This screen's commands for the palette."""
        return ()
