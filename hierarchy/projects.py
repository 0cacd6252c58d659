"""Enterprise projects as a county task force (专班) works them: stages, and how a blocker's
state follows the department case it was handed to."""

from __future__ import annotations

import enum

from hierarchy.cases import Status


class Stage(enum.StrEnum):
    SIGNED = "signed"  # 签约
    APPROVED = "approved"  # 立项
    PERMITTING = "permitting"  # 审批
    BUILDING = "building"  # 建设
    OPERATING = "operating"  # 投产


class BlockerStatus(enum.StrEnum):
    OPEN = "open"  # with the task force, not handed to anyone
    HANDED = "handed"  # a department's case is working on it
    RESOLVED = "resolved"


def blocker_status(case_status: Status) -> BlockerStatus:
    """A handed blocker's state from its department case: resolved once the case is
    resolved or closed, open again if the case is cancelled, handed otherwise (queued,
    in progress, waiting, returned, reopened)."""
    if case_status in (Status.RESOLVED, Status.CLOSED):
        return BlockerStatus.RESOLVED
    if case_status is Status.CANCELLED:
        return BlockerStatus.OPEN
    return BlockerStatus.HANDED
