"""What a form checks before it sends: the server's own checks, with the same codes.

A form points at the wrong box at once, offline too; the server (or, on a device, the
next sync) still has the last word and answers with these same codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hierarchy.errors import InvalidInput
from hierarchy.machine import merge_materials
from hierarchy.validation import check_credit_code, check_mobile, check_resident_id
from sync.wire import Case, state_of


def check_new_case(body: Mapping[str, Any], items: Mapping[str, object]) -> dict[str, Any]:
    """``body`` (a ``CaseCreate`` without id) with the applicant's identifiers normalised.

    Raises:
        InvalidInput: ``item.unknown``, ``applicant.name_required``,
            ``applicant.resident_id_required`` / ``_invalid``, ``applicant.credit_code_required``
            / ``_invalid``, ``applicant.phone_invalid``, ``case.project_required``; ``field``
            names the box.
    """
    out = dict(body)
    if out.get("item_code") not in items:
        raise InvalidInput("item.unknown", "pick the matter (一件事) from the catalogue", field="item_code")
    applicant = dict(out.get("applicant") or {})
    if not str(applicant.get("name") or "").strip():
        raise InvalidInput("applicant.name_required", "the applicant needs a name", field="applicant.name")
    applicant["name"] = str(applicant["name"]).strip()
    if applicant.get("type") == "firm":
        if not applicant.get("credit_code"):
            raise InvalidInput(
                "applicant.credit_code_required",
                "a firm needs its unified social credit code",
                field="applicant.credit_code",
            )
        applicant["credit_code"] = check_credit_code(str(applicant["credit_code"]))
        applicant.pop("resident_id", None)
    else:
        if not applicant.get("resident_id"):
            raise InvalidInput(
                "applicant.resident_id_required", "a person needs a resident ID", field="applicant.resident_id"
            )
        applicant["resident_id"] = check_resident_id(str(applicant["resident_id"]))
        applicant.pop("credit_code", None)
    if applicant.get("phone"):
        applicant["phone"] = check_mobile(str(applicant["phone"]))
    else:
        applicant.pop("phone", None)
    out["applicant"] = applicant
    if out.get("kind") == "project_issue" and not (out.get("project") or {}).get("name"):
        raise InvalidInput("case.project_required", "a project issue names its project", field="project")
    return out


def check_materials(case: Case, patch: list[dict[str, Any]]) -> None:
    """The rules' check of a materials patch (容缺: a commitment, due no later than the case).

    Raises:
        InvalidInput: ``case.material_unknown``, ``case.material_state_invalid``,
            ``case.material_not_deferrable``, ``case.deferral_due_invalid``,
            ``case.commitment_required``, ``case.deferral_after_due``.
    """
    merge_materials(state_of(case), patch)
