"""The OpenAPI document completed for client generators (a mobile team builds from it).

Litestar describes routes, parameters and bodies; :func:`complete` adds what it cannot
know: the bearer scheme and which operations need it, every error answer as RFC 9457
problem details (the shape :mod:`server.problems` sends, with the codes each status
carries), the push body that the sync route reads itself (JSON or MessagePack), and one
path per case action with the arguments that action takes.
It runs once, when a render plugin first serves the document.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import msgspec
from litestar import Request
from litestar.openapi.plugins import JsonRenderPlugin

from hierarchy.machine import Action
from server.auth import PUBLIC_PATHS
from sync.protocol import MSGPACK, PushRequest

BEARER = "bearer"
PROBLEM = "Problem"

#: Status → what it means and the codes it carries (the common ones; routes add their own).
ERRORS: dict[str, tuple[str, list[str]]] = {
    "400": ("The request cannot be read", [
        "request.invalid", "request.malformed_json", "request.invalid_characters", "request.invalid_encoding",
        "request.too_deep", "request.cursor_invalid",
    ]),
    "401": ("Not signed in", ["auth.required", "auth.token_invalid", "auth.agent_disabled",
                              "auth.invalid_credentials"]),
    "403": ("Not allowed", ["auth.forbidden", "auth.password_change_required", "case.forbidden"]),
    "404": ("Not found (outside your scope is not found too)", ["route.not_found", "case.not_found", "unit.not_found"]),
    "405": ("Method not allowed", ["route.method_not_allowed"]),
    "409": ("Conflicts with the current state", ["case.version_conflict", "case.illegal_transition"]),
    "413": ("Body too large", ["request.too_large"]),
    "415": ("Unsupported content type", ["request.unsupported_media_type"]),
    "422": ("Well-formed but refused by the rules (``field`` names the input)", ["case.reason_required"]),
    "429": ("Too many requests; wait Retry-After seconds", ["auth.rate_limited", "auth.busy", "request.rate_limited",
                                                            "upload.too_many_open"]),
    "500": ("Internal error (logged; never caused by input)", ["internal"]),
    # Only the resumable uploads (tus) answer these.
    "412": ("Tus-Resumable missing or unsupported", ["upload.tus_version"]),
    "460": ("The bytes do not match their checksum or the announced sha256 (tus checksum)",
            ["upload.checksum_mismatch", "upload.sha256_mismatch"]),
}  # fmt: skip
_UPLOADS = "/api/v1/uploads"

_PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "stable machine code, e.g. case.not_found"},
        "instance": {"type": "string"},
        "field": {"type": "string", "description": "the input at fault, when there is one"},
        "errors": {"type": "array", "items": {"type": "object"}, "description": "each invalid input"},
    },
    "description": "RFC 9457 problem details; further members carry the error's data.",
}


def _problem_response(status: str, *, body: bool = True) -> dict[str, Any]:
    meaning, codes = ERRORS[status]
    answer: dict[str, Any] = {"description": f"{meaning}. Codes: {', '.join(codes)} …"}
    if body:  # a HEAD answer never has one
        answer["content"] = {"application/problem+json": {"schema": {"$ref": f"#/components/schemas/{PROBLEM}"}}}
    return answer


def _public(path: str) -> bool:
    return any(re.match(pattern, path) for pattern in PUBLIC_PATHS) or path in ("/metrics",)


_ACT = "/api/v1/cases/{case_id}/{action}"
#: Each case action's arguments: (required, optional); ``expected_version`` is always optional.
ACTION_ARGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "claim": ((), ()),
    "release": ((), ("reason",)),
    "escalate": (("reason",), ()),
    "return": (("reason",), ()),
    "dispatch": (("unit",), ("reason", "note")),
    "handover": (("note",), ("unit", "agent")),
    "wait": (("reason",), ()),
    "resume": ((), ()),
    "extend": (("reason", "days"), ()),
    "approve-extension": ((), ("approve",)),
    "resolve": (("note",), ("uphold", "issued", "delivery", "delivered_on")),
    "confirm": (("rating",), ("comment",)),
    "reopen": (("reason",), ()),
    "cancel": (("reason",), ()),
    "update": ((), ("title", "description", "materials", "applicant")),
    "attach": (("sha256",), ("material", "name", "media_type", "size", "provided")),
    "detach": (("sha256",), ()),
    "feedback": (("note",), ()),
    "close-unrated": ((), ("days",)),
}


def _camel(action: str) -> str:
    head, *rest = action.split("-")
    return head + "".join(word.title() for word in rest)


def _split_actions(document: dict[str, Any]) -> None:
    """One path per case action, each with the arguments it takes (the route is one)."""
    paths = document.get("paths", {})
    item = paths.get(_ACT)
    if item is None or "post" not in item:
        return
    generic = item["post"]
    schemas = document["components"]["schemas"]
    fields = schemas.get("ActionRequest", {}).get("properties", {})
    for action in (a.value for a in Action):
        # An action not listed here yet takes any of the arguments, none required.
        required, optional = ACTION_ARGS.get(action, ((), tuple(fields)))
        name = f"{_camel(action)[0].upper()}{_camel(action)[1:]}Args"
        names = [f for f in (*required, *optional, "expected_version") if f in fields]
        schemas[name] = {
            "type": "object",
            "properties": {f: fields[f] for f in names},
            "required": [f for f in required if f in fields],
            "additionalProperties": False,
            "description": f"Arguments of {action}.",
        }
        op = copy.deepcopy(generic)
        op["operationId"] = f"{_camel(action)}Case"
        op["summary"] = f"{action} a case"
        op["parameters"] = [p for p in op.get("parameters", []) if p.get("name") != "action"]
        op["requestBody"] = {
            "required": bool(required),
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
        paths[_ACT.replace("{action}", action)] = {"post": op}
    del paths[_ACT]


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (Litestar's OpenAPI as a dict) with the additions above, in place."""
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "description": "POST /api/v1/auth/token gives the token",
    }
    schemas = components.setdefault("schemas", {})
    schemas[PROBLEM] = _PROBLEM_SCHEMA
    _, push_components = msgspec.json.schema_components([PushRequest], ref_template="#/components/schemas/{name}")
    for name, schema in push_components.items():
        schemas.setdefault(name, schema)
    _split_actions(document)
    for path, item in document.get("paths", {}).items():
        for method, op in item.items():
            if method not in ("get", "head", "options", "post", "put", "patch", "delete"):
                continue
            public = _public(path)
            op["security"] = [] if public else [{BEARER: []}]
            statuses = set(ERRORS) - ({"401"} if public and path != "/api/v1/auth/token" else set())
            if not path.startswith(_UPLOADS):
                statuses -= {"412", "460"}
            if method != "patch":
                statuses -= {"460"}
            if method in ("get", "head", "options"):
                statuses -= {"409", "413", "415"}
            responses = op.setdefault("responses", {})
            for status in sorted(statuses):
                responses[status] = _problem_response(status, body=method != "head")
            if method == "options":
                responses.setdefault("204", {"description": "What the endpoint supports, in headers"})
            if method == "post" and "201" in responses:
                # Creates are idempotent: the same create again answers 200 with what exists.
                responses.setdefault("200", {**responses["201"], "description": "Already there (a replay)"})
            if op.get("operationId") == "syncPush":
                ref = {"$ref": "#/components/schemas/PushRequest"}
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": ref}, MSGPACK: {"schema": ref}},
                }
    return document


def completed(document: dict[str, Any]) -> dict[str, Any]:
    """:func:`complete` once: Litestar caches the dict it renders, so the change stays."""
    if BEARER not in document.get("components", {}).get("securitySchemes", {}):
        complete(document)
    return document


class CompleteJsonPlugin(JsonRenderPlugin):
    """``/schema/openapi.json``, completed."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, completed(openapi_schema))
