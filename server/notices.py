"""Case notifications on the server: the rule's audiences turned into agents and rows.

:func:`announce` runs inside the transaction that writes the change (see
:func:`server.cases.write_decision`), so a notification exists exactly when its change does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from hierarchy.cases import Actor
from hierarchy.notices import Audience, Notice, without_actor
from hierarchy.roles import LEAD_ROLES, Role
from server.jobs import notify as nt


async def approvers(unit_code: str) -> list[int]:
    """Who decides for a unit: its leads (the dispatchers at the city); a unit without a
    lead role (a town, a village, a department) decides through any of its agents."""
    leads = await nt.unit_agents(unit_code, [r for r in LEAD_ROLES if r is not Role.ADMIN])
    return leads or await nt.unit_agents(unit_code)


async def audience_agents(audience: Audience) -> list[int]:
    if audience.agent is not None:
        return [audience.agent]
    if audience.unit is not None:
        return await nt.unit_agents(audience.unit)
    if audience.approvers is not None:
        return await approvers(audience.approvers)
    return []


def label(row: Mapping[str, Any]) -> str:
    return str(row.get("ref") or row.get("title") or row["id"])


async def announce(notices: list[Notice], row: Mapping[str, Any], actor: Actor, now: datetime) -> int:
    """Write the rows for ``notices`` about the case ``row``; returns how many were written."""
    written = 0
    for notice in notices:
        agents: list[int] = []
        for audience in notice.to:
            agents += await audience_agents(audience)
        written += await nt.notify(
            without_actor(agents, actor), notice.kind, notice.message(label(row)), now, row["id"]
        )
    return written
