"""Modal forms: an action's reason or note, a yes/no confirmation, the list filters."""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from console.actions import FIELD_LABELS, ActionSpec
from console.data import CaseFilter, Item
from console.format import KIND_LABELS, RATING_LABELS, STATUS_LABELS

TEXT_FIELDS = ("reason", "note", "comment")


class ActionForm(ModalScreen[dict[str, Any] | None]):
    """Asks for what an action needs; Enter sends, Escape cancels."""

    CSS_PATH = "forms.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]  # noqa: RUF012

    def __init__(self, spec: ActionSpec, case_label: str, chosen: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.case_label = case_label
        self.chosen = chosen or {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"{self.spec.label} — {self.case_label}", classes="dialog-title")
            yield Static(self.spec.help, classes="dialog-help")
            if self.chosen:
                target = ", ".join(f"{k}: {v}" for k, v in self.chosen.items())
                yield Static(f"to {target}", classes="dialog-help")
            for field in self.spec.fields:
                mark = " *" if field in self.spec.required else ""
                yield Label(FIELD_LABELS[field] + mark)
                if field == "approve":
                    yield Select(
                        [("approve", True), ("reject", False)], value=True, allow_blank=False, id=field, compact=True
                    )
                elif field in ("days", "rating"):
                    hint = "  ".join(f"{k} {v}" for k, v in RATING_LABELS.items()) if field == "rating" else "1–10"
                    yield Input(type="integer", placeholder=hint, id=field, compact=True)
                else:
                    yield Input(placeholder=FIELD_LABELS[field], id=field, compact=True, max_length=2000)
            yield Static("", id="error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", variant="primary", id="ok", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#ok")
    @on(Input.Submitted)
    def submit(self) -> None:
        values: dict[str, Any] = {}
        for field in self.spec.fields:
            if field == "approve":
                values[field] = bool(self.query_one(f"#{field}", Select).value)
                continue
            raw = self.query_one(f"#{field}", Input).value.strip()
            if not raw:
                if field in self.spec.required:
                    return self._error(field, f"{FIELD_LABELS[field]} is required")
                continue
            if field in TEXT_FIELDS:
                values[field] = raw
                continue
            try:
                number = int(raw)
            except ValueError:
                return self._error(field, f"{FIELD_LABELS[field]}: a whole number")
            low, high = (1, 5) if field == "rating" else (1, 10)
            if not low <= number <= high:
                return self._error(field, f"{FIELD_LABELS[field]}: {low} to {high}")
            values[field] = number
        self.dismiss(values)

    def _error(self, field: str, text: str) -> None:
        self.query_one("#error", Static).update(text)
        self.query_one(f"#{field}").focus()


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: y or Enter on Yes confirms, n or Escape declines."""

    CSS_PATH = "forms.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str, detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question, classes="dialog-title")
            if self.detail:
                yield Static(self.detail, classes="dialog-help")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes [y]", variant="warning", id="yes", compact=True)
                yield Button("No [n]", id="no", compact=True)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


ANY = "any"


class FilterForm(ModalScreen[CaseFilter | None]):
    """Status, item, kind and overdue filters of the case list."""

    CSS_PATH = "forms.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]  # noqa: RUF012

    def __init__(self, current: CaseFilter, items: list[Item]) -> None:
        super().__init__()
        self.current = current
        self.item_list = items

    def compose(self) -> ComposeResult:
        c = self.current
        overdue = ANY if c.overdue is None else ("yes" if c.overdue else "no")
        with Vertical(classes="dialog"):
            yield Static("Filter cases", classes="dialog-title")
            with Horizontal(classes="field"):
                yield Label("Status")
                yield Select(
                    [(label, code) for code, label in STATUS_LABELS.items()],
                    value=c.status[0] if c.status else Select.NULL,
                    prompt="any status",
                    id="status",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label("Item")
                yield Select(
                    [(f"{i.name}", i.code) for i in self.item_list],
                    value=c.item or Select.NULL,
                    prompt="any item",
                    id="item",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label("Kind")
                yield Select(
                    [(label, code) for code, label in KIND_LABELS.items()],
                    value=c.kind or Select.NULL,
                    prompt="any kind",
                    id="kind",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label("Overdue")
                yield Select(
                    [("any", ANY), ("overdue only", "yes"), ("not overdue", "no")],
                    value=overdue,
                    allow_blank=False,
                    id="overdue",
                    compact=True,
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply", variant="primary", id="apply", compact=True)
                yield Button("Clear", id="clear", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "clear":
            self.dismiss(CaseFilter(q=self.current.q, unit=self.current.unit))
        else:
            self.dismiss(self.chosen())

    def chosen(self) -> CaseFilter:
        def value(name: str) -> str | None:
            v = self.query_one(f"#{name}", Select).value
            return None if v is Select.NULL else str(v)

        status = value("status")
        overdue = value("overdue")
        return CaseFilter(
            status=(status,) if status else (),
            item=value("item"),
            kind=value("kind"),
            overdue=None if overdue in (None, ANY) else overdue == "yes",
            unit=self.current.unit,
            q=self.current.q,
        )
