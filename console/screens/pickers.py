"""Choosing where a case goes: a unit from the tree, or an agent (or unit) to hand over to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static, Tree
from textual.widgets.option_list import Option

from console.data import AgentOut
from console.widgets.scope_tree import ScopeTree
from hierarchy.errors import DaibanError

if TYPE_CHECKING:
    from console.base import ConsoleBase


class UnitPicker(ModalScreen[str | None]):
    """A unit of ``root``'s subtree: arrows move, Space opens a branch, Enter picks."""

    CSS_PATH = "pickers.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]  # noqa: RUF012

    if TYPE_CHECKING:
        app: ConsoleBase

    def __init__(self, title: str, *, root: str, exclude: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.root_code = root
        self.exclude = exclude

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker"):
            yield Static(self.title_text, classes="dialog-title")
            yield Static("↑↓ move · Space open/close · Enter pick · Esc cancel", classes="dialog-help")
            yield ScopeTree(id="units")

    def on_mount(self) -> None:
        tree = self.query_one(ScopeTree)
        tree.auto_expand = False
        tree.build(self.root_code, self.app.units)
        tree.focus()

    @on(Tree.NodeSelected)
    def picked(self, event: Tree.NodeSelected[str]) -> None:
        code = event.node.data
        if code is None:
            return
        if code == self.exclude:
            self.notify("The case is already in that unit's queue.", severity="warning")
            return
        self.dismiss(code)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AgentsLoaded(Message):
    def __init__(self, agents: list[AgentOut], open_cases: dict[str, int]) -> None:
        super().__init__()
        self.agents = agents
        #: Open cases per username, when the workload could be read (online, allowed).
        self.open_cases = open_cases


class HandoverPicker(ModalScreen[dict[str, Any] | None]):
    """Another agent of the owner unit (from the list or by username), or another unit."""

    CSS_PATH = "pickers.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "cancel", "Cancel"),
        Binding("down", "to_list", "Agent list", show=False),
    ]

    if TYPE_CHECKING:
        app: ConsoleBase

    def __init__(self, case_label: str, owner_unit: str) -> None:
        super().__init__()
        self.case_label = case_label
        self.owner_unit = owner_unit

    def compose(self) -> ComposeResult:
        with Vertical(classes="picker"):
            yield Static(f"Hand over {self.case_label}", classes="dialog-title")
            yield Static(
                f"to an agent of {self.app.unit_name(self.owner_unit)}: ↓ to the list and Enter picks, "
                "or type a username and Enter; or to another unit (Tab to its button)",
                classes="dialog-help",
            )
            yield OptionList(id="agents")
            yield Label("Username")
            yield Input(placeholder="or type a username, e.g. a640502100-2", id="username", compact=True)
            with Horizontal(classes="dialog-buttons"):
                yield Button("To this agent", variant="primary", id="agent", compact=True)
                yield Button("Another unit…", id="unit", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#username", Input).focus()
        self.load_agents()

    def action_to_list(self) -> None:
        options = self.query_one("#agents", OptionList)
        if options.option_count and not options.get_option_at_index(0).disabled:
            options.focus()
            if options.highlighted is None:
                options.highlighted = 0

    @work(exclusive=True)
    async def load_agents(self) -> None:
        client = self.app.client
        try:
            agents = await client.agents(self.owner_unit)
        except DaibanError:
            agents = []
        self.post_message(AgentsLoaded(agents, {}))
        if not agents:
            return
        try:
            load = await client.workload(self.owner_unit)
        except DaibanError:
            return  # the load is a hint; the list works without it (offline, or not allowed)
        self.post_message(AgentsLoaded(agents, {a.username: a.open for a in load.agents}))

    def on_agents_loaded(self, message: AgentsLoaded) -> None:
        options = self.query_one("#agents", OptionList)
        highlighted = options.highlighted
        options.clear_options()
        me = self.app.me.username if self.app.me else None
        for agent in message.agents:
            if agent.username == me or not agent.active:
                continue
            load = message.open_cases.get(agent.username)
            extra = f"  ({load} open)" if load is not None else ""
            options.add_option(Option(f"{agent.name}  {agent.username}{extra}", id=agent.username))
        if not options.option_count:
            options.add_option(Option("(no colleague listed here: type a username)", disabled=True))
            self.query_one("#username", Input).focus()
        elif highlighted is not None:
            options.highlighted = min(highlighted, options.option_count - 1)

    @on(OptionList.OptionSelected, "#agents")
    def agent_picked(self, event: OptionList.OptionSelected) -> None:
        if event.option.id:
            self.dismiss({"agent": event.option.id})

    @on(Input.Submitted, "#username")
    @on(Button.Pressed, "#agent")
    def typed(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        if not username:
            options = self.query_one("#agents", OptionList)
            highlighted = options.highlighted_option
            if highlighted is not None and highlighted.id:
                self.dismiss({"agent": highlighted.id})
                return
            self.notify("Type the username of the agent, or pick one.", severity="warning")
            return
        self.dismiss({"agent": username})

    @on(Button.Pressed, "#unit")
    def to_unit(self) -> None:
        assert self.app.me is not None

        def chosen(code: str | None) -> None:
            if code is not None:
                self.dismiss({"unit": code})

        self.app.push_screen(
            UnitPicker(f"Hand over {self.case_label} to", root=self.app.me.unit_code, exclude=self.owner_unit),
            chosen,
        )

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
