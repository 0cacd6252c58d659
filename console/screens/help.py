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
    keys = "\n".join(
        f"- `{_key(s.key)}` **{s.label}** — {s.help}."
        + (f" Asks for: {', '.join(FIELD_LABELS[f].split(' (')[0].lower() for f in s.fields)}." if s.fields else "")
        for s in ACTIONS
    )
    return f"""\
# daiban console — help

**↑/↓** and **PgUp/PgDn** scroll this help; **Esc** closes it and takes you back
where you were.

## Signing in
1. The cursor starts in **Username**. Type your username and press **Enter**:
   it is on your agent card; demo accounts are `a` + your unit's code, e.g.
   `a640502100` for 滨河镇 (also `dispatcher`, and `lead` + a county's code).
   Grey text in an empty box is only an example: type your own.
2. The cursor moves to **Password**. Type your password and press **Enter**.
   Demo accounts all use the password `demo` (unless whoever set up the server
   chose another with `DAIBAN_DEMO_PASSWORD`).
3. Your list opens: your unit's **queue** (a village agent sees **my cases**).
   A wrong password says so in red; after five tries wait a minute.

## Claiming a case from the queue
1. After signing in you are in **2 Unit queue** (press **2** to come back to it):
   every case waiting in your unit's queue, the most urgent first.
2. Look at the **SLA** column: `OVERDUE 2d` (red) is past its due time,
   `due 5h` (yellow) is close, `ok 4d` (green) has time, `paused` waits for the
   applicant. **Who** says who holds a case (`—`: nobody yet, `me`: you).
3. Move to the case with **↑/↓** (**/** searches a title or a reference such as
   `ZW-2026-000001`; **Enter** in the search box goes back to the list) and
   press **c** to claim it. A note says `ZW-… claimed`; the case moves to
   **1 My cases**.
4. If someone claimed it first, a red note says `case.already_claimed`: pick another.
5. Press **Enter** on a case to see it whole: applicant (ID and phone masked unless
   it is yours), materials with 容缺 deferrals and their due dates, due time and
   time left, and the full history. **Esc** goes back to the list.

## Acting on a case
Select a case (in a list or its detail) and press its key, or press **Ctrl+P** and
type the action's name. A form asks for what is required (a reason or a note);
**Enter** sends, **Esc** cancels. Dispatch and hand-over first ask *where*: a unit
in the tree (Space opens a branch, Enter picks) or a colleague (**↓** to the list
and **Enter**, or type a username). When the server refuses, a red note gives its
reason and code.

{keys}

## Materials and new cases
- In a case's detail, **m** opens its materials: for each, **Enter** opens the
  states (provided, missing, 容缺 deferred where the matter allows it). A deferral
  needs the applicant's signed commitment (告知承诺) and a due date no later than
  the case's. **Save** (or Enter in a box) sends; a refusal shows its code.
- In a list, **n** takes a new matter: the item (**Enter**, then type its name or
  code such as `N01`), the kind, a person with a resident ID or a firm with its
  credit code, a phone, the service mode and special groups (**Space** ticks).

## Finding cases
- **1 / 2 / 3**: my cases · my unit's queue · everything in my scope (with the unit
  tree: the number beside a unit counts its open cases; highlight a unit to list
  only its subtree).
- **/**: search title or reference. **f**: filter by status, item, kind, overdue.
  **F5**: reload.

## Offline
The bottom line shows **online** or **OFFLINE**, how many operations wait to be sent
(**pending**) and how many the server refused (**conflicts**). Offline, your actions
are kept and marked `↑` until they are synced; **Ctrl+S** syncs now; **F3** lists
conflicts.

## Dispatchers and county leads
**F2** opens the dashboard: load per unit down the tree and per agent, SLA breaches
and escalations; **p** previews a rebalancing plan, **a** applies it after you
confirm.

**Esc** closes this help. **Ctrl+Q** quits the console.
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
