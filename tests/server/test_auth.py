"""Sign-in, sign-out, expiry, disabled agents and the per-username throttle."""

from __future__ import annotations

import msgspec
from factories import Client, headers
from litestar.testing import AsyncTestClient

from server.app import create_app
from server.settings import Settings

USER = "a640502100"


async def test_token_and_me(client: Client) -> None:
    r = await client.post("/api/v1/auth/token", json={"username": USER, "password": "demo"})
    assert r.status_code == 201
    body = r.json()
    assert body["token_type"] == "bearer" and body["agent"]["unit_code"] == "640502100"
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == USER and me.json()["role"] == "town_agent"


async def test_no_or_bad_token_is_401(client: Client) -> None:
    assert (await client.get("/api/v1/cases")).json()["code"] == "auth.required"
    r = await client.get("/api/v1/cases", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and r.json()["code"] == "auth.token_invalid"


async def test_sign_out_revokes(client: Client) -> None:
    who = await headers(client, USER)
    assert (await client.post("/api/v1/auth/logout", headers=who)).status_code == 204
    r = await client.get("/api/v1/auth/me", headers=who)
    assert r.status_code == 401 and r.json()["code"] == "auth.token_invalid"


async def test_disabled_agent_loses_access(client: Client) -> None:
    who = await headers(client, USER)
    admin = await headers(client, "admin")
    assert (await client.post(f"/api/v1/agents/{USER}/disable", headers=who)).status_code == 403
    try:
        assert (await client.post(f"/api/v1/agents/{USER}/disable", headers=admin)).json()["active"] is False
        assert (await client.get("/api/v1/auth/me", headers=who)).json()["code"] == "auth.token_invalid"
        r = await client.post("/api/v1/auth/token", json={"username": USER, "password": "demo"})
        assert r.status_code == 401 and r.json()["code"] == "auth.agent_disabled"
    finally:  # agents are seeded once per session on PostgreSQL
        await client.post(f"/api/v1/agents/{USER}/enable", headers=admin)


async def test_failed_sign_ins_are_throttled_per_username(client: Client) -> None:
    for _ in range(5):
        r = await client.post("/api/v1/auth/token", json={"username": USER, "password": "wrong"})
        assert r.status_code == 401 and r.json()["code"] == "auth.invalid_credentials"
    r = await client.post("/api/v1/auth/token", json={"username": USER, "password": "demo"})
    assert r.status_code == 429 and r.json()["code"] == "auth.rate_limited"
    assert int(r.headers["retry-after"]) >= 1
    # Another username is not held back by someone guessing this one.
    assert (await client.post("/api/v1/auth/token", json={"username": "dispatcher", "password": "demo"})).is_success


async def test_tokens_expire(settings: Settings) -> None:
    app = create_app(msgspec.structs.replace(settings, token_ttl_hours=0))
    async with AsyncTestClient(app=app) as client:
        who = await headers(client, USER)
        r = await client.get("/api/v1/auth/me", headers=who)
        assert r.status_code == 401 and r.json()["code"] == "auth.token_invalid"


async def test_agents_of_a_unit(client: Client) -> None:
    who = await headers(client, USER)
    names = [a["username"] for a in (await client.get("/api/v1/agents", headers=who)).json()]
    assert names == [USER, f"{USER}-2"]
    r = await client.get("/api/v1/agents", params={"unit": "640521"}, headers=who)
    assert r.status_code == 404  # not in this agent's scope
