"""Every error leaves the API as RFC 9457 problem details with a stable ``code``."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from hierarchy.errors import DaibanError
from hierarchy.i18n import best_language
from hierarchy.problem_words import describe

log = logging.getLogger("daiban.server")

PROBLEM_JSON = "application/problem+json"

#: Codes for errors the framework raises before our handlers run.
_HTTP_CODES = {
    400: "request.invalid",
    401: "auth.required",
    403: "auth.forbidden",
    404: "route.not_found",
    405: "route.method_not_allowed",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    429: "request.rate_limited",
}


def problem(status: int, code: str, detail: str, request: Request[Any, Any, Any], /, **extra: Any) -> Response[Any]:
    # Words for people in the language asked for (zh-CN unless Accept-Language says
    # otherwise); the code stays the stable English key.
    language = best_language(request.headers.get("accept-language"))
    title, detail = describe(status, code, detail, extra, language)
    body = {
        "type": f"https://daiban.example/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
    }
    # An error's data never overrides the members RFC 9457 and clients rely on.
    body |= {k: v for k, v in extra.items() if k not in body}
    headers = {"Content-Language": language.replace("_", "-")}
    if status == 401:
        # RFC 6750: say which scheme to use, and that the token given is no good.
        headers["WWW-Authenticate"] = (
            'Bearer realm="daiban", error="invalid_token"' if code == "auth.token_invalid" else 'Bearer realm="daiban"'
        )
    if "retry_after" in extra:
        headers["Retry-After"] = str(int(extra["retry_after"]))
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def domain_error(request: Request[Any, Any, Any], exc: DaibanError) -> Response[Any]:
    return problem(exc.status, exc.code, exc.message, request, **exc.data)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    extra: dict[str, Any] = {}
    if isinstance(exc, ValidationException):
        code = "request.invalid"
        if isinstance(exc.extra, list):
            extra["errors"] = [
                {k: v for k, v in e.items() if k in ("key", "message", "source")}
                for e in exc.extra
                if isinstance(e, dict)
            ]
        detail = exc.detail or "the request is not valid"
        if "JSON is malformed" in detail or "decode" in detail.lower():
            code = "request.malformed_json"
    elif isinstance(exc.__cause__, SerializationException):
        # Litestar wraps a body it cannot decode (bad JSON or MessagePack) in a ClientException.
        code, detail = "request.malformed_json", f"the body cannot be decoded: {exc.detail}"
    else:
        code = _HTTP_CODES.get(status, f"http.{status}")
        detail = exc.detail
    return problem(status, code, detail, request, **extra)


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Logged with its traceback; the client gets a code, never a stack.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(HTTP_500_INTERNAL_SERVER_ERROR, "internal", "internal error", request)


def decode_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A body the JSON decoder could not read at all (invalid UTF-8, nesting deeper than
    the decoder recurses); the same errors raised anywhere else stay a 500."""
    if not any("decode" in frame.name for frame in traceback.extract_tb(exc.__traceback__)[-3:]):
        return internal_error(request, exc)
    if isinstance(exc, RecursionError):
        return problem(400, "request.too_deep", "JSON 嵌套层数过多", request)
    return problem(400, "request.invalid_encoding", "请求体不是有效的 UTF-8", request)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    UnicodeDecodeError: decode_error,
    RecursionError: decode_error,
    DaibanError: domain_error,
    HTTPException: http_error,
    Exception: internal_error,
}
