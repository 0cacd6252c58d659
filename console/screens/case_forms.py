"""Forms that write a case: its materials checklist (容缺 deferrals), and a new case.

Each form checks what it can at once (the server's own checks, with the same codes),
then sends through the data client and stays open when the server (or, on a device, the
local rules) refuses, showing the code and putting the cursor in the box concerned.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from console.checks import check_materials, check_new_case
from console.data import Case
from console.format import CST, GROUP_LABELS, KIND_LABELS, MATERIAL_LABELS, MODE_LABELS
from hierarchy.errors import DaibanError
from hierarchy.i18n import _
from hierarchy.problem_words import say
from sync.wire import MaterialOut

if TYPE_CHECKING:
    from console.base import ConsoleBase


class Saved(Message):
    def __init__(self, case: Case) -> None:
        super().__init__()
        self.case = case


class Refused(Message):
    def __init__(self, error: DaibanError) -> None:
        super().__init__()
        self.error = error


class _CaseForm(ModalScreen[Case | None]):
    """Shared: Escape cancels, the worker sends, a refusal stays on the form."""

    CSS_PATH = "case_forms.tcss"
    BINDINGS = [Binding("escape", "cancel", "Cancel")]  # noqa: RUF012

    if TYPE_CHECKING:
        app: ConsoleBase

    #: Error ``field`` (as the server names it) → the id of the box to put the cursor in.
    FIELDS: dict[str, str] = {}  # noqa: RUF012

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#cancel")
    def cancel_pressed(self) -> None:
        self.dismiss(None)

    def show_error(self, error: DaibanError, focus: str | None = None) -> None:
        self.query_one("#error", Static).update(f"{say(error.code, error.message, error.data)} ({error.code})")
        self.query_one("#save", Button).disabled = False
        target = focus or self.FIELDS.get(str(error.data.get("field", "")))
        if target:
            self.query_one(f"#{target}").focus()

    def on_refused(self, message: Refused) -> None:
        self.show_error(message.error)

    def on_saved(self, message: Saved) -> None:
        self.dismiss(message.case)


# --- materials ----------------------------------------------------------------------------


def _state_options(deferrable: bool) -> list[tuple[str, str]]:
    states = ["provided", "missing", *(["deferred"] if deferrable else [])]
    return [(_(MATERIAL_LABELS[s]), s) for s in states]


class MaterialsForm(_CaseForm):
    """Each material provided, missing or 容缺 deferred (with the applicant's commitment
    and a due date no later than the case's)."""

    def __init__(self, case: Case) -> None:
        super().__init__()
        self.case = case
        self.case_due = case.due_at.astimezone(CST).date() if case.due_at else None

    def compose(self) -> ComposeResult:
        case = self.case
        due = f", due {self.case_due.isoformat()}" if self.case_due else ""
        with Vertical(classes="dialog"):
            yield Static(f"Materials — {case.ref or 'new case'}{due}", classes="dialog-title")
            yield Static(
                "Tab to a material, Enter opens its states. 容缺 (deferred, only where allowed) needs "
                "the applicant's signed commitment and a date no later than the case's due date.",
                classes="dialog-help",
            )
            with VerticalScroll(id="materials"):
                for i, m in enumerate(case.materials):
                    state = str(m.get("state", "missing"))
                    deferrable = bool(m.get("deferrable"))
                    with Horizontal(classes="row"):
                        name = str(m.get("name") or m.get("code"))
                        yield Label(name + (" · 可容缺" if deferrable else ""), classes="material-name")
                        yield Select(
                            _state_options(deferrable),
                            value=state if state != "deferred" or deferrable else "missing",
                            allow_blank=False,
                            id=f"state-{i}",
                            compact=True,
                        )
                    with Horizontal(classes="row deferral", id=f"deferral-{i}"):
                        yield Input(
                            str(m.get("commitment") or ""),
                            placeholder="告知承诺: what the applicant signed",
                            id=f"commitment-{i}",
                            compact=True,
                            max_length=500,
                        )
                        yield Input(
                            str(m.get("due") or (self.case_due.isoformat() if self.case_due else "")),
                            placeholder="YYYY-MM-DD",
                            id=f"due-{i}",
                            classes="due",
                            compact=True,
                            max_length=10,
                            # Tab from the commitment must not select the date for overwriting.
                            select_on_focus=False,
                        )
            yield Static("", id="error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        for i in range(len(self.case.materials)):
            self._show_deferral(i)
        if self.case.materials:
            self.query_one("#state-0", Select).focus()

    def _show_deferral(self, i: int) -> None:
        self.query_one(f"#deferral-{i}").display = self.query_one(f"#state-{i}", Select).value == "deferred"

    @on(Input.Changed)
    def typed(self) -> None:
        """A stale error goes as soon as the agent changes a field."""
        self.query_one("#error", Static).update("")

    @on(Select.Changed)
    def state_changed(self, event: Select.Changed) -> None:
        if event.select.id and event.select.id.startswith("state-"):
            i = int(event.select.id.removeprefix("state-"))
            self._show_deferral(i)
            if event.value == "deferred":
                self.query_one(f"#commitment-{i}", Input).focus()

    def patch(self) -> list[dict[str, Any]]:
        """The materials whose state, commitment or due date changed."""
        out: list[dict[str, Any]] = []
        for i, m in enumerate(self.case.materials):
            state = str(self.query_one(f"#state-{i}", Select).value)
            entry: dict[str, Any] = {"code": m.get("code"), "state": state}
            if state == "deferred":
                entry["commitment"] = self.query_one(f"#commitment-{i}", Input).value.strip()
                entry["due"] = self.query_one(f"#due-{i}", Input).value.strip()
            before = {"code": m.get("code"), "state": m.get("state", "missing")}
            if m.get("state") == "deferred":
                before |= {"commitment": m.get("commitment", ""), "due": m.get("due", "")}
            if entry != before:
                out.append(entry)
        return out

    @on(Button.Pressed, "#save")
    @on(Input.Submitted)
    def action_save(self) -> None:
        patch = self.patch()
        if not patch:
            self.dismiss(None)
            return
        try:
            check_materials(self.case, patch)
        except DaibanError as error:
            self.show_error(error, self._box_of(error, patch))
            return
        self.query_one("#error", Static).update("saving …")
        self.query_one("#save", Button).disabled = True
        self.send(patch)

    def _box_of(self, error: DaibanError, patch: list[dict[str, Any]]) -> str | None:
        """The box to fix: the first deferral missing what ``error`` is about."""
        codes = [str(m.get("code")) for m in self.case.materials]
        for entry in patch:
            if entry["state"] != "deferred":
                continue
            i = codes.index(str(entry["code"]))
            if error.code == "case.commitment_required" and not entry.get("commitment"):
                return f"commitment-{i}"
            if error.code in ("case.deferral_due_invalid", "case.deferral_after_due") and not _due_ok(
                entry.get("due"), self.case_due
            ):
                return f"due-{i}"
        return None

    @work(exclusive=True)
    async def send(self, patch: list[dict[str, Any]]) -> None:
        try:
            case = await self.app.client.edit(str(self.case.id), materials=patch)
        except DaibanError as error:
            self.post_message(Refused(error))
            return
        self.post_message(Saved(case))


def _due_ok(value: object, case_due: date | None) -> bool:
    try:
        due = date.fromisoformat(str(value))
    except ValueError:
        return False
    return case_due is None or due <= case_due


# --- a new case --------------------------------------------------------------------------

GROUP_ORDER = ("elderly", "disabled", "pregnant", "low_income", "veteran", "key_project")


class Tick(Checkbox):
    """A checkbox whose state reads without colour: ``✓`` when ticked, blank when not."""

    def watch_value(self) -> None:
        super().watch_value()
        self.BUTTON_INNER = "✓" if self.value else " "
        self.refresh()

    def on_mount(self) -> None:
        self.BUTTON_INNER = "✓" if self.value else " "


class NewCaseForm(_CaseForm):
    """Take a new matter: the item, the applicant (a person with a resident ID or a firm
    with its credit code), a phone, the kind, the service mode and special groups."""

    FIELDS = {  # noqa: RUF012
        "item_code": "item",
        "applicant.name": "name",
        "applicant.resident_id": "ident",
        "applicant.credit_code": "ident",
        "applicant.phone": "phone",
        "title": "title",
        "project": "project",
    }

    def compose(self) -> ComposeResult:
        items = sorted(self.app.items.values(), key=lambda i: i.code)
        with Vertical(classes="dialog"):
            yield Static("New case — take a matter (一件事)", classes="dialog-title")
            yield Static("Tab moves between boxes; Enter on a list opens it; Save sends.", classes="dialog-help")
            with Horizontal(classes="row"):
                yield Label("Item *")
                yield Select(
                    [(f"{i.name} ({i.code.split('-')[0]})", i.code) for i in items],
                    prompt="pick the matter: Enter, then type its name or code (N01 …)",
                    id="item",
                    compact=True,
                )
            yield Static("", id="checklist", classes="dialog-help")
            with Horizontal(classes="row"):
                yield Label("Kind")
                yield Select(
                    [(_(label), code) for code, label in KIND_LABELS.items()],
                    value="service",
                    allow_blank=False,
                    id="kind",
                    compact=True,
                )
            with Horizontal(classes="row"):
                yield Label("Applicant")
                yield Select(
                    [("person (居民)", "person"), ("firm (企业)", "firm")],
                    value="person",
                    allow_blank=False,
                    id="type",
                    compact=True,
                )
            with Horizontal(classes="row"):
                yield Label("Name *")
                yield Input(placeholder="applicant's or firm's name", id="name", max_length=100, compact=True)
            with Horizontal(classes="row"):
                yield Label("Resident ID *", id="ident-label")
                yield Input(
                    placeholder="18 characters: 17 digits, then a digit or X", id="ident", max_length=18, compact=True
                )
            with Horizontal(classes="row"):
                yield Label("Phone")
                yield Input(placeholder="mobile, 11 digits", id="phone", max_length=20, compact=True)
            with Horizontal(classes="row"):
                yield Label("Service mode")
                yield Select(
                    [(_(label), code) for code, label in MODE_LABELS.items()],
                    value="assist",
                    allow_blank=False,
                    id="mode",
                    compact=True,
                )
            with Horizontal(classes="row groups"):
                yield Label("Groups")
                for code in GROUP_ORDER[:3]:
                    yield Tick(_(GROUP_LABELS[code]), id=f"group-{code}", compact=True)
            with Horizontal(classes="row groups"):
                yield Label("")
                for code in GROUP_ORDER[3:]:
                    yield Tick(_(GROUP_LABELS[code]), id=f"group-{code}", compact=True)
            with Horizontal(classes="row"):
                yield Label("Title")
                yield Input(placeholder="optional: the item's name if empty", id="title", max_length=200, compact=True)
            with Horizontal(classes="row", id="project-row"):
                yield Label("Project *")
                yield Input(placeholder="the investment project's name", id="project", max_length=200, compact=True)
                yield Input(placeholder="firm", id="project-firm", max_length=200, compact=True)
            yield Static("", id="error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", variant="primary", id="save", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#project-row").display = False
        self.query_one("#item", Select).focus()

    @on(Select.Changed, "#item")
    def item_changed(self, event: Select.Changed) -> None:
        item = self.app.items.get(str(event.value))
        # 一次性告知: everything the applicant hands in for this item, at once.
        self.query_one("#checklist", Static).update(checklist(item.materials) if item is not None else "")
        if item is not None and item.lifecycle:
            self.query_one("#type", Select).value = "firm" if item.lifecycle == "enterprise" else "person"

    @on(Select.Changed, "#type")
    def type_changed(self, event: Select.Changed) -> None:
        firm = event.value == "firm"
        self.query_one("#ident-label", Label).update("Credit code *" if firm else "Resident ID *")
        self.query_one("#ident", Input).placeholder = (
            "unified social credit code, 18 characters" if firm else "18 characters: 17 digits, then a digit or X"
        )

    @on(Select.Changed, "#kind")
    def kind_changed(self, event: Select.Changed) -> None:
        self.query_one("#project-row").display = event.value == "project_issue"

    def body(self) -> dict[str, Any]:
        def text(box: str) -> str:
            return self.query_one(f"#{box}", Input).value.strip()

        item = self.query_one("#item", Select).value
        kind = str(self.query_one("#kind", Select).value)
        applicant_type = str(self.query_one("#type", Select).value)
        applicant: dict[str, Any] = {"type": applicant_type, "name": text("name")}
        applicant["credit_code" if applicant_type == "firm" else "resident_id"] = text("ident")
        if text("phone"):
            applicant["phone"] = text("phone")
        body: dict[str, Any] = {
            "item_code": None if item is Select.NULL else str(item),
            "kind": kind,
            "applicant": applicant,
            "service_mode": str(self.query_one("#mode", Select).value),
            "groups": [code for code in GROUP_ORDER if self.query_one(f"#group-{code}", Tick).value],
        }
        if text("title"):
            body["title"] = text("title")
        if kind == "project_issue":
            body["project"] = {"name": text("project"), "firm": text("project-firm")}
        return body

    @on(Button.Pressed, "#save")
    @on(Input.Submitted)
    def action_save(self) -> None:
        try:
            body = check_new_case(self.body(), self.app.items)
        except DaibanError as error:
            self.show_error(error)
            return
        self.query_one("#error", Static).update("saving …")
        self.query_one("#save", Button).disabled = True
        self.send(body)

    @work(exclusive=True)
    async def send(self, body: dict[str, Any]) -> None:
        try:
            case = await self.app.client.create(body)
        except DaibanError as error:
            self.post_message(Refused(error))
            return
        self.post_message(Saved(case))


def checklist(materials: list[MaterialOut]) -> str:
    """The item's materials on one line (一次性告知); 容缺 marks those that may come later."""
    names = [m.name + ("(容缺)" if m.deferrable else "") for m in materials]
    return _("Checklist: {materials}").format(materials="、".join(names)) if names else ""
