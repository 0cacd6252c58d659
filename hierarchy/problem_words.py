"""What a refusal says to people, in their language: the ``title`` and ``detail`` of a
problem (server) or a refusal shown on a device. Codes stay stable and English; the words
come from the catalog by code (the English message at the raise site stays the English
detail, as it may carry specifics)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hierarchy.i18n import N_, current_language, translations

TITLES = {
    400: N_("Bad request"),
    401: N_("Sign-in required"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Method not allowed"),
    409: N_("Conflicts with the current state"),
    413: N_("Too large"),
    415: N_("Unsupported media type"),
    422: N_("Invalid input"),
    429: N_("Too many requests"),
    500: N_("Internal error"),
    503: N_("Service unavailable"),
}
GENERIC = N_("The request was refused ({code}).")

#: One sentence per code for people; ``{…}`` fields come from the error's data when present.
DETAILS = {
    "agent.not_found": N_("No such agent."),
    "agent.unavailable": N_("The target agent is no longer active."),
    "agent.unknown": N_("No active agent with that username."),
    "applicant.name_invalid": N_("The applicant's name is 1 to 100 characters."),
    "applicant.name_required": N_("The applicant needs a name."),
    "applicant.resident_id_invalid": N_("The resident ID number is not valid."),
    "applicant.credit_code_invalid": N_("The unified social credit code is not valid."),
    "applicant.phone_invalid": N_("The phone number is not valid."),
    "auth.agent_disabled": N_("This agent is disabled."),
    "auth.busy": N_("Too many sign-in requests; try again shortly."),
    "auth.forbidden": N_("You may not do this."),
    "auth.invalid_credentials": N_("Wrong username or password."),
    "auth.rate_limited": N_("Too many attempts: wait a minute and try again."),
    "auth.required": N_("Sign in first."),
    "auth.token_invalid": N_("The sign-in has expired or was revoked; sign in again."),
    "case.agent_not_in_unit": N_("Hand over to an agent of the same unit."),
    "case.already_claimed": N_("Someone else has claimed this case."),
    "case.already_overdue": N_("An extension must be asked for and approved before the due time."),
    "case.busy": N_("The case is changing too fast; try again."),
    "case.days_invalid": N_("Days must be 1 to 10 working days."),
    "case.escalation_top": N_("The city is the top of the escalation chain."),
    "case.extension_used": N_("A case gets at most one extension."),
    "case.forbidden": N_("You may not do this with this case."),
    "case.illegal_transition": N_("This action does not fit the case's current state."),
    "case.materials_deferred": N_("Deferred (容缺) materials must be provided before resolving."),
    "case.no_extension_request": N_("There is no extension request to decide."),
    "case.not_found": N_("No such case."),
    "case.note_required": N_("A note is required."),
    "case.nothing_to_return": N_("This case was not escalated or dispatched here."),
    "case.nothing_to_update": N_("Nothing to update."),
    "case.rating_invalid": N_("The rating is 1 (非常不满意) to 5 (非常满意)."),
    "case.reason_required": N_("A reason is required."),
    "case.reopen_window_passed": N_("Cases can be reopened within 15 days."),
    "case.same_agent": N_("That agent already holds the case."),
    "case.same_unit": N_("The case is already in that unit's queue."),
    "case.unit_required": N_("Choose the unit the case goes to."),
    "case.dispatch_not_down": N_("Dispatch sends a case down, into the owner's subtree."),
    "case.version_conflict": N_("The case changed since you read it; reload it."),
    "case.version_changed": N_("The case changed since the plan was made."),
    "case.commitment_required": N_("A deferral (容缺) needs the applicant's signed commitment."),
    "case.deferral_after_due": N_("A deferral is due no later than the case."),
    "case.deferral_due_invalid": N_("The deferral's due date is not a valid date."),
    "client.not_initialised": N_("Set this device up first: daiban village init."),
    "device.not_found": N_("This device is not registered."),
    "item.not_found": N_("No such item in the catalogue."),
    "item.unknown": N_("No such item in the catalogue."),
    "network.unreachable": N_("Cannot reach the server; your work is kept here."),
    "notification.not_found": N_("No such notification."),
    "plan.already_applied": N_("This plan has already been applied."),
    "plan.not_found": N_("No such plan."),
    "rating.code_unknown": N_("No case has this rating code."),
    "rating.code_used": N_("This rating code has already been used."),
    "report.period_invalid": N_("The period ends before it starts."),
    "report.period_too_long": N_("The report period is too long."),
    "request.invalid": N_("The request is not valid."),
    "request.malformed_json": N_("The request body is not valid JSON."),
    "request.too_large": N_("The request body is too large."),
    "request.rate_limited": N_("Too many requests; try again shortly."),
    "route.not_found": N_("No such address in the API."),
    "sync.batch_too_large": N_("Too many operations in one push."),
    "sync.device_revoked": N_("This device has been revoked; ask an administrator."),
    "unit.not_found": N_("No such unit."),
    "unit.unknown": N_("No such unit."),
    "internal": N_("Internal error: the request was not completed."),
}


def describe(status: int, code: str, message: str, data: Mapping[str, Any], language: str) -> tuple[str, str]:
    """``(title, detail)`` of a refusal in ``language``; English keeps the raise site's words."""
    words = translations(language)
    title = words.gettext(TITLES.get(status, TITLES[400 if status < 500 else 500]))
    if language == "en":
        return title, message
    template = DETAILS.get(code)
    if template is None:
        return title, words.gettext(GENERIC).format(code=code)
    try:
        return title, words.gettext(template).format(**data)
    except (KeyError, IndexError, ValueError):
        return title, words.gettext(template)


def say(code: str, message: str, data: Mapping[str, Any] | None = None) -> str:
    """A refusal for the person at this screen (the current language): the catalog's words
    for a known code, else the message as it came (a server already answers in Chinese)."""
    language = current_language()
    template = DETAILS.get(code)
    if language == "en" or template is None:
        return message
    text = translations(language).gettext(template)
    try:
        return text.format(**(data or {}))
    except (KeyError, IndexError, ValueError):
        return text
