"""Agents: who works where (for hand-over pickers), and their administration (admins)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, PathParameter, QueryParameter

from hierarchy.errors import NotFound
from hierarchy.roles import ADMINS
from hierarchy.tree import in_subtree
from server import admin
from server.auth import Principal
from server.guards import roles
from server.queries import under
from server.tables import Agent, Unit
from sync import wire

Req = Request[Principal, Any, Any]
admins_only = roles(ADMINS, "auth.forbidden", "only an admin manages agents")
AgentName = Annotated[str, PathParameter(max_length=64, description="username")]
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

    @post("/", operation_id="createAgent", summary="Create an agent at a unit with a role (admin)",
          guards=[admins_only])  # fmt: skip
    async def create(self, request: Req, data: JSONBody[wire.AgentCreate]) -> Response[wire.AgentCreated]:
        agent, temporary = await admin.create_agent(by(request), data)
        return Response(wire.AgentCreated(agent=agent, temporary_password=temporary), status_code=201)

    @post(
        "/{username:str}/password",
        operation_id="setAgentPassword",
        status_code=204,
        summary="Set an agent's password (admin); their tokens stop working",
        guards=[admins_only],
    )
    async def set_password(self, request: Req, username: AgentName, data: JSONBody[wire.PasswordSet]) -> None:
        await admin.set_password(by(request), username, data.password, must_change=False)

    @post(
        "/{username:str}/reset",
        operation_id="resetAgentPassword",
        status_code=200,
        summary="Reset an agent's password to a temporary one, to be changed at next sign-in (admin)",
        guards=[admins_only],
    )
    async def reset(self, request: Req, username: AgentName) -> wire.TemporaryPassword:
        return wire.TemporaryPassword(temporary_password=await admin.reset_password(by(request), username))

    @post(
        "/{username:str}/disable",
        operation_id="disableAgent",
        status_code=200,
        summary="Disable (admin); the last enabled admin cannot be",
        guards=[admins_only],
    )
    async def disable(self, request: Req, username: AgentName) -> wire.AgentOut:
        return await admin.set_active(by(request), username, False)

    @post(
        "/{username:str}/enable",
        operation_id="enableAgent",
        status_code=200,
        summary="Enable (admin)",
        guards=[admins_only],
    )
    async def enable(self, request: Req, username: AgentName) -> wire.AgentOut:
        return await admin.set_active(by(request), username, True)


def by(request: Req) -> admin.By:
    return admin.By(request.user.actor.username, request.user.id)
