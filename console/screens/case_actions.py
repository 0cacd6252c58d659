"""Acting on a case from any screen that shows one: key → pickers → form → client.act.

A screen mixes :class:`CaseActions` in and says which case is selected; the rest (the
modal forms, the worker, the notification when the server refuses) is shared.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding

from console.actions import ACTIONS, BY_NAME, ActionSpec
from console.messages import ActionDone, Failed
from hierarchy.errors import DaibanError

if TYPE_CHECKING:
    from console.app import DaibanConsole
    from console.data import Case

#: Actions whose key shows in the footer (the rest are in the palette and on F1).
SHOWN = frozenset({"claim", "escalate", "handover", "resolve"})


def case_bindings() -> list[Binding]:
    return [
        Binding(spec.key, f"case('{spec.name}')", spec.label.split(" (")[0], show=spec.name in SHOWN)
        for spec in ACTIONS
    ]


@dataclass(frozen=True, slots=True)
class CaseTarget:
    id: uuid.UUID
    label: str
    status: str
    owner_unit: str


class CaseActions:
    """Mixin for screens that act on one selected case."""

    if TYPE_CHECKING:
        app: DaibanConsole

        def notify(self, message: str, **kwargs: Any) -> None: ...
        def post_message(self, message: Any) -> bool: ...

    def selected_case(self) -> CaseTarget | None:
        raise NotImplementedError

    def after_action(self, case: Case) -> None:
        """Called once an action went through (or was queued offline)."""

    def current_status(self) -> str | None:
        target = self.selected_case()
        return target.status if target else None

    def action_case(self, name: str) -> None:
        self.start_action(name)

    def start_action(self, name: str) -> None:
        target = self.selected_case()
        if target is None:
            self.notify("Select a case first.", severity="warning")
            return
        self.perform_action(BY_NAME[name], target)

    @work(exclusive=True, group="act")
    async def perform_action(self, spec: ActionSpec, target: CaseTarget) -> None:
        from console.screens.forms import ActionForm
        from console.screens.pickers import HandoverPicker, UnitPicker

        app = self.app
        args: dict[str, Any] = {}
        if spec.target == "unit":
            assert app.me is not None
            unit = await app.push_screen_wait(
                UnitPicker(f"{spec.label}: send {target.label} to", root=app.me.unit_code, exclude=target.owner_unit)
            )
            if unit is None:
                return
            args["unit"] = unit
        elif spec.target == "agent_or_unit":
            choice = await app.push_screen_wait(HandoverPicker(target.label, target.owner_unit))
            if choice is None:
                return
            args.update(choice)
        if spec.fields:
            answers = await app.push_screen_wait(ActionForm(spec, target.label, args))
            if answers is None:
                return
            args.update(answers)
        try:
            case = await app.client.act(str(target.id), spec.name, **args)
            pending = await app.client.is_pending(str(case.id))
        except DaibanError as error:
            self.post_message(Failed(spec.name, error))
            return
        self.post_message(ActionDone(spec.name, case, pending))

    def on_action_done(self, message: ActionDone) -> None:
        spec = BY_NAME[message.action]
        label = message.case.ref or str(message.case.id)[:8]
        if message.pending:
            self.notify(f"{label} {spec.done} here; it syncs when the network is back", severity="warning")
        else:
            self.notify(f"{label} {spec.done}")
        self.app.data_version += 1
        self.after_action(message.case)
        if message.pending:
            self.app.sync_quietly()
        else:
            self.app.refresh_status()

    def saved(self, case: Case | None, what: str) -> None:
        """A form wrote ``case`` (None: cancelled): say so, reload, sync what is pending."""
        if case is not None:
            self.app.data_version += 1
            self._report_saved(case, what)

    @work(group="saved")
    async def _report_saved(self, case: Case, what: str) -> None:
        label = case.ref or f"new case {str(case.id)[:8]}"
        try:
            pending = await self.app.client.is_pending(str(case.id))
        except DaibanError:
            pending = False
        if pending:
            self.notify(f"{label}: {what} here; it syncs when the network is back", severity="warning")
            self.app.sync_quietly()
        else:
            self.notify(f"{label}: {what}")
        self.after_action(case)

    def refused(self, message: Failed) -> bool:
        """Tell the agent the server said no; True when ``message`` was about an action."""
        spec = BY_NAME.get(message.what)
        if spec is None:
            return False
        self.notify(
            f"{spec.label} refused: {message.error.message}",
            title=message.error.code,
            severity="error",
            timeout=10,
        )
        return True
