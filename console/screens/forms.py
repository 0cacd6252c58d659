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
from console.data import OPEN_FILTER, CaseFilter, Item
from console.format import KIND_LABELS, RATING_LABELS, STATUS_LABELS
from hierarchy.i18n import _

TEXT_FIELDS = ("reason", "note", "comment")


class ActionForm(ModalScreen[dict[str, Any] | None]):
    """Asks for what an action needs; Enter sends, Escape cancels."""

    CSS_PATH = "forms.tcss"
    BINDINGS = [Binding("escape", "cancel", _("Cancel"))]  # noqa: RUF012

    def __init__(
        self,
        spec: ActionSpec,
        case_label: str,
        *,
        where: str = "",
        values: dict[str, Any] | None = None,
        error: str = "",
    ) -> None:
        super().__init__()
        self.spec = spec
        self.case_label = case_label
        #: Where the case goes, in words (``to 宣和镇``).
        self.where = where
        #: What was typed before a refusal, shown again with ``error``.
        self.values = values or {}
        self.error = error

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(f"{_(self.spec.label)} — {self.case_label}", classes="dialog-title")
            yield Static(_(self.spec.help), classes="dialog-help")
            if self.where:
                yield Static(self.where, classes="dialog-target")
            for field in self.spec.fields:
                mark = " *" if field in self.spec.required else ""
                yield Label(_(FIELD_LABELS[field]) + mark)
                value = self.values.get(field)
                if field == "approve":
                    yield Select(
                        [(_("approve"), True), (_("reject"), False)],
                        value=True if value is None else bool(value),
                        allow_blank=False,
                        id=field,
                        compact=True,
                    )
                elif field in ("days", "rating"):
                    hint = "  ".join(f"{k} {v}" for k, v in RATING_LABELS.items()) if field == "rating" else "1–10"
                    text = "" if value is None else str(value)
                    yield Input(text, type="integer", placeholder=hint, id=field, compact=True)
                else:
                    text = "" if value is None else str(value)
                    yield Input(text, placeholder=_(FIELD_LABELS[field]), id=field, compact=True, max_length=2000)
            yield Static(self.error, id="error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("OK"), variant="primary", id="ok", compact=True)
                yield Button(_("Cancel"), id="cancel", compact=True)

    @on(Input.Changed)
    def typed(self, event: Input.Changed) -> None:
        """An error about a field goes once the agent changes what is typed."""
        before = self.values.get(event.input.id or "")
        if before is not None and str(before) == event.value:
            return  # the form shown again with what was typed: the refusal stays
        self.query_one("#error", Static).update("")

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
                    return self._error(field, _("{field} is required").format(field=_(FIELD_LABELS[field])))
                continue
            if field in TEXT_FIELDS:
                values[field] = raw
                continue
            try:
                number = int(raw)
            except ValueError:
                return self._error(field, _("{field}: a whole number").format(field=_(FIELD_LABELS[field])))
            low, high = (1, 5) if field == "rating" else (1, 10)
            if not low <= number <= high:
                return self._error(
                    field, _("{field}: {low} to {high}").format(field=_(FIELD_LABELS[field]), low=low, high=high)
                )
            values[field] = number
        self.dismiss(values)

    def _error(self, field: str, text: str) -> None:
        self.query_one("#error", Static).update(text)
        self.query_one(f"#{field}").focus()


class ConfirmScreen(ModalScreen[bool]):
    """A yes/no question: y or Enter on Yes confirms, n or Escape declines."""

    CSS_PATH = "forms.tcss"
    BINDINGS = [  # noqa: RUF012
        Binding("y", "answer(True)", _("Yes")),
        Binding("n", "answer(False)", _("No")),
        Binding("escape", "answer(False)", _("No"), show=False),
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
                yield Button(_("Yes [y]"), variant="warning", id="yes", compact=True)
                yield Button(_("No [n]"), id="no", compact=True)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


ANY = "any"
#: The status choices beyond single statuses: open ones (the default list) and everything.
OPEN_CHOICE = "open"
ALL_CHOICE = "all"


def status_choice(status: tuple[str, ...]) -> str:
    if not status:
        return ALL_CHOICE
    if tuple(sorted(status)) == OPEN_FILTER:
        return OPEN_CHOICE
    return status[0]


class FilterForm(ModalScreen[CaseFilter | None]):
    """Status, item, kind and overdue filters of the case list."""

    CSS_PATH = "forms.tcss"
    BINDINGS = [Binding("escape", "cancel", _("Cancel"))]  # noqa: RUF012

    def __init__(self, current: CaseFilter, items: list[Item]) -> None:
        super().__init__()
        self.current = current
        self.item_list = items

    def compose(self) -> ComposeResult:
        c = self.current
        overdue = ANY if c.overdue is None else ("yes" if c.overdue else "no")
        with Vertical(classes="dialog"):
            yield Static(_("Filter cases"), classes="dialog-title")
            with Horizontal(classes="field"):
                yield Label(_("Status"))
                yield Select(
                    [(_("open (not finished)"), OPEN_CHOICE), (_("all statuses"), ALL_CHOICE)]
                    + [(_(label), code) for code, label in STATUS_LABELS.items()],
                    value=status_choice(c.status),
                    allow_blank=False,
                    id="status",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label(_("Item"))
                yield Select(
                    [(f"{i.name}", i.code) for i in self.item_list],
                    value=c.item or Select.NULL,
                    prompt=_("any item"),
                    id="item",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label(_("Kind"))
                yield Select(
                    [(_(label), code) for code, label in KIND_LABELS.items()],
                    value=c.kind or Select.NULL,
                    prompt=_("any kind"),
                    id="kind",
                    compact=True,
                )
            with Horizontal(classes="field"):
                yield Label(_("Overdue"))
                yield Select(
                    [(_("any"), ANY), (_("overdue only"), "yes"), (_("not overdue"), "no")],
                    value=overdue,
                    allow_blank=False,
                    id="overdue",
                    compact=True,
                )
            with Horizontal(classes="dialog-buttons"):
                yield Button(_("Apply"), variant="primary", id="apply", compact=True)
                yield Button(_("Clear"), id="clear", compact=True)
                yield Button(_("Cancel"), id="cancel", compact=True)

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        elif event.button.id == "clear":
            self.dismiss(CaseFilter(status=OPEN_FILTER, q=self.current.q, unit=self.current.unit))
        else:
            self.dismiss(self.chosen())

    def chosen(self) -> CaseFilter:
        def value(name: str) -> str | None:
            v = self.query_one(f"#{name}", Select).value
            return None if v is Select.NULL else str(v)

        status = value("status")
        overdue = value("overdue")
        statuses = OPEN_FILTER if status == OPEN_CHOICE else () if status in (None, ALL_CHOICE) else (status,)
        return CaseFilter(
            status=statuses,
            item=value("item"),
            kind=value("kind"),
            overdue=None if overdue in (None, ANY) else overdue == "yes",
            unit=self.current.unit,
            q=self.current.q,
        )
