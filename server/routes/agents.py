"""Agents: who works where (for hand-over pickers), and the admin's enable/disable."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter

from hierarchy.errors import NotFound
from hierarchy.roles import ADMINS
from hierarchy.tree import in_subtree
from server.auth import Principal
from server.guards import roles
from server.queries import under
from server.tables import Agent, Token, Unit
from sync import wire

Req = Request[Principal, Any, Any]
admins_only = roles(ADMINS, "auth.forbidden", "only an admin manages agents")
COLUMNS = (Agent.id, Agent.username, Agent.name, Agent.unit_code, Agent.role, Agent.active)


class AgentController(Controller):
    path = "/api/v1/agents"
    tags = ["agents"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @get("/", operation_id="listAgents", summary="Agents of a unit in your scope (default: your own unit)")
    async def list_agents(
        self,
        request: Req,
        unit: Annotated[str | None, QueryParameter(description="unit code")] = None,
        subtree: Annotated[bool, QueryParameter(description="include the units below")] = False,
    ) -> list[wire.AgentOut]:
        actor = request.user.actor
        code = unit or actor.unit_code
        row = await Unit.select(Unit.path).where(Unit.code == code).first()
        if row is None or not in_subtree(row["path"], actor.unit_path):
            raise NotFound("unit.not_found", f"no unit with code {code}", unit=code)
        query = Agent.select(*COLUMNS).order_by(Agent.username)
        if subtree:
            units = Unit.select(Unit.code).where(under(Unit.path, row["path"]))
            query = query.where(Agent.unit_code.is_in(units))
        else:
            query = query.where(Agent.unit_code == code)
        return msgspec.convert(await query, list[wire.AgentOut])

    @post(
        "/{username:str}/disable",
        operation_id="disableAgent",
        status_code=200,
        summary="Disable (admin)",
        guards=[admins_only],
    )
    async def disable(self, request: Req, username: FromPath[str]) -> wire.AgentOut:
        return await _set_active(request, username, False)

    @post(
        "/{username:str}/enable",
        operation_id="enableAgent",
        status_code=200,
        summary="Enable (admin)",
        guards=[admins_only],
    )
    async def enable(self, request: Req, username: FromPath[str]) -> wire.AgentOut:
        return await _set_active(request, username, True)


async def _set_active(request: Req, username: str, active: bool) -> wire.AgentOut:
    row = await Agent.select(*COLUMNS).where(Agent.username == username).first()
    if row is None:
        raise NotFound("agent.not_found", f"no agent {username}", agent=username)
    await Agent.update({Agent.active: active}).where(Agent.id == row["id"]).run()
    if not active:
        # A disabled agent's tokens stop working at once, not when they expire.
        await Token.update({Token.revoked: True}).where(Token.agent_id == row["id"]).run()
    return msgspec.convert({**row, "active": active}, wire.AgentOut)
