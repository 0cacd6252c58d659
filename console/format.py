"""How cases read on screen: SLA state in words (colour only repeats it), labels, times."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from rich.text import Text

from hierarchy import labels
from hierarchy.cases import OPEN_STATUSES
from hierarchy.i18n import N_, _

#: Times show in China Standard Time, where every unit works.
CST = timezone(timedelta(hours=8), "CST")

OPEN = frozenset(status.value for status in OPEN_STATUSES)

#: Labels are catalog keys: show them through ``_()`` (or the helpers below).
STATUS_LABELS = {status.value: words for status, words in labels.STATUS_LABELS.items()}
KIND_LABELS = {"service": N_("service"), "project_issue": N_("project"), "complaint": N_("complaint")}
MODE_LABELS = {
    "assist": N_("assist"),
    "proxy": N_("proxy"),
    "accompany": N_("accompany"),
    "home_visit": N_("home visit"),
    "priority": N_("priority service"),
}
GROUP_LABELS = {
    "elderly": N_("elderly"),
    "disabled": N_("disabled"),
    "pregnant": N_("pregnant"),
    "low_income": N_("low income"),
    "veteran": N_("veteran"),
    "key_project": N_("key project"),
}
ROLE_LABELS = {
    "village_agent": N_("village agent"),
    "town_agent": N_("town agent"),
    "county_member": N_("county member"),
    "county_lead": N_("county lead"),
    "city_agent": N_("city agent"),
    "dispatcher": N_("dispatcher"),
    "admin": N_("administrator"),
}
RATING_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
MATERIAL_LABELS = {"provided": N_("provided"), "missing": N_("MISSING"), "deferred": N_("容缺 deferred")}

#: Within this much of the due time a case is "due" (warning), not "ok".
DUE_SOON = timedelta(days=2)


def span(delta: timedelta) -> str:
    """A short duration: whole days (``2d``), else hours or minutes rounded up (``5h``, ``45m``)."""
    seconds = max(delta.total_seconds(), 0)
    if seconds < 3600:
        return _("{n}m").format(n=max(math.ceil(seconds / 60), 1))
    if seconds < 86400:
        return _("{n}h").format(n=math.ceil(seconds / 3600))
    return _("{n}d").format(n=int(seconds // 86400))


def sla_state(status: str, due_at: datetime | None, now: datetime) -> tuple[str, str]:
    """The SLA state of a case as ``(text, level)``; level is ok, due, overdue, paused or done.

    The text alone says everything (``OVERDUE 2d``, ``due 1d``, ``ok 4d``), so the state
    survives NO_COLOR and colour blindness.
    """
    if status not in OPEN:
        return _("done"), "done"
    if status == "waiting_applicant":
        return _("paused"), "paused"
    if due_at is None:
        return _("no due"), "ok"
    left = due_at - now
    if left <= timedelta(0):
        return _("OVERDUE {span}").format(span=span(-left)), "overdue"
    if left <= DUE_SOON:
        return _("due {span}").format(span=span(left)), "due"
    return _("ok {span}").format(span=span(left)), "ok"


SLA_STYLES = {
    "overdue": "bold white on dark_red",
    "due": "bold black on yellow",
    "ok": "green",
    "paused": "cyan",
    "done": "dim",
}


def sla_text(status: str, due_at: datetime | None, now: datetime) -> Text:
    text, level = sla_state(status, due_at, now)
    return Text(text, style=SLA_STYLES[level])


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(CST).strftime(fmt) if value is not None else "—"


def time_left(status: str, due_at: datetime | None, now: datetime) -> str:
    """``due 2026-12-03 17:00 — 5d left`` or ``… — OVERDUE 2d``."""
    if due_at is None:
        return _("no due time")
    text, level = sla_state(status, due_at, now)
    if level == "ok" or level == "due":
        return _("due {when} — {span} left").format(when=local(due_at), span=span(due_at - now))
    if level == "overdue":
        return _("due {when} — {state}").format(when=local(due_at), state=text)
    if level == "paused":
        return _("due {when} — clock paused (waiting for the applicant)").format(when=local(due_at))
    return _("was due {when}").format(when=local(due_at))


def both(english: str) -> str:
    """A command palette title, found by its Chinese or its English words (``签收  Claim``)."""
    local = _(english)
    return local if local == english else f"{local}  {english}"


def label(table: dict[str, str], value: str) -> str:
    """``value`` in words from one of the tables above (the code itself when unknown)."""
    word = table.get(value)
    return _(word) if word else value


def status_label(status: str) -> str:
    return label(STATUS_LABELS, status)


def kind_label(kind: str) -> str:
    return label(KIND_LABELS, kind)


def role_label(role: str) -> str:
    return label(ROLE_LABELS, role)
