"""Acting on a case from any screen that shows one: key → confirmation or pickers → form →
client.act.

A screen mixes :class:`CaseActions` in and says which case is selected; the rest (asking
the rules which actions the case allows this agent, the modal forms, the worker, the
notification when the server refuses) is shared. Keys of actions the case does not allow
are hidden from the footer and do nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import work
from textual.binding import Binding

from console.actions import ACTIONS, BY_NAME, ActionSpec, allowed
from console.messages import ActionDone, Failed
from console.rules import actor_of
from console.screens.forms import ActionForm, ConfirmScreen
from console.screens.pickers import HandoverPicker, UnitPicker
from hierarchy.cases import CaseState
from hierarchy.errors import DaibanError
from hierarchy.i18n import _
from hierarchy.problem_words import say

if TYPE_CHECKING:
    from console.base import ConsoleBase
    from console.data import Case

#: Actions whose key may show in the footer when allowed (the rest: palette and F1).
SHOWN = frozenset({"claim", "release", "escalate", "handover", "resolve", "resume"})


def case_bindings() -> list[Binding]:
    return [
        Binding(spec.key, f"case('{spec.name}')", _(spec.label), show=spec.name in SHOWN) for spec in ACTIONS
    ]


@dataclass(frozen=True, slots=True)
class CaseTarget:
    id: uuid.UUID
    label: str
    status: str
    owner_unit: str
    #: The case as the rules see it (what this agent may do with it).
    state: CaseState | None = None


class CaseActions:
    """Mixin for screens that act on one selected case."""

    if TYPE_CHECKING:
        app: ConsoleBase

        def notify(self, message: str, **kwargs: Any) -> None: ...
        def post_message(self, message: Any) -> bool: ...
        def refresh_bindings(self) -> None: ...

    def selected_case(self) -> CaseTarget | None:
        raise NotImplementedError

    def after_action(self, case: Case) -> None:
        """Called once an action went through (or was queued offline)."""

    def current_status(self) -> str | None:
        target = self.selected_case()
        return target.status if target else None

    def allowed_specs(self) -> list[ActionSpec]:
        """The actions the selected case allows the signed-in agent, as the rules say."""
        target = self.selected_case()
        actor = actor_of(self.app.me, self.app.units)
        if target is None or target.state is None or actor is None:
            return []
        return allowed(target.state, actor, self.app.clock())

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Textual asks before showing or running a binding: case actions only when allowed."""
        if action == "case" and parameters:
            return parameters[0] in {spec.name for spec in self.allowed_specs()}
        return True

    def action_case(self, name: str) -> None:
        self.start_action(name)

    def start_action(self, name: str) -> None:
        target = self.selected_case()
        if target is None:
            self.notify(_("Select a case first."), severity="warning")
            return
        self.perform_action(BY_NAME[name], target)

    def _parent_name(self, target: CaseTarget) -> str:
        path = target.state.owner_path if target.state is not None else ""
        codes = path.strip("/").split("/")
        return self.app.unit_name(codes[-2]) if len(codes) > 1 else ""

    @work(exclusive=True, group="act")
    async def perform_action(self, spec: ActionSpec, target: CaseTarget) -> None:
        app = self.app
        label = _(spec.label)
        if spec.confirm:
            question = _("{action} {case}?").format(action=label, case=target.label)
            if not await app.push_screen_wait(ConfirmScreen(question, _(spec.help))):
                return
        args: dict[str, Any] = {}
        where = ""
        if spec.name == "escalate":
            parent = self._parent_name(target)
            where = _("to {unit}").format(unit=parent) if parent else ""
        if spec.target == "unit":
            assert app.me is not None
            title = _("{action}: send {case} to").format(action=label, case=target.label)
            unit = await app.push_screen_wait(UnitPicker(title, root=app.me.unit_code, exclude=target.owner_unit))
            if unit is None:
                return
            args["unit"] = unit
            where = _("to {unit}").format(unit=app.unit_name(unit))
        elif spec.target == "agent_or_unit":
            choice = await app.push_screen_wait(HandoverPicker(target.label, target.owner_unit))
            if choice is None:
                return
            args.update(choice)
            named = app.unit_name(choice["unit"]) if "unit" in choice else app.agent_name(str(choice.get("agent", "")))
            where = _("to {unit}").format(unit=named)
        answers: dict[str, Any] = {}
        error = ""
        while True:
            if spec.fields:
                form = ActionForm(spec, target.label, where=where, values=answers, error=error)
                filled = await app.push_screen_wait(form)
                if filled is None:
                    return
                answers = filled
            try:
                case = await app.client.act(str(target.id), spec.name, **args, **answers)
                pending = await app.client.is_pending(str(case.id))
            except DaibanError as refusal:
                if not spec.fields or refusal.status >= 500:
                    self.post_message(Failed(spec.name, refusal))
                    return
                # The form comes back with what was typed and why it was refused.
                error = f"{say(refusal.code, refusal.message, refusal.data)} ({refusal.code})"
                continue
            self.post_message(ActionDone(spec.name, case, pending))
            return

    def on_action_done(self, message: ActionDone) -> None:
        spec = BY_NAME[message.action]
        label = message.case.ref or str(message.case.id)[:8]
        if message.pending:
            self.notify(
                _("{case} {done} here; it syncs when the network is back").format(case=label, done=_(spec.done)),
                severity="warning",
            )
        else:
            self.notify(_("{case} {done}").format(case=label, done=_(spec.done)))
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
        label = case.ref or _("new case {id}").format(id=str(case.id)[:8])
        try:
            pending = await self.app.client.is_pending(str(case.id))
        except DaibanError:
            pending = False
        if pending:
            self.notify(
                _("{case}: {what} here; it syncs when the network is back").format(case=label, what=what),
                severity="warning",
            )
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
            _("{action} refused: {why}").format(
                action=_(spec.label), why=say(message.error.code, message.error.message, message.error.data)
            ),
            title=message.error.code,
            severity="error",
            timeout=10,
        )
        return True
