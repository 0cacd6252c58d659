"""好差评 on the applicant's phone: the page the receipt's QR code opens (no sign-in).

``GET /r/{code}`` shows the form; ``POST /r/{code}`` takes it as a normal HTML form and
records the rating through :func:`server.ratings.rate_with_code`, the same rules as the
JSON endpoint, behind the same per-address rate limit. The code in the address is the
secret; a post another site makes a browser send is refused by its ``Sec-Fetch-Site``
or ``Origin`` header when the browser sends one.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath

from hierarchy.errors import DaibanError, Forbidden, InvalidInput
from hierarchy.i18n import _, best_language, use_language
from server import ratings
from server.deps import EngineDep, NowDep, SettingsDep
from server.rating_page import HEADERS, form_page, refusal_page, thanks_page
from server.ratings import RatingIn

HTML = MediaType.HTML  # Litestar adds the charset (utf-8)
#: ``Sec-Fetch-Site`` values of a post from this page itself (``none``: typed or bookmarked).
SAME_SITE = frozenset({"same-origin", "none"})
RATINGS = frozenset("12345")
#: Control characters but tab and line breaks: dropped from the comment (the JSON endpoint
#: refuses them at the door; a form's text area can carry them pasted in).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _html(body: str, language: str, status: int = 200) -> Response[str]:
    headers = {**HEADERS, "Content-Language": language.replace("_", "-")}
    return Response(body, status_code=status, media_type=HTML, headers=headers)


def _language(request: Request[Any, Any, Any]) -> str:
    return best_language(request.headers.get("accept-language"))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def check_same_origin(request: Request[Any, Any, Any], public_url: str) -> None:
    """Refuse a cross-site post (``rating.cross_site``) when the browser says it is one."""
    fetch_site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if fetch_site is not None:
        allowed = fetch_site.lower() in SAME_SITE
    elif origin is not None:
        ours = {_origin(str(request.base_url))} | ({_origin(public_url)} if public_url else set())
        allowed = origin.lower() in ours
    else:
        allowed = True  # no browser hint (an old phone, a kiosk): the code alone decides
    if not allowed:
        raise Forbidden("rating.cross_site", "the rating form must be sent from its own page")


def refused(request: Request[Any, Any, Any], exc: Exception) -> Response[str]:
    """A refusal as a page in words, with its status (also the rate limit's 429)."""
    if not isinstance(exc, DaibanError):
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        exc = DaibanError("request.rate_limited" if status == 429 else f"http.{status}", str(exc))
        exc.status = status
    language = _language(request)
    with use_language(language):
        return _html(refusal_page(exc, language), language, exc.status)


class RatingPageController(Controller):
    path = "/r"
    include_in_schema = False  # a page for people, not part of the API
    exception_handlers = {DaibanError: refused, HTTPException: refused}  # noqa: RUF012

    @get("/{code:str}")
    async def show(self, request: Request[Any, Any, Any], code: FromPath[str]) -> Response[str]:
        case = await ratings.rateable(code)  # used, expired or too early: the post's refusal
        language = _language(request)
        with use_language(language):
            return _html(form_page(case, code, language), language)

    @post("/{code:str}", status_code=200)
    async def rate(
        self, request: Request[Any, Any, Any], engine: EngineDep, now: NowDep, settings: SettingsDep,
        code: FromPath[str],
    ) -> Response[str]:  # fmt: skip
        check_same_origin(request, settings.public_url)
        form = await request.form()
        rating = str(form.get("rating") or "")
        comment = _CONTROL.sub("", str(form.get("comment") or ""))
        language = _language(request)
        with use_language(language):
            try:
                data = RatingIn(code=code, rating=int(rating) if rating in RATINGS else 0, comment=comment)
                done = await ratings.rate_with_code(engine, data, now)
            except InvalidInput as exc:
                if exc.code == "rating.code_invalid":
                    raise
                case = await ratings.describe(code)
                words = (
                    _("The comment is too long.")
                    if "comment" in exc.code
                    else _("Please choose one of the five ratings.")
                )
                return _html(form_page(case, code, language, error=words, comment=comment), language, 422)
            return _html(thanks_page(done, language), language)
