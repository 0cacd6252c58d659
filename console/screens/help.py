"""F1: how to sign in, find and claim a case, and act on it — step by step."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown

from console.actions import ACTIONS, FIELD_LABELS


def _key(key: str) -> str:
    return key.replace("ctrl+", "Ctrl+")


def help_text() -> str:
    rows = "\n".join(
        f"| `{_key(s.key)}` | {s.label} | {s.help} | "
        + (", ".join(FIELD_LABELS[f].split(" (")[0] for f in s.fields) or "—")
        + " |"
        for s in ACTIONS
    )
    return f"""\
# daiban console — help

## Signing in
1. Type your **username** (on your agent card; demo accounts are `a` + your unit's
   code, e.g. `a640502100` for 滨河镇) and press **Enter**.
2. Type your **password** and press **Enter**.
3. The console loads your unit's network and opens your **unit queue**.
   A wrong password says so in red; after five tries wait a minute.

## Claiming a case from the queue
1. Press **2** (or click *2 Unit queue*): every case waiting in your unit's queue,
   the most urgent first.
2. Look at the **SLA** column: `OVERDUE 2d` (red) is past its due time,
   `due 5h` (yellow) is close, `ok 4d` (green) has time, `paused` waits for the applicant.
3. Move to the case with **↑/↓** and press **c** to claim it. It moves to **1 My cases**.
4. If someone claimed it first, a red note says `case.already_claimed`: pick another.
5. Press **Enter** on a case to see it whole: applicant (ID and phone masked unless it is
   yours), materials with 容缺 deferrals and their due dates, due time and time left,
   and the full history.

## Acting on a case
Select a case (in a list or its detail) and press the key, or press **Ctrl+P** and type
the action's name. A form asks for what is required (a reason or a note); **Enter**
sends, **Esc** cancels. Dispatch and hand-over first ask *where*: pick a unit in the
tree (Space opens a branch, Enter picks) or an agent (pick or type a username).
When the server refuses, a red note gives its reason and code.

| key | action | what it does | asks for |
|---|---|---|---|
{rows}

## Finding cases
- **1 / 2 / 3**: my cases · my unit's queue · everything in my scope (with the unit tree:
  the number beside a unit counts its open cases; highlight a unit to list only its subtree).
- **/**: search title or reference (e.g. `ZW-2026-0001`). **f**: filter by status, item,
  kind, overdue. **F5**: reload.

## Offline
The bottom line shows **online** or **OFFLINE**, how many operations wait to be sent
(**pending**) and how many the server refused (**conflicts**). Offline, your actions are
kept and marked `↑` until they are synced; **Ctrl+S** syncs now; **F3** lists conflicts.

## Dispatchers and county leads
**F2** opens the dashboard: load per unit down the tree and per agent, SLA breaches and
escalations; **p** previews a rebalancing plan, **a** applies it after you confirm.

**Esc** closes this help. **Ctrl+Q** quits.
"""


class HelpScreen(ModalScreen[None]):
    CSS_PATH = "help.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "dismiss", "Close"),
        Binding("f1", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(help_text())
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#help").focus()
