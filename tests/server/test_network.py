"""The network and catalogue endpoints on both engines."""

from __future__ import annotations

import csv
import io
from importlib import resources

from litestar import Litestar
from litestar.testing import AsyncTestClient

from seeds.departments import department_names

Client = AsyncTestClient[Litestar]


def kept_from_seed() -> int:
    text = resources.files("seeds").joinpath("units.csv").read_text(encoding="utf-8")
    body = "".join(line for line in io.StringIO(text) if not line.startswith("#"))
    return sum(1 for r in csv.DictReader(io.StringIO(body)) if r["level"] in ("town", "village"))


async def test_city_has_the_five(client: Client) -> None:
    r = await client.get("/api/v1/units/640500/children")
    assert r.status_code == 200
    # The five county-level units first, then the city's departments (职能部门).
    kids = [k for k in r.json() if k["level"] == "county"]
    assert r.json()[: len(kids)] == kids
    assert {k["level"] for k in r.json()[len(kids) :]} == {"department"}
    assert [k["kind"] for k in kids] == ["district", "county", "county", "park", "zone"]
    assert {k["name"] for k in kids} == {"沙坡头区", "中宁县", "海原县", "中卫工业园区", "海兴开发区"}
    assert all(k["level"] == "county" and k["parent_code"] == "640500" for k in kids)


async def test_unit_count_is_one_plus_five_plus_n(client: Client) -> None:
    codes: list[str] = []
    cursor = None
    while True:
        params = {"limit": 100} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/api/v1/units", params=params)).json()
        codes += [u["code"] for u in page["units"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    departments = 6 * len(department_names())  # the city's and each county's
    assert len(codes) == len(set(codes)) == 1 + 5 + kept_from_seed() + departments
    assert 1 + 5 + kept_from_seed() == 561


async def test_park_and_zone_sit_under_the_city_without_placeholders(client: Client) -> None:
    park = (await client.get("/api/v1/units/640502401")).json()
    assert park["path"] == "/640500/640502401/"
    kids = (await client.get("/api/v1/units/640502401/children")).json()
    assert {k["level"] for k in kids} == {"department"}  # no towns, only its departments
    assert (await client.get("/api/v1/units/640522406498")).status_code == 404


async def test_subtree_filter(client: Client) -> None:
    page = (await client.get("/api/v1/units", params={"within": "640502100", "limit": 1000})).json()
    assert page["units"][0]["code"] == "640502100"
    assert all(u["path"].startswith("/640500/640502/640502100/") for u in page["units"])
    assert len(page["units"]) > 1


async def test_unknown_unit_is_problem_404(client: Client) -> None:
    r = await client.get("/api/v1/units/999999")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "unit.not_found" and body["status"] == 404


async def test_malformed_query_is_problem_400(client: Client) -> None:
    for params in ({"limit": "many"}, {"level": "planet"}, {"limit": 0}):
        r = await client.get("/api/v1/units", params=params)
        assert r.status_code == 400, params
        assert r.json()["code"] == "request.invalid"


async def test_items_catalogue(client: Client) -> None:
    items = (await client.get("/api/v1/items")).json()
    scopes = [i["scope"] for i in items]
    assert scopes.count("national") == 13
    assert all(i["materials"] and i["promised_days"] > 0 for i in items)
    assert (await client.get("/api/v1/items/nope")).json()["code"] == "item.not_found"


async def test_health_ready_schema(client: Client) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = (await client.get("/ready")).json()
    assert ready["checks"]["database"] == "ok"
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/units/{code}/children" in schema["paths"]
