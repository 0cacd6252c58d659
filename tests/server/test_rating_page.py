"""The applicant's rating page (/r/{code}): a plain HTML form on the phone, no sign-in,
recording through the same rules as the JSON endpoint."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from factories import Client, case_payload, headers, provide_all
from jobkit import Clock, in_app
from litestar.testing import AsyncTestClient

from hierarchy.calendar import TZ
from server.app import create_app
from server.settings import Settings

CASES = "/api/v1/cases"
TOWN = "640502100"
ORIGIN = {"Origin": "http://testserver.local", "Sec-Fetch-Site": "same-origin"}


async def resolved_case(client: Client) -> tuple[dict[str, Any], dict[str, str]]:
    town = await headers(client, f"a{TOWN}")
    case = (await client.post(CASES, json=case_payload(), headers=town)).json()
    await provide_all(client, town, case["id"])
    r = await client.post(f"{CASES}/{case['id']}/resolve", json={"note": "已办结"}, headers=town)
    assert r.status_code == 200 and r.json()["status"] == "resolved", r.text
    return case, town


async def test_the_page_shows_the_item_and_reference_and_nothing_personal(client: Client) -> None:
    case, _town = await resolved_case(client)
    r = await client.get(f"/r/{case['rating_code']}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["cache-control"] == "no-store"
    assert "form-action 'self'" in r.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    page = r.text
    assert '<html lang="zh-CN">' in page and "新生儿出生" in page and case["ref"] in page
    assert f'<form method="post" action="/r/{case["rating_code"]}">' in page
    assert "<script" not in page and "http" not in page.split("<main>")[1], "no script, nothing fetched elsewhere"
    for n, words in ((1, "非常不满意"), (5, "非常满意")):
        assert f'value="{n}"' in page and words in page
    applicant = case["applicant"]
    for personal in (applicant["resident_id"], applicant["phone"], applicant["name"]):
        assert personal not in page
    # English when the phone asks for it.
    english = await client.get(f"/r/{case['rating_code']}", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in english.text and "Submit rating" in english.text


async def test_four_stars_by_form_are_recorded_as_the_applicants_once(client: Client) -> None:
    case, town = await resolved_case(client)
    page = f"/r/{case['rating_code']}"
    form = {"rating": "4", "comment": "办得很快 <b>谢谢</b>"}
    r = await client.post(page, data=form, headers=ORIGIN)
    assert r.status_code == 200, r.text
    assert "感谢您的评价" in r.text and "4 满意" in r.text
    stored = (await client.get(f"{CASES}/{case['id']}", headers=town)).json()
    assert (stored["status"], stored["rating"], stored["rating_source"]) == ("closed", 4, "applicant")
    assert stored["rating_comment"] == "办得很快 <b>谢谢</b>"

    again = await client.post(page, data={"rating": "5"}, headers=ORIGIN)
    assert again.status_code == 409 and "该评价码已使用" in again.text
    shown = await client.get(page)
    assert shown.status_code == 409 and "该评价码已使用" in shown.text and "<form" not in shown.text
    assert (await client.get(f"{CASES}/{case['id']}", headers=town)).json()["rating"] == 4


async def test_unknown_early_and_malformed_codes_get_a_page_in_words(client: Client) -> None:
    r = await client.get("/r/0000000000")
    assert r.status_code == 404 and "未找到该评价码" in r.text
    assert r.headers["content-type"].startswith("text/html")
    r = await client.post("/r/0000000000", data={"rating": "5"}, headers=ORIGIN)
    assert r.status_code == 404 and "未找到该评价码" in r.text
    r = await client.get("/r/no!")
    assert r.status_code == 422 and "未找到该评价码" in r.text
    town = await headers(client, f"a{TOWN}")
    fresh = (await client.post(CASES, json=case_payload(), headers=town)).json()
    r = await client.get(f"/r/{fresh['rating_code']}")
    assert r.status_code == 409 and "暂时还不能评价" in r.text


async def test_a_send_without_a_rating_or_from_another_site_records_nothing(client: Client) -> None:
    case, town = await resolved_case(client)
    page = f"/r/{case['rating_code']}"
    r = await client.post(page, data={"comment": "忘了选"}, headers=ORIGIN)
    assert r.status_code == 422 and "请选择一项评价" in r.text and "忘了选</textarea>" in r.text
    r = await client.post(page, data={"rating": "4", "comment": "长" * 2001}, headers=ORIGIN)
    assert r.status_code == 422 and "意见建议过长" in r.text
    for hint in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
        r = await client.post(page, data={"rating": "1"}, headers=hint)
        assert r.status_code == 403 and "请求来源不符" in r.text, hint
    assert (await client.get(f"{CASES}/{case['id']}", headers=town)).json()["rating"] is None
    # A phone that sends neither header: the code alone decides.
    r = await client.post(page, data={"rating": "5"})
    assert r.status_code == 200 and "感谢您的评价" in r.text


async def test_the_page_shares_the_endpoints_rate_limit_and_says_so_in_words(settings: Settings) -> None:
    app = create_app(msgspec.structs.replace(settings, ratings_per_minute=3))
    async with AsyncTestClient(app=app) as client:
        answers = [await client.get("/r/0000000000"), await client.get("/api/v1/ratings/0000000000")]
        answers += [await client.post("/r/0000000000", data={"rating": "5"}) for _ in range(2)]
    assert [r.status_code for r in answers] == [404, 404, 404, 429]
    assert "尝试次数过多" in answers[-1].text and answers[-1].headers["content-type"].startswith("text/html")


async def test_a_code_past_its_rating_time_gets_the_expired_page(settings: Settings) -> None:
    clock = Clock(datetime(2026, 11, 2, 10, 0, tzinfo=TZ))
    async with AsyncTestClient(app=create_app(settings, clock)) as client:
        case, town = await resolved_case(client)
        assert (await client.get(f"/r/{case['rating_code']}")).status_code == 200
        clock.at += timedelta(days=21)  # past the ten working days: the sweep closes it 未评价
        await in_app(client, lambda: client.app.state.jobs.enqueue("sla_sweep"))
        assert (await client.get(f"{CASES}/{case['id']}", headers=town)).json()["rating_source"] == "unrated"
        for r in (await client.get(f"/r/{case['rating_code']}"),
                  await client.post(f"/r/{case['rating_code']}", data={"rating": "5"}, headers=ORIGIN)):  # fmt: skip
            assert r.status_code == 409 and "评价期限已过" in r.text and "<form" not in r.text
