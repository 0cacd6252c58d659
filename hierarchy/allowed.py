"""Which actions a case, in its state, allows this agent: the status machine asked, not copied.

Menus, footers and help ask :func:`allowed_actions`; each action's rule in
:mod:`hierarchy.machine` is run with stand-in answers for what a form would ask (a reason,
a rating …). A refusal about the state or the agent (``Conflict``, ``Forbidden``,
``NotFound``) hides the action; a complaint about the stand-in answers cannot happen for
real input the form checks, so the action stays offered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hierarchy.cases import Actor, CaseState
from hierarchy.errors import Conflict, Forbidden, InvalidInput, NotFound
from hierarchy.machine import Action, decide

#: What a form would ask for, filled with harmless values.
STAND_IN: dict[str, Any] = {"reason": "·", "note": "·", "days": 1, "rating": 5, "approve": True, "comment": ""}
#: Offered on the case screens (editing has its own forms).
CASE_ACTIONS = tuple(
    action
    for action in Action
    if action not in (Action.UPDATE, Action.ATTACH, Action.DETACH, Action.CLOSE_UNRATED)
)


def allows(case: CaseState, actor: Actor, action: Action, now: datetime) -> bool:
    """Whether ``actor`` may take ``action`` on ``case`` now, given proper answers."""
    try:
        decide(case, actor, action, STAND_IN, now)
    except (Conflict, Forbidden, NotFound):
        if action is not Action.HANDOVER:
            return False
        return _hands_to_colleague(case, actor, now)
    except InvalidInput:
        return True
    return True


def _hands_to_colleague(case: CaseState, actor: Actor, now: datetime) -> bool:
    """Handing over to another agent of the unit (not another unit) may still be allowed."""
    colleague = Actor(id=-1, unit_code=case.owner_unit, unit_path=case.owner_path, role=actor.role, level=actor.level)
    try:
        decide(case, actor, Action.HANDOVER, STAND_IN, now, target_agent=colleague)
    except (Conflict, Forbidden, NotFound):
        return False
    except InvalidInput:
        return True
    return True


def allowed_actions(case: CaseState, actor: Actor, now: datetime) -> tuple[Action, ...]:
    """Every case action ``actor`` may take on ``case`` now, in the machine's order."""
    return tuple(action for action in CASE_ACTIONS if allows(case, actor, action, now))
