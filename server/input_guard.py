"""Input no storage can take is refused at the door, as a 400 problem with a code.

:class:`InputGuard` checks every request before routing: the path and the query string
must be UTF-8 without control characters (``request.invalid_characters``), and a JSON
body must not carry control characters other than tab and line breaks in its strings
(``\\u0000`` cannot be stored by PostgreSQL, and none of them belongs in a form field).
Only JSON bodies are scanned, chunk by chunk as the application reads them.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

from hierarchy.errors import DaibanError

#: Control characters but tab and line breaks.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: A JSON escape of such a character, not itself escaped (an even run of backslashes before it).
_JSON_CONTROL = re.compile(rb"(?<!\\)(?:\\\\)*\\u00(?:0[0-8bBcCeEfF]|1[0-9a-fA-F]|7[fF])")
_JSON_TYPES = (b"application/json", b"application/problem+json", b"application/merge-patch+json")


#: Routes whose body is a batch checked item by item: one bad operation in a sync push is
#: refused alone (``sync.op_invalid``) instead of failing, and stalling, its whole batch.
CHECKED_PER_ITEM = frozenset({"/api/v1/sync/push"})


class BadInput(DaibanError):
    status = 400


def _text_ok(raw: bytes) -> bool:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return _CONTROL.search(text) is None


def _query_ok(query: bytes) -> bool:
    for part in query.split(b"&"):
        for piece in part.split(b"=", 1):
            if not _text_ok(unquote_to_bytes(piece.replace(b"+", b" "))):
                return False
    return True


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return b""


class InputGuard:
    """ASGI middleware (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogateescape")
        if not _text_ok(unquote_to_bytes(raw_path)) or not _query_ok(scope.get("query_string", b"")):
            raise BadInput("request.invalid_characters", "地址或查询参数含有无效字符（控制字符或非 UTF-8）")
        media = _header(scope, b"content-type").split(b";")[0].strip().lower()
        if media not in _JSON_TYPES or scope["path"] in CHECKED_PER_ITEM:
            await self.app(scope, receive, send)
            return
        tail = b""

        async def checked() -> ReceiveMessage:
            # Scanned as the app reads it, so nothing is held here; the tail of the last
            # chunk catches an escape split across two.
            nonlocal tail
            message = await receive()
            if message["type"] == "http.request":
                chunk = tail + message.get("body", b"")
                if _JSON_CONTROL.search(chunk):
                    raise BadInput("request.invalid_characters", "请求体的文本含有控制字符")
                tail = chunk[-16:]
            return message

        await self.app(scope, checked, send)
