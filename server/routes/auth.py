"""Sign-in, sign-out and who am I."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, Request, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException
from litestar.handlers import BaseRouteHandler
from litestar.params import JSONBody

from server import admin
from server.auth import Principal, load_actor, revoke, sign_in
from server.deps import SettingsDep, ThrottleDep
from sync import wire

SIGN_IN_MAX_BYTES = 4096


def json_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Sign-in takes a JSON body only (no form posts from other sites' pages)."""
    media = connection.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise HTTPException(status_code=415, detail="登录请求须为 application/json")


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @post(
        "/token",
        operation_id="signIn",
        summary="Exchange username and password for a bearer token",
        # A username and a password fit in far less: refuse anything bigger unread.
        request_max_body_size=SIGN_IN_MAX_BYTES,
        guards=[json_only],
    )
    async def token(
        self,
        request: Request[Any, Any, Any],
        settings: SettingsDep,
        throttle: ThrottleDep,
        data: JSONBody[wire.TokenRequest],
    ) -> wire.TokenResponse:
        token, expires, agent_id = await sign_in(
            data.username,
            data.password,
            timedelta(hours=settings.token_ttl_hours),
            throttle,
            request.client.host if request.client else "unknown",
            request.app.state.hash_limiter,
        )
        loaded = await load_actor(agent_id)
        assert loaded is not None
        principal = Principal(actor=loaded[0], name=loaded[1]["name"], token_digest="")
        return wire.TokenResponse(
            access_token=token,
            expires_at=expires,
            agent=await me_of(principal),
            must_change_password=bool(loaded[1].get("must_change_password")),
        )

    @post(
        "/password",
        operation_id="changePassword",
        status_code=204,
        summary="Change your own password (required after an admin set or reset it); other tokens stop working",
    )
    async def change_password(self, request: Request[Principal, Any, Any], data: JSONBody[wire.PasswordChange]) -> None:
        await admin.change_own_password(
            request.user.id, data.current_password, data.new_password, request.user.token_digest
        )

    @post("/logout", operation_id="signOut", summary="Revoke the token of this request", status_code=204)
    async def logout(self, request: Request[Principal, Any, Any]) -> None:
        await revoke(request.user.token_digest)

    @get("/me", operation_id="whoAmI", summary="The signed-in agent")
    async def me(self, request: Request[Principal, Any, Any]) -> wire.AgentOut:
        return await me_of(request.user)


async def me_of(principal: Principal) -> wire.AgentOut:
    actor = principal.actor
    assert actor.id is not None
    return wire.AgentOut(
        id=actor.id, username=actor.username, name=principal.name, unit_code=actor.unit_code, role=actor.role.value
    )
