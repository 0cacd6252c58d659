"""Bearer-token sign-in: who is calling, as a :class:`hierarchy.cases.Actor`."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from litestar.connection import ASGIConnection
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from hierarchy.cases import Actor
from hierarchy.errors import Forbidden, RateLimited, Unauthorized
from hierarchy.roles import Role
from hierarchy.tree import Level
from server.security import check_password, hashing_busy, new_token, token_digest
from server.tables import Agent, Token, Unit
from server.throttle import SignInThrottle

PUBLIC_PATHS = [
    r"^/health$",
    r"^/ready$",
    r"^/schema",
    r"^/api/v1/auth/token$",
    r"^/api/v1/units",
    r"^/api/v1/items",
    r"^/api/v1/ratings",  # the applicant's one-time code is the credential
    r"^/r/",  # the applicant's rating page (the same code)
]


@dataclass(frozen=True, slots=True)
class Principal:
    """The signed-in agent and their place in the network."""

    actor: Actor
    name: str
    token_digest: str
    #: The device the token is bound to (None until it registers or syncs one).
    device: uuid.UUID | None = None
    #: A new or reset password: only the paths in ``WHILE_PASSWORD_DUE`` answer until changed.
    must_change_password: bool = False

    @property
    def id(self) -> int:
        assert self.actor.id is not None
        return self.actor.id


async def load_actor(agent_id: int) -> tuple[Actor, dict[str, Any]] | None:
    agent = await Agent.select().where(Agent.id == agent_id).first()
    if agent is None:
        return None
    unit = await Unit.select(Unit.path, Unit.level).where(Unit.code == agent["unit_code"]).first()
    if unit is None:
        return None
    actor = Actor(
        id=agent["id"],
        unit_code=agent["unit_code"],
        unit_path=unit["path"],
        role=Role(agent["role"]),
        level=Level(unit["level"]),
        username=agent["username"],
    )
    return actor, agent


#: Every request's token check: the token, its agent and the agent's unit in one query.
PRINCIPAL_SQL = (
    "SELECT t.revoked, t.expires_at, t.client_id, a.id, a.username, a.name, a.unit_code, a.role, a.active,"
    " a.must_change_password,"
    " u.path, u.level FROM token t JOIN agent a ON a.id = t.agent_id JOIN unit u ON u.code = a.unit_code"
    " WHERE t.digest = {}"
)


async def principal_for(token: str) -> Principal:
    digest = token_digest(token)
    rows = await Token.raw(PRINCIPAL_SQL, digest)
    row = rows[0] if rows else None
    if row is None or row["revoked"] or _aware(row["expires_at"]) <= datetime.now(UTC):
        raise Unauthorized("auth.token_invalid", "the token is unknown, expired or revoked")
    if not row["active"]:
        raise Unauthorized("auth.agent_disabled", "this agent is disabled")
    actor = Actor(
        id=row["id"],
        unit_code=row["unit_code"],
        unit_path=row["path"],
        role=Role(row["role"]),
        level=Level(row["level"]),
        username=row["username"],
    )
    device = row["client_id"]
    if device is not None and not isinstance(device, uuid.UUID):
        device = uuid.UUID(str(device))
    return Principal(
        actor=actor,
        name=row["name"],
        token_digest=digest,
        device=device,
        must_change_password=bool(row["must_change_password"]),
    )


#: What a token reaches while its agent's password must be changed.
WHILE_PASSWORD_DUE = frozenset({"/api/v1/auth/me", "/api/v1/auth/password", "/api/v1/auth/logout"})


def _aware(value: Any) -> datetime:
    """A raw timestamp as a timezone-aware datetime (SQLite hands raw values back as text)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class BearerAuth(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("auth.required", "sign in first: Authorization: Bearer <token>")
        principal = await principal_for(token.strip())
        if principal.must_change_password and connection.url.path.rstrip("/") not in WHILE_PASSWORD_DUE:
            raise Forbidden(
                "auth.password_change_required", "请先修改密码：daiban village passwd，或 POST /api/v1/auth/password"
            )
        return AuthenticationResult(user=principal, auth=principal.token_digest)


async def sign_in(
    username: str, password: str, ttl: timedelta, throttle: SignInThrottle, address: str,
    limiter: anyio.CapacityLimiter | None = None,
) -> tuple[str, datetime, int]:
    """A fresh token for ``username``; every refusal costs the same time whether it exists or not."""
    await throttle.attempt(address, username)
    if limiter is not None and hashing_busy(limiter):
        throttle.on_throttled("busy")
        raise RateLimited("auth.busy", "登录请求过多，请稍后再试", retry_after=1)
    agent = await Agent.select(Agent.id, Agent.password_hash, Agent.active).where(Agent.username == username).first()
    ok = await check_password(password, agent["password_hash"] if agent else None, limiter)
    if agent is None or not ok:
        await throttle.failed(address, username)
        raise Unauthorized("auth.invalid_credentials", "wrong username or password")
    if not agent["active"]:
        raise Unauthorized("auth.agent_disabled", "this agent is disabled")
    await throttle.succeeded(address, username)
    token, digest = new_token()
    now = datetime.now(UTC)
    await Token.insert(
        Token(digest=digest, agent_id=agent["id"], created_at=now, expires_at=now + ttl, revoked=False)
    ).run()
    return token, now + ttl, agent["id"]


async def revoke(digest: str) -> None:
    await Token.update({Token.revoked: True}).where(Token.digest == digest).run()
