"""F1: how to sign in, find and claim a case, and act on it — and the keys this case allows."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown

from console.actions import ACTIONS, FIELD_LABELS, ActionSpec
from hierarchy.i18n import _


def _key(key: str) -> str:
    return key.replace("ctrl+", "Ctrl+")


def action_lines(actions: list[ActionSpec]) -> str:
    lines = []
    for spec in actions:
        line = f"- `{_key(spec.key)}` **{_(spec.label)}** — {_(spec.help)}"
        if spec.fields:
            asked = "、".join(_(FIELD_LABELS[f]).split(" (")[0].split("（")[0] for f in spec.fields)
            line += " " + _("Asks for: {fields}.").format(fields=asked)
        if spec.confirm:
            line += " " + _("Asks you to confirm first.")
        lines.append(line)
    return "\n".join(lines)


def help_text(actions: list[ActionSpec] | None = None) -> str:
    """The help; ``actions`` are those the selected case allows (None: every action)."""
    if actions is None:
        heading = _("## Acting on a case: every action")
        keys = action_lines(list(ACTIONS))
    else:
        heading = _("## What this case allows you now")
        keys = action_lines(actions) if actions else _("Nothing: this case allows you no action now.")
    return "\n\n".join(
        (
            _("# daiban console — help"),
            _(
                "**↑/↓** and **PgUp/PgDn** scroll this help; **Esc** closes it and takes you back where you were."
            ),
            _(
                "## Signing in\n"
                "1. Type your username and press **Enter** (demo accounts are `a` + your unit's code, e.g. "
                "`a640502100` for 滨河镇; also `dispatcher`).\n"
                "2. Type your password and press **Enter** (demo accounts: `demo`).\n"
                "3. Your list opens: your unit's **queue** (a village agent sees **my cases**)."
            ),
            _(
                "## Finding cases\n"
                "- **1 / 2 / 3**: my cases · my unit's queue · everything in my scope (with the unit tree).\n"
                "- Lists show open cases, overdue first, then the ones due soonest; **Ctrl+F** filters "
                "(open or all, status, item, kind, overdue).\n"
                "- Just type (or press **/**) to search a title or a reference; **Esc** clears the search and "
                "goes back to the list. **F5** reloads."
            ),
            _(
                "## Claiming and acting\n"
                "Press **Enter** on a case to open it: applicant, materials with 容缺 deferrals, due time and "
                "the whole history. There the footer shows the keys this case allows you; **c** claims, "
                "after you confirm. **Ctrl+P** finds any action by its Chinese or English name. A form asks "
                "for what is required; **Enter** sends, **Esc** cancels; when the server refuses, the form "
                "stays with what you typed and says why."
            ),
            heading,
            keys,
            _(
                "## Materials and new cases\n"
                "- In a case, **m** opens its materials (provided, missing, 容缺 deferred with the applicant's "
                "signed commitment and a due date).\n"
                "- In a list, **Ctrl+N** takes a new matter: item, kind, applicant, phone, service mode, groups."
            ),
            _(
                "## Offline\n"
                "The bottom line shows **online** or **offline**, how many operations wait to be sent "
                "(**pending**) and how many the server refused (**conflicts**). Offline, your work is kept "
                "and marked `↑` until it syncs; **Ctrl+S** syncs now; **F3** lists conflicts."
            ),
            _(
                "## Dispatchers and county leads\n"
                "**F2** opens the dashboard: load per unit and per agent, SLA breaches and escalations; "
                "**p** previews a rebalancing plan, **a** applies it after you confirm."
            ),
            _("**Esc** closes this help. **q** quits the console and says what still waits to sync."),
        )
    )


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "dismiss", _("Close")),
        Binding("f1", "dismiss", _("Close"), show=False),
        Binding("q", "dismiss", _("Close"), show=False),
    ]

    def __init__(self, actions: list[ActionSpec] | None = None) -> None:
        super().__init__()
        self.actions = actions

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(help_text(self.actions))
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#help").focus()
