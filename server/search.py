"""Search by the person: keyed hashes of the applicant's identifiers.

Resident IDs, phones and names are looked up by exact match on an HMAC-SHA256 of the
normalised value under a server key (``DAIBAN_SEARCH_KEY``), stored in indexed columns
of the case. The index holds no identifier in clear, and without the key nobody can
test a guessed ID against it. Every entry point that opens the database sets the key
(:func:`server.db.connect`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from hierarchy.errors import InvalidInput
from hierarchy.validation import check_phone

#: The demo key; production sets DAIBAN_SEARCH_KEY (changing it needs a reindex).
DEFAULT_KEY = "daiban-demo-search-key"
_key = [DEFAULT_KEY.encode()]
KEY_COLUMNS = ("name_key", "id_key", "phone_key", "project_key")


def configure(key: str) -> None:
    _key[0] = key.encode()


def keyed(kind: str, value: str) -> str:
    """32 hex characters (128 bits) of HMAC-SHA256 over ``kind:value``."""
    return hmac.new(_key[0], f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def _name(value: str) -> str:
    return "".join(value.split())


def case_keys(applicant: Mapping[str, Any], project: Mapping[str, Any] | None) -> dict[str, str | None]:
    """The key columns of a case with this applicant and project."""
    ident = applicant.get("resident_id") or applicant.get("credit_code")
    code = str((project or {}).get("code") or "").strip().upper()
    return {
        "name_key": keyed("name", _name(str(applicant["name"]))) if applicant.get("name") else None,
        "id_key": keyed("id", str(ident).upper()) if ident else None,
        "phone_key": keyed("phone", str(applicant["phone"])) if applicant.get("phone") else None,
        "project_key": keyed("project", code) if code else None,
    }


def query_keys(text: str) -> dict[str, str]:
    """The keys a typed search matches: as a name, an ID or credit code, a phone, a project code."""
    text = text.strip()
    out = {"name_key": keyed("name", _name(text)), "id_key": keyed("id", text.upper())}
    with contextlib.suppress(InvalidInput):
        out["phone_key"] = keyed("phone", check_phone(text))
    out["project_key"] = keyed("project", text.upper())
    return out
