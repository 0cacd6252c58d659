"""Catalogue rules a new case must follow, on the server and on a device alike.

- **Who an item serves**: a person's item (新生儿出生) is not opened for a firm, nor a
  firm's (企业注销登记) for a person; some serve both. A project issue (项目帮办) is an
  enterprise's.
- **跨域通办**: a local item belongs to one county-level unit (枸杞地理标志 to 中宁县). Opened
  outside that county, it is an 异地代收 — accepted here, handled there: the case goes
  straight into that county's task-force queue instead of climbing the chain.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from hierarchy.cases import CaseKind
from hierarchy.errors import InvalidInput
from hierarchy.tree import in_subtree


class Serves(enum.StrEnum):
    PERSON = "person"
    ENTERPRISE = "enterprise"
    BOTH = "both"


#: The applicant type (wire ``applicant.type``) each kind of item accepts.
_ACCEPTS = {Serves.PERSON: {"person"}, Serves.ENTERPRISE: {"firm"}, Serves.BOTH: {"person", "firm"}}


def serves_of(item: Mapping[str, Any]) -> Serves:
    """Who an item serves: its ``serves``, else what its life cycle implies."""
    if item.get("serves"):
        return Serves(item["serves"])
    return Serves.ENTERPRISE if item.get("lifecycle") == "enterprise" else Serves.PERSON


def check_applicant_fits(item: Mapping[str, Any], applicant_type: str, kind: CaseKind) -> None:
    """Raises ``case.applicant_type_mismatch`` or ``case.project_needs_enterprise``."""
    if kind is CaseKind.PROJECT_ISSUE and applicant_type != "firm":
        raise InvalidInput(
            "case.enterprise_required", "a project issue is raised for an enterprise", field="applicant.type"
        )
    if not item:
        return  # a complaint or a 12345 matter may name no item
    serves = serves_of(item)
    if applicant_type not in _ACCEPTS[serves]:
        who = {"person": "个人", "firm": "企业"}.get(applicant_type, applicant_type)
        raise InvalidInput(
            "case.applicant_type_mismatch",
            f"item {item.get('code')} serves {serves.value}, not a {applicant_type} ({who})",
            field="applicant.type",
            serves=serves.value,
        )


def cross_county_owner(item: Mapping[str, Any], origin_path: str) -> tuple[str, str] | None:
    """The (code, path) of the county whose queue a local item opened elsewhere goes to;
    None when the item is not local to one county or the origin is inside it."""
    path = item.get("locality_path")
    code = item.get("locality_code")
    if not path or not code or in_subtree(origin_path, str(path)):
        return None
    return str(code), str(path)
