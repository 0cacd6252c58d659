"""Problem details speak the language asked for; the code stays the same English key."""

from __future__ import annotations

from factories import assert_problem

from hierarchy.i18n import _, use_language

MISSING = "/api/v1/cases/00000000-0000-4000-8000-000000000000"


async def test_problem_words_follow_accept_language(client) -> None:
    token = await client.post("/api/v1/auth/token", json={"username": "a640502100", "password": "demo"})
    auth = {"Authorization": f"Bearer {token.json()['access_token']}"}

    zh = await client.get(MISSING, headers={**auth, "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    body = assert_problem(zh, 404, "case.not_found")
    assert (body["title"], body["detail"]) == ("未找到", "没有此案件。")
    assert zh.headers["content-language"] == "zh-CN"

    en = await client.get(MISSING, headers={**auth, "Accept-Language": "en-US,en;q=0.9"})
    body = assert_problem(en, 404, "case.not_found")
    assert body["title"] == "Not found" and body["detail"] == "no such case"

    # No preference: Chinese first.
    plain = await client.get(MISSING, headers=auth)
    assert assert_problem(plain, 404, "case.not_found")["detail"] == "没有此案件。"


async def test_sign_in_refusal_and_unknown_codes(client) -> None:
    wrong = await client.post(
        "/api/v1/auth/token", json={"username": "a640502100", "password": "nope"}, headers={"Accept-Language": "zh-CN"}
    )
    body = assert_problem(wrong, 401, "auth.invalid_credentials")
    assert body["detail"] == "用户名或密码错误。" and body["title"] == "需要登录"
    with use_language("zh_CN"):
        assert _("The request was refused ({code}).").format(code="x.y") == "请求被拒绝（x.y）。"
