"""好差评 comes from the applicant: who may record a rating, and the one-time code."""

from __future__ import annotations

import os
import uuid
from typing import Any

import msgspec
import pytest
from factories import Client, case_payload, headers, provide_all
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from server.app import create_app
from server.settings import Settings

CASES = "/api/v1/cases"
RATINGS = "/api/v1/ratings"
VILLAGE = "640502100002"  # 向阳巷居委会, under 滨河镇
TOWN = "640502100"
COUNTY = "640502"


async def act(client: Client, who: dict[str, str], cid: str, action: str, **body: Any) -> dict[str, Any]:
    r = await client.post(f"{CASES}/{cid}/{action}", json=body, headers=who)
    assert r.status_code == 200, (action, r.status_code, r.text)
    return dict(r.json())


async def refused(client: Client, who: dict[str, str], cid: str, action: str, **body: Any) -> tuple[int, str]:
    r = await client.post(f"{CASES}/{cid}/{action}", json=body, headers=who)
    return r.status_code, r.json().get("code", "")


async def push_confirm(client: Client, who: dict[str, str], cid: str, rating: int) -> dict[str, Any]:
    """The same confirm sent by a device's push: recorded as rejected, with its code."""
    device = (await client.post("/api/v1/devices", json={"name": "平板"}, headers=who)).json()["client_id"]
    op = {
        "op_id": str(uuid.uuid4()), "client_id": device, "seq": 1, "case_id": cid, "kind": "confirm",
        "args": {"rating": rating}, "hlc": f"1780000000000:000000:{device[:8]}",
    }  # fmt: skip
    r = await client.post("/api/v1/sync/push", json={"client_id": device, "ops": [op]}, headers=who)
    assert r.status_code == 200, r.text
    return dict(r.json()["results"][0])


