"""Headers every answer carries: ``X-Content-Type-Options: nosniff`` everywhere, and
``Cache-Control: no-store`` on API answers (tokens and personal data must not sit in a
browser's or a proxy's cache) unless a route set its own.

It is the app's ``before_send`` hook, so it also reaches answers no route produced
(an unknown path's 404, a refused sign-in).
"""

from __future__ import annotations

from litestar.types import Message, Scope


def security_headers(message: Message, scope: Scope) -> None:
    if message["type"] != "http.response.start":
        return
    headers = list(message.get("headers", []))
    names = {bytes(name).lower() for name, _ in headers}
    headers.append((b"x-content-type-options", b"nosniff"))
    if scope["path"].startswith("/api/") and b"cache-control" not in names:
        headers.append((b"cache-control", b"no-store"))
    message["headers"] = headers
