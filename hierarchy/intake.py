"""The checks a new case passes before it exists, on the server and on the device alike.

Both the API's create, the synced ``create`` operation and an offline device taking a
matter call these, so a create the device accepted is refused by the server only for
what the device cannot know (an item withdrawn since it last synced, a taken id).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hierarchy.cases import CaseKind, Source
from hierarchy.errors import InvalidInput
from hierarchy.items import check_applicant_fits
from hierarchy.machine import MAX_TITLE, check_text
from hierarchy.validation import check_credit_code, check_phone, check_resident_id


def check_applicant(applicant: Mapping[str, Any]) -> dict[str, Any]:
    """The applicant as stored: identifiers validated and normalised, empty fields dropped.

    ``applicant`` has the wire form: ``type`` (person or firm), ``name``, and
    ``resident_id``/``credit_code``, ``phone``, ``contact`` as given.
    """
    out = dict(applicant)
    if not str(applicant.get("name") or "").strip():
        raise InvalidInput("applicant.name_required", "the applicant needs a name", field="applicant.name")
    for name in ("name", "contact"):
        if "\x00" in str(applicant.get(name) or ""):
            raise InvalidInput(
                f"applicant.{name}_invalid", "text cannot hold a NUL character", field=f"applicant.{name}"
            )
    if applicant.get("type") == "person":
        if applicant.get("resident_id") is None:
            raise InvalidInput(
                "applicant.resident_id_required", "a person needs a resident ID", field="applicant.resident_id"
            )
        out["resident_id"] = check_resident_id(str(applicant["resident_id"]))
    else:
        if applicant.get("credit_code") is None:
            raise InvalidInput(
                "applicant.credit_code_required",
                "a firm needs its unified social credit code",
                field="applicant.credit_code",
            )
        out["credit_code"] = check_credit_code(str(applicant["credit_code"]))
    if applicant.get("phone") is not None:
        out["phone"] = check_phone(str(applicant["phone"]))
    return {k: v for k, v in out.items() if v is not None}


def check_case_fields(
    *,
    kind: CaseKind,
    source: Source,
    item_code: str,
    item: Mapping[str, Any] | None,
    title: str,
    description: str,
    has_project: bool,
    applicant_type: str,
    ticket_no: str | None,
) -> tuple[str, str | None]:
    """Check a new case's own fields against its item (None: not in the catalogue).

    Returns its title (the item's name when none is given) and its 12345 ticket number.
    """
    # A complaint, a 12345 matter or a project issue (a blocker) need not be a catalogue item.
    no_item = kind in (CaseKind.COMPLAINT, CaseKind.PROJECT_ISSUE) or source is Source.HOTLINE
    if item is None and (item_code or not no_item):
        raise InvalidInput("item.unknown", f"no item with code {item_code}", field="item_code")
    ticket = check_text(ticket_no, "ticket_no", limit=40) or None
    if source is Source.HOTLINE and ticket is None:
        raise InvalidInput("case.ticket_no_required", "a 12345 matter carries its ticket number", field="ticket_no")
    checked = check_text(title, "title", limit=MAX_TITLE, required=item is None) or (item or {})["name"]
    if "\x00" in description:
        raise InvalidInput("case.description_invalid", "text cannot hold a NUL character", field="description")
    if kind is CaseKind.PROJECT_ISSUE and not has_project:
        raise InvalidInput("case.project_required", "a project issue names its project", field="project")
    if kind is CaseKind.PROJECT_ISSUE and applicant_type != "firm":
        raise InvalidInput(
            "case.enterprise_required", "a project issue is raised for an enterprise", field="applicant.type"
        )
    if item is not None:
        check_applicant_fits(item, applicant_type, kind)
    return checked, ticket
