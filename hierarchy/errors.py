"""Domain errors shared by every package.

    DaibanError
     ├── NotFound        (404)  unit.not_found, case.not_found, item.not_found …
     ├── Forbidden       (403)  auth.forbidden …
     ├── Unauthorized    (401)  auth.invalid_credentials, auth.token_invalid …
     ├── Conflict        (409)  case.already_claimed, case.version_conflict, case.illegal_transition …
     ├── InvalidInput    (422)  applicant.resident_id_invalid, unit.tree_invalid …
     ├── TooLarge        (413)  sync.batch_too_large …
     └── RateLimited     (429)  auth.rate_limited

Every error carries a stable machine ``code`` and optional structured ``data``; the
message is for people and may change. Boundaries translate these once (HTTP problem
details on the server, the client's own error type in ``sync``).
"""

from __future__ import annotations

from typing import Any


class DaibanError(Exception):
    """Base of all domain errors."""

    #: The HTTP status, set per class here; the client's ``SyncError`` keeps, per instance,
    #: the status the server answered with.
    status: int = 400

    def __init__(self, code: str, message: str, /, **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data: dict[str, Any] = data

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class NotFound(DaibanError):
    status = 404


class Unauthorized(DaibanError):
    status = 401


class Forbidden(DaibanError):
    status = 403


class Conflict(DaibanError):
    status = 409


class InvalidInput(DaibanError):
    status = 422


class TooLarge(DaibanError):
    status = 413


class RateLimited(DaibanError):
    status = 429
