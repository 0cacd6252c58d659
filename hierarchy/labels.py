"""The words for actions and statuses, marked for the catalog (shown through ``_()``):
one table for the console, the ``daiban village`` command and the reports."""

from __future__ import annotations

from hierarchy.cases import Status
from hierarchy.i18n import N_, _
from hierarchy.machine import Action

ACTION_LABELS: dict[Action, str] = {
    Action.CLAIM: N_("Claim"),
    Action.RELEASE: N_("Release"),
    Action.ESCALATE: N_("Escalate"),
    Action.RETURN: N_("Return"),
    Action.DISPATCH: N_("Dispatch down"),
    Action.HANDOVER: N_("Hand over"),
    Action.WAIT: N_("Wait for applicant"),
    Action.RESUME: N_("Resume"),
    Action.EXTEND: N_("Request extension"),
    Action.APPROVE_EXTENSION: N_("Decide extension"),
    Action.RESOLVE: N_("Resolve"),
    Action.CONFIRM: N_("Confirm with rating"),
    Action.REOPEN: N_("Reopen"),
    Action.CANCEL: N_("Cancel case"),
    Action.UPDATE: N_("edit"),
    Action.ATTACH: N_("Attach a file"),
    Action.DETACH: N_("Remove a file"),
    Action.FEEDBACK: N_("Record 12345 feedback"),
    Action.CLOSE_UNRATED: N_("Close unrated"),
}

STATUS_LABELS: dict[Status, str] = {
    Status.QUEUED: N_("queued"),
    Status.IN_PROGRESS: N_("in progress"),
    Status.WAITING_APPLICANT: N_("waiting"),
    Status.RESOLVED: N_("resolved"),
    Status.CLOSED: N_("closed"),
    Status.CANCELLED: N_("cancelled"),
}


def action_label(action: str) -> str:
    """An action (or event) in words; the code itself when it has none."""
    try:
        return _(ACTION_LABELS[Action(action)])
    except ValueError:
        return action


def status_label(status: str) -> str:
    try:
        return _(STATUS_LABELS[Status(status)])
    except ValueError:
        return status
