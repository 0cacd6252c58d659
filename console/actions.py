"""How the console presents each case action: its key, its words, what its form asks.

Which actions a case allows is not decided here: :func:`allowed` asks the rules
(:func:`hierarchy.allowed.allowed_actions`), so the footer, the palette and the help never
offer what the status machine would refuse. Labels are marked for the catalog and
translated where shown (``_(spec.label)``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from hierarchy.allowed import allowed_actions
from hierarchy.cases import Actor, CaseState
from hierarchy.i18n import N_
from hierarchy.labels import ACTION_LABELS
from hierarchy.machine import Action

Field = Literal["reason", "note", "days", "rating", "comment", "approve"]
Target = Literal["unit", "agent_or_unit"]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str
    label: str
    key: str
    help: str
    #: Form fields, in order; required ones are listed again in ``required``.
    fields: tuple[Field, ...] = ()
    required: tuple[Field, ...] = ()
    #: Who or where the case goes, picked before the form.
    target: Target | None = None
    #: What the notification says when it worked.
    done: str = ""
    #: One key changes the case at once: ask first.
    confirm: bool = False


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "claim", ACTION_LABELS[Action.CLAIM], "c", N_("Take a queued case of your unit"),
        done=N_("claimed"), confirm=True,
    ),
    ActionSpec(
        "release", ACTION_LABELS[Action.RELEASE], "l", N_("Put your case back in the unit's queue"),
        done=N_("released"), confirm=True,
    ),
    ActionSpec(
        "escalate", ACTION_LABELS[Action.ESCALATE], "e", N_("Send the case up to the parent unit, with a reason"),
        fields=("reason",), required=("reason",), done=N_("escalated"),
    ),
    ActionSpec(
        "return", ACTION_LABELS[Action.RETURN], "b", N_("Send a queued case back to the unit that sent it: not ours"),
        fields=("reason",), required=("reason",), done=N_("returned"),
    ),
    ActionSpec(
        "dispatch", ACTION_LABELS[Action.DISPATCH], "d", N_("Send the case to a unit in your subtree, with a reason"),
        fields=("reason",), required=("reason",), target="unit", done=N_("dispatched"),
    ),
    ActionSpec(
        "handover", ACTION_LABELS[Action.HANDOVER], "h",
        N_("Give the case to another agent of the unit, or to another unit, with a note"),
        fields=("note",), required=("note",), target="agent_or_unit", done=N_("handed over"),
    ),
    ActionSpec(
        "wait", ACTION_LABELS[Action.WAIT], "w",
        N_("Pause the clock while the applicant brings something (at most 5 working days)"),
        fields=("reason",), required=("reason",), done=N_("paused"),
    ),
    ActionSpec(
        "resume", ACTION_LABELS[Action.RESUME], "u", N_("Start the clock again"), done=N_("resumed"), confirm=True
    ),
    ActionSpec(
        "extend", ACTION_LABELS[Action.EXTEND], "x",
        N_("Ask the parent unit for more working days, once, before the due time"),
        fields=("days", "reason"), required=("days", "reason"), done=N_("extension requested"),
    ),
    ActionSpec(
        "approve-extension", ACTION_LABELS[Action.APPROVE_EXTENSION], "a",
        N_("Approve or reject a requested extension (parent unit)"),
        fields=("approve",), required=("approve",), done=N_("extension decided"),
    ),
    ActionSpec(
        "resolve", ACTION_LABELS[Action.RESOLVE], "r", N_("Mark the matter done, with a note of what was done"),
        fields=("note",), required=("note",), done=N_("resolved"),
    ),
    ActionSpec(
        "confirm", ACTION_LABELS[Action.CONFIRM], "k",
        N_("Record the applicant's feedback and rating; 不满意 or worse opens a review"),
        fields=("rating", "comment"), required=("rating",), done=N_("confirmed"),
    ),
    ActionSpec(
        "reopen", ACTION_LABELS[Action.REOPEN], "o", N_("Reopen a resolved or closed case within 15 days"),
        fields=("reason",), required=("reason",), done=N_("reopened"),
    ),
    ActionSpec(
        "cancel", ACTION_LABELS[Action.CANCEL], "ctrl+k", N_("Cancel the case (creator or dispatcher), with a reason"),
        fields=("reason",), required=("reason",), done=N_("cancelled"),
    ),
)  # fmt: skip

BY_NAME = {spec.name: spec for spec in ACTIONS}

FIELD_LABELS: dict[Field, str] = {
    "reason": N_("Reason"),
    "note": N_("Note"),
    "days": N_("Working days (1–10)"),
    "rating": N_("Rating 1–5 (5 非常满意 … 1 非常不满意)"),
    "comment": N_("Applicant's comment"),
    "approve": N_("Approve the extension?"),
}


def allowed(case: CaseState, actor: Actor, now: datetime) -> list[ActionSpec]:
    """The actions ``actor`` may take on ``case`` now, as the rules say."""
    names = {action.value for action in allowed_actions(case, actor, now)}
    return [spec for spec in ACTIONS if spec.name in names]