async def test_only_the_origin_side_or_the_applicant_rates(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    town = await headers(client, f"a{TOWN}")
    county = await headers(client, f"a{COUNTY}")
    county_lead = await headers(client, f"lead{COUNTY}")
    created = (await client.post(CASES, json=case_payload(), headers=villager)).json()
    cid, code = created["id"], created["rating_code"]
    assert code and len(code) == 10
    await act(client, villager, cid, "escalate", reason="需镇里办理")
    await act(client, town, cid, "claim")
    # Only the origin side sees the code (it prints the receipt).
    assert (await client.get(f"{CASES}/{cid}", headers=town)).json()["rating_code"] is None
    await provide_all(client, town, cid)
    resolved = await act(client, town, cid, "resolve", note="已办结", issued="出生医学证明", delivery="post")
    assert resolved["status"] == "resolved"

    # Not yet resolved cannot be rated with the code; now the assignee cannot rate himself.
    assert await refused(client, town, cid, "confirm", rating=5) == (403, "rating.rater_is_assignee")
    rejected = await push_confirm(client, town, cid, 5)
    assert (rejected["result"], rejected["code"]) == ("rejected", "rating.rater_is_assignee")

    # The origin agent records the applicant's 1 on their behalf: a review opens at the county.
    rated = await act(client, villager, cid, "confirm", rating=1, comment="跑了好几趟")
    assert (rated["rating"], rated["rating_source"], rated["owner_unit"]) == (1, "agent", COUNTY)
    await act(client, county, cid, "claim")
    fixed = await act(client, county, cid, "resolve", note="已整改")
    assert fixed["review"]["state"] == "fixed"
    # The reviewing county, and the town that held it, cannot replace the applicant's 1.
    assert await refused(client, county, cid, "confirm", rating=5) == (403, "rating.rater_is_assignee")
    assert await refused(client, county_lead, cid, "confirm", rating=5) == (403, "rating.reviewing_unit")
    assert await refused(client, town, cid, "confirm", rating=5) == (403, "rating.rater_held_case")
    # A sign-in is bound to the device it registered: a second device signs in anew.
    rejected = await push_confirm(client, await headers(client, f"a{TOWN}"), cid, 5)
    assert (rejected["result"], rejected["code"]) == ("rejected", "rating.rater_held_case")
    rejected = await push_confirm(client, county_lead, cid, 5)
    assert (rejected["result"], rejected["code"]) == ("rejected", "rating.reviewing_unit")

    # The applicant rates with the code, no sign-in; a second use is refused.
    shown = (await client.get(f"{RATINGS}/{code}")).json()
    assert shown == {"ref": created["ref"], "item_name": "新生儿出生", "status": "resolved", "can_rate": True,
                     "rating": 1}  # fmt: skip
    r = await client.post(RATINGS, json={"code": code.lower(), "rating": 4, "comment": "整改后满意"})
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    r = await client.post(RATINGS, json={"code": code, "rating": 5})
    assert (r.status_code, r.json()["code"]) == (409, "rating.code_used")
    case = (await client.get(f"{CASES}/{cid}", headers=villager)).json()
    assert (case["status"], case["rating"], case["rating_source"]) == ("closed", 4, "applicant")
    history = (await client.get(f"{CASES}/{cid}/history", headers=villager)).json()
    last = history[-1]
    assert (last["action"], last["actor_id"], last["after"]["rating_source"]) == ("confirm", None, "applicant")


async def test_a_colleague_who_held_the_case_cannot_rate_it(client: Client) -> None:
    creator = await headers(client, f"a{TOWN}")
    colleague = await headers(client, f"a{TOWN}-2")
    county = await headers(client, f"a{COUNTY}")
    cid = (await client.post(CASES, json=case_payload(), headers=creator)).json()["id"]
    await act(client, creator, cid, "escalate", reason="需区里协调")
    await act(client, county, cid, "claim")
    await act(client, county, cid, "dispatch", unit=TOWN, reason="下派镇里办理")
    await act(client, colleague, cid, "claim")
    await act(client, colleague, cid, "handover", agent=f"a{TOWN}", note="交回受理人")
    await provide_all(client, creator, cid)
    await act(client, creator, cid, "resolve", note="已办结")
    # The creator resolved it himself: he is the assignee; his colleague held it after acceptance.
    assert await refused(client, creator, cid, "confirm", rating=5) == (403, "rating.rater_is_assignee")
    assert await refused(client, colleague, cid, "confirm", rating=5) == (403, "rating.rater_held_case")


async def test_bad_codes_and_early_use(client: Client) -> None:
    villager = await headers(client, f"a{VILLAGE}")
    created = (await client.post(CASES, json=case_payload(), headers=villager)).json()
    r = await client.post(RATINGS, json={"code": created["rating_code"], "rating": 5})
    assert (r.status_code, r.json()["code"]) == (409, "rating.not_resolved")
    r = await client.post(RATINGS, json={"code": "0000000000", "rating": 5})
    assert (r.status_code, r.json()["code"]) == (404, "rating.code_unknown")
    r = await client.post(RATINGS, json={"code": "no!", "rating": 5})
    assert (r.status_code, r.json()["code"]) == (422, "rating.code_invalid")


async def test_the_public_endpoint_is_rate_limited(settings: Settings) -> None:
    app = create_app(msgspec.structs.replace(settings, ratings_per_minute=3))
    async with AsyncTestClient(app=app) as client:
        answers = [(await client.post(RATINGS, json={"code": "0000000000", "rating": 5})) for _ in range(4)]
    assert [r.status_code for r in answers] == [404, 404, 404, 429]
    assert answers[-1].json()["code"] == "request.rate_limited"


@pytest.mark.redis
async def test_the_limit_is_shared_through_redis_by_every_api_process(settings: Settings) -> None:
    url = os.environ.get("DAIBAN_TEST_REDIS", "redis://127.0.0.1:6379/5")
    shared = msgspec.structs.replace(settings, ratings_per_minute=3, redis_url=url)
    redis = Redis.from_url(url)
    await redis.flushdb()
    await redis.aclose()
    statuses = []
    for _ in range(2):  # two API processes behind one address
        async with AsyncTestClient(app=create_app(shared)) as client:
            for _ in range(2):
                r = await client.post(RATINGS, json={"code": "0000000000", "rating": 5})
                statuses.append(r.status_code)
    assert statuses == [404, 404, 404, 429]
