"""How cases read on screen: SLA state in words (colour only repeats it), labels, times."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

from rich.text import Text

#: Times show in China Standard Time, where every unit works.
CST = timezone(timedelta(hours=8), "CST")

OPEN = frozenset({"queued", "in_progress", "waiting_applicant"})

STATUS_LABELS = {
    "queued": "queued",
    "in_progress": "in progress",
    "waiting_applicant": "waiting",
    "resolved": "resolved",
    "closed": "closed",
    "cancelled": "cancelled",
}
KIND_LABELS = {"service": "service", "project_issue": "project", "complaint": "complaint"}
MODE_LABELS = {
    "assist": "帮办",
    "proxy": "代理办",
    "accompany": "陪同办",
    "home_visit": "上门办",
    "priority": "优先办",
}
GROUP_LABELS = {
    "elderly": "老年 elderly",
    "disabled": "残疾 disabled",
    "pregnant": "孕产 pregnant",
    "low_income": "低收入 low income",
    "veteran": "退役 veteran",
    "key_project": "重点项目 key",
}
RATING_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
MATERIAL_LABELS = {"provided": "provided", "missing": "MISSING", "deferred": "容缺 deferred"}

#: Within this much of the due time a case is "due" (warning), not "ok".
DUE_SOON = timedelta(days=2)


def span(delta: timedelta) -> str:
    """A short duration: whole days (``2d``), else hours or minutes rounded up (``5h``, ``45m``)."""
    seconds = max(delta.total_seconds(), 0)
    if seconds < 3600:
        return f"{max(math.ceil(seconds / 60), 1)}m"
    if seconds < 86400:
        return f"{math.ceil(seconds / 3600)}h"
    return f"{int(seconds // 86400)}d"


def sla_state(status: str, due_at: datetime | None, now: datetime) -> tuple[str, str]:
    """The SLA state of a case as ``(text, level)``; level is ok, due, overdue, paused or done.

    The text alone says everything (``OVERDUE 2d``, ``due 1d``, ``ok 4d``), so the state
    survives NO_COLOR and colour blindness.
    """
    if status not in OPEN:
        return "done", "done"
    if status == "waiting_applicant":
        return "paused", "paused"
    if due_at is None:
        return "no due", "ok"
    left = due_at - now
    if left <= timedelta(0):
        return f"OVERDUE {span(-left)}", "overdue"
    if left <= DUE_SOON:
        return f"due {span(left)}", "due"
    return f"ok {span(left)}", "ok"


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
        return "no due time"
    text, level = sla_state(status, due_at, now)
    if level == "ok" or level == "due":
        return f"due {local(due_at)} — {span(due_at - now)} left"
    if level == "overdue":
        return f"due {local(due_at)} — {text}"
    if level == "paused":
        return f"due {local(due_at)} — clock paused (waiting for the applicant)"
    return f"was due {local(due_at)}"


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)
