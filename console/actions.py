"""Every case action the console offers: its key, its words, and what it asks for.

One table drives the key bindings, the command palette, the forms and the help screen,
so they never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Field = Literal["reason", "note", "days", "rating", "comment", "approve"]
Target = Literal["unit", "agent_or_unit"]


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str
    label: str
    key: str
    help: str
    #: Statuses in which the action can make sense (the server has the final word).
    statuses: frozenset[str]
    #: Form fields, in order; the first text field is required.
    fields: tuple[Field, ...] = ()
    required: tuple[Field, ...] = ()
    #: Who or where the case goes, picked before the form.
    target: Target | None = None
    #: What the notification says when it worked.
    done: str = ""


_OPEN = frozenset({"queued", "in_progress"})

ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("claim", "Claim", "c", "Take a queued case of your unit", frozenset({"queued"}), done="claimed"),
    ActionSpec(
        "release", "Release", "l", "Put your case back in the unit's queue", frozenset({"in_progress"}), done="released"
    ),
    ActionSpec(
        "escalate",
        "Escalate",
        "e",
        "Send the case up to the parent unit, with a reason",
        _OPEN,
        fields=("reason",),
        required=("reason",),
        done="escalated",
    ),
    ActionSpec(
        "return",
        "Return (退回)",
        "b",
        "Send a queued case back to the unit that sent it: not ours",
        frozenset({"queued"}),
        fields=("reason",),
        required=("reason",),
        done="returned",
    ),
    ActionSpec(
        "dispatch",
        "Dispatch down (转办)",
        "d",
        "Send the case to a unit in your subtree",
        _OPEN,
        fields=("reason",),
        target="unit",
        done="dispatched",
    ),
    ActionSpec(
        "handover",
        "Hand over",
        "h",
        "Give the case to another agent of the unit, or to another unit, with a note",
        _OPEN,
        fields=("note",),
        required=("note",),
        target="agent_or_unit",
        done="handed over",
    ),
    ActionSpec(
        "wait",
        "Wait for applicant",
        "w",
        "Pause the clock while the applicant brings something (at most 5 working days)",
        frozenset({"in_progress"}),
        fields=("reason",),
        required=("reason",),
        done="paused",
    ),
    ActionSpec("resume", "Resume", "u", "Start the clock again", frozenset({"waiting_applicant"}), done="resumed"),
    ActionSpec(
        "extend",
        "Request extension (延期)",
        "x",
        "Ask the parent unit for more working days, once, before the due time",
        frozenset({"in_progress", "waiting_applicant"}),
        fields=("days", "reason"),
        required=("days", "reason"),
        done="extension requested",
    ),
    ActionSpec(
        "approve-extension",
        "Decide extension",
        "a",
        "Approve or reject a requested extension (parent unit)",
        frozenset({"in_progress", "waiting_applicant"}),
        fields=("approve",),
        required=("approve",),
        done="extension decided",
    ),
    ActionSpec(
        "resolve",
        "Resolve",
        "r",
        "Mark the matter done, with a note of what was done",
        frozenset({"in_progress"}),
        fields=("note",),
        required=("note",),
        done="resolved",
    ),
    ActionSpec(
        "confirm",
        "Confirm with rating (好差评)",
        "k",
        "Record the applicant's feedback and rating; 不满意 or worse opens a review",
        frozenset({"resolved"}),
        fields=("rating", "comment"),
        required=("rating",),
        done="confirmed",
    ),
    ActionSpec(
        "reopen",
        "Reopen",
        "o",
        "Reopen a resolved or closed case within 15 days",
        frozenset({"resolved", "closed"}),
        fields=("reason",),
        required=("reason",),
        done="reopened",
    ),
    ActionSpec(
        "cancel",
        "Cancel",
        "ctrl+k",
        "Cancel the case (creator or dispatcher), with a reason",
        _OPEN,
        fields=("reason",),
        required=("reason",),
        done="cancelled",
    ),
)

BY_NAME = {spec.name: spec for spec in ACTIONS}

FIELD_LABELS: dict[Field, str] = {
    "reason": "Reason",
    "note": "Note",
    "days": "Working days (1–10)",
    "rating": "Rating 1–5 (5 非常满意 … 1 非常不满意)",
    "comment": "Applicant's comment",
    "approve": "Approve the extension?",
}


def offered(status: str) -> list[ActionSpec]:
    """Actions that can make sense for a case in ``status``."""
    return [spec for spec in ACTIONS if status in spec.statuses]
