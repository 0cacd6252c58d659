"""Administration of agents: create, set and reset passwords, enable and disable, and one's
own password change. The API (admins) and ``daiban agents`` (the server's command line)
both come here, and every change leaves an :class:`~server.tables.AdminEvent`.

A new agent and a reset password must be changed at next sign-in: until then the agent's
token only reaches ``/auth/me``, ``/auth/password`` and ``/auth/logout``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec

from hierarchy.cases import OPEN_VALUES
from hierarchy.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from hierarchy.roles import Role, role_fits_level
from hierarchy.tree import Level
from server.security import check_password, hash_password_async
from server.tables import AdminEvent, Agent, Case, Token, Unit
from sync import wire

MIN_PASSWORD = 8
#: Shown to an admin once; the agent replaces it at first sign-in.
TEMPORARY_PASSWORD_BYTES = 9
COLUMNS = (Agent.id, Agent.username, Agent.name, Agent.unit_code, Agent.role, Agent.active)


@dataclass(frozen=True, slots=True)
class By:
    """Who makes an administrative change: an admin agent, or the command line."""

    actor: str
    actor_id: int | None = None


CLI = By("命令行")


async def audit(by: By, action: str, target: str, **detail: Any) -> None:
    event = AdminEvent(
        at=datetime.now(UTC), actor_id=by.actor_id, actor=by.actor, action=action, target=target, detail=detail
    )
    await AdminEvent.insert(event).run()


def check_new_password(password: str, username: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput("auth.password_too_short", f"密码至少 {MIN_PASSWORD} 个字符", field="password")
    if password.casefold() == username.casefold():
        raise InvalidInput("auth.password_is_username", "密码不能与用户名相同", field="password")


def temporary_password() -> str:
    return secrets.token_urlsafe(TEMPORARY_PASSWORD_BYTES)


async def _agent(username: str) -> dict[str, Any]:
    row = await Agent.select(*COLUMNS).where(Agent.username == username).first()
    if row is None:
        raise NotFound("agent.not_found", f"没有用户 {username}", agent=username)
    return dict(row)


async def create_agent(by: By, new: wire.AgentCreate) -> tuple[wire.AgentOut, str | None]:
    """The new agent, and its temporary password when none was given."""
    unit = await Unit.select(Unit.level).where(Unit.code == new.unit_code).first()
    if unit is None:
        raise InvalidInput("unit.unknown", f"没有单位 {new.unit_code}", field="unit_code")
    role = Role(new.role)
    if not role_fits_level(role, Level(unit["level"])):
        raise InvalidInput("agent.role_invalid", f"{role.value} 不能设在该层级的单位", field="role")
    if await Agent.exists().where(Agent.username == new.username):
        raise Conflict("agent.exists", f"用户 {new.username} 已存在", agent=new.username)
    temporary = None if new.password else temporary_password()
    password = new.password or temporary
    assert password is not None
    if new.password:
        check_new_password(new.password, new.username)
    agent = Agent(
        username=new.username,
        name=new.name,
        unit_code=new.unit_code,
        role=role.value,
        password_hash=await hash_password_async(password),
        active=True,
        must_change_password=True,
    )
    await Agent.insert(agent).run()
    await audit(by, "agent.create", new.username, unit=new.unit_code, role=role.value)
    return msgspec.convert(await _agent(new.username), wire.AgentOut), temporary


async def set_password(by: By, username: str, password: str, *, must_change: bool) -> None:
    """Set ``username``'s password (``must_change``: only until their next sign-in);
    their tokens stop working."""
    row = await _agent(username)
    check_new_password(password, username)
    hashed = await hash_password_async(password)
    await Agent.update({Agent.password_hash: hashed, Agent.must_change_password: must_change}).where(
        Agent.id == row["id"]
    ).run()
    await Token.update({Token.revoked: True}).where(Token.agent_id == row["id"]).run()
    await audit(by, "password.reset" if must_change else "password.set", username)


async def reset_password(by: By, username: str) -> str:
    """A temporary password for ``username``, to be changed at next sign-in."""
    temporary = temporary_password()
    await set_password(by, username, temporary, must_change=True)
    return temporary


async def set_active(by: By, username: str, active: bool) -> wire.AgentOut:
    row = await _agent(username)
    if not active and row["role"] == Role.ADMIN.value and row["active"]:
        others = await Agent.count().where(
            (Agent.role == Role.ADMIN.value) & (Agent.active.eq(True)) & (Agent.id != row["id"])
        )
        if others == 0:
            raise Conflict("agent.last_admin", "不能停用最后一个在用的管理员", agent=username)
    await Agent.update({Agent.active: active}).where(Agent.id == row["id"]).run()
    if not active:
        # A disabled agent's tokens stop working at once, not when they expire.
        await Token.update({Token.revoked: True}).where(Token.agent_id == row["id"]).run()
    await audit(by, "agent.enable" if active else "agent.disable", username)
    stranded = 0
    if not active:  # what the dispatcher is offered to plan away
        stranded = await Case.count().where((Case.assignee_id == row["id"]) & Case.status.is_in(list(OPEN_VALUES)))
    return msgspec.convert({**row, "active": active, "stranded_cases": stranded}, wire.AgentOut)


async def change_own_password(agent_id: int, current: str, new: str, keep_token: str) -> None:
    """The signed-in agent replaces their password; their other tokens stop working."""
    row = await Agent.select(Agent.username, Agent.password_hash).where(Agent.id == agent_id).first()
    if row is None:
        raise Unauthorized("auth.token_invalid", "the token is unknown, expired or revoked")
    if not await check_password(current, row["password_hash"]):
        raise Forbidden("auth.wrong_password", "当前密码不正确")
    if new == current:
        raise InvalidInput("auth.password_unchanged", "新密码不能与当前密码相同", field="new_password")
    check_new_password(new, row["username"])
    hashed = await hash_password_async(new)
    await Agent.update({Agent.password_hash: hashed, Agent.must_change_password: False}).where(
        Agent.id == agent_id
    ).run()
    await Token.update({Token.revoked: True}).where((Token.agent_id == agent_id) & (Token.digest != keep_token)).run()
    await audit(By(row["username"], agent_id), "password.change", row["username"])


async def list_agents(unit: str | None = None) -> list[dict[str, Any]]:
    query = Agent.select(*COLUMNS, Agent.must_change_password).order_by(Agent.username)
    if unit:
        query = query.where(Agent.unit_code == unit)
    return list(await query)
