"""HTTP basics: the docs page needs no internet, headers that keep tokens and personal
data out of caches, a scheme on every 401, and a JSON-only sign-in."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from factories import Client, assert_problem, headers

TOKEN = "/api/v1/auth/token"


async def test_docs_page_and_every_asset_come_from_the_app(client: Client) -> None:
    page = await client.get("/schema")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page.text)
    assert len(refs) >= 3, refs
    for ref in refs:
        parts = urlsplit(ref)
        assert not parts.scheme and not parts.netloc, f"{ref} would need the network"
        asset = await client.get(ref)
        assert asset.status_code == 200 and len(asset.content) > 1000, ref
    assert "SwaggerUIBundle" in (await client.get("/schema/assets/swagger-ui-bundle.js")).text
    assert (await client.get("/schema/openapi.json")).json()["openapi"].startswith("3.")


async def test_no_store_and_nosniff(client: Client) -> None:
    r = await client.post(TOKEN, json={"username": "a640502100", "password": "demo"})
    assert r.headers["cache-control"] == "no-store" and r.headers["x-content-type-options"] == "nosniff"
    who = {"Authorization": f"Bearer {r.json()['access_token']}"}
    for path in ("/api/v1/auth/me", "/api/v1/cases", "/api/v1/agents"):
        answer = await client.get(path, headers=who)
        assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store", path
        assert answer.headers["x-content-type-options"] == "nosniff", path
    bad = await client.post(TOKEN, json={"username": "a640502100", "password": "wrong"})
    assert bad.headers["cache-control"] == "no-store"
    nowhere = await client.get("/api/v1/no-such-thing", headers=who)
    assert_problem(nowhere, 404, "route.not_found")
    assert nowhere.headers["cache-control"] == "no-store" and nowhere.headers["x-content-type-options"] == "nosniff"
    assets = await client.get("/schema/assets/swagger-ui.css")
    assert "max-age=86400" in assets.headers["cache-control"] and assets.headers["x-content-type-options"] == "nosniff"


async def test_401_names_the_scheme(client: Client) -> None:
    r = await client.get("/api/v1/cases")
    assert_problem(r, 401, "auth.required")
    assert r.headers["www-authenticate"] == 'Bearer realm="daiban"'
    r = await client.get("/api/v1/cases", headers={"Authorization": "Bearer nonsense"})
    assert r.headers["www-authenticate"] == 'Bearer realm="daiban", error="invalid_token"'


async def test_sign_in_is_json_only(client: Client) -> None:
    body = '{"username": "a640502100", "password": "demo"}'
    for media in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        r = await client.post(TOKEN, content=body, headers={"content-type": media})
        assert_problem(r, 415, "request.unsupported_media_type", why=media)
    r = await client.post(TOKEN, content=body, headers={"content-type": "application/json; charset=utf-8"})
    assert r.status_code == 201
    assert (await client.get("/api/v1/auth/me", headers=await headers(client, "dispatcher"))).status_code == 200
