"""What the applicant gets: the materials a resolve needs, the result, corrections.

- **一次性告知**: every required material of the item's checklist is ``provided``, or
  ``deferred`` under a signed commitment (告知承诺) with a due date, before a case can be
  resolved; a ``missing`` one refuses the resolve.
- **一窗出件**: the result travels with the case — the outcome, what was issued (licence,
  certificate, decision …), how it reaches the applicant and when.
- **Corrections**: the applicant's name, phone and resident ID (or a firm's credit code)
  can be corrected; each value is checked as at creation.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from hierarchy.errors import InvalidInput
from hierarchy.validation import check_credit_code, check_phone, check_resident_id

MAX_ISSUED = 200
MAX_NAME = 100


class Delivery(enum.StrEnum):
    """How the result reaches the applicant."""

    WINDOW = "window"  # 窗口领取
    VILLAGE_POINT = "village_point"  # 村(社区)代办点转交
    POST = "post"  # 邮寄送达
    E_LICENCE = "e_licence"  # 电子证照


DELIVERY_LABELS = {
    Delivery.WINDOW: "窗口领取",
    Delivery.VILLAGE_POINT: "代办点转交",
    Delivery.POST: "邮寄送达",
    Delivery.E_LICENCE: "电子证照",
}


def missing_materials(materials: Sequence[Mapping[str, Any]]) -> list[str]:
    """Codes of required materials neither provided nor deferred under a commitment.

    A material is required unless its checklist entry says ``"required": false``.
    """
    out = []
    for m in materials:
        if m.get("required", True) is False:
            continue
        state = m.get("state")
        deferred_ok = state == "deferred" and m.get("commitment") and m.get("due")
        if state != "provided" and not deferred_ok:
            out.append(str(m.get("code")))
    return out


def check_result(note: str, args: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """The result recorded at resolve: outcome (the note), what was issued, delivery and when.

    ``delivered_on`` (YYYY-MM-DD) says when the result reaches the applicant (default: the
    day of the resolve, ``at``).

    Raises:
        InvalidInput: ``case.delivery_invalid``, ``case.issued_invalid``, ``case.delivered_on_invalid``.
    """
    delivery = args.get("delivery")
    if delivery is not None:
        try:
            delivery = Delivery(delivery).value
        except ValueError:
            raise InvalidInput(
                "case.delivery_invalid", "delivery is window, village_point, post or e_licence", field="delivery"
            ) from None
    issued = args.get("issued") or ""
    if not isinstance(issued, str) or len(issued) > MAX_ISSUED or "\x00" in issued:
        raise InvalidInput("case.issued_invalid", f"issued is text of at most {MAX_ISSUED} characters", field="issued")
    delivered_on = args.get("delivered_on")
    if delivered_on is not None:
        try:
            delivered_on = date.fromisoformat(str(delivered_on)).isoformat()
        except ValueError:
            raise InvalidInput(
                "case.delivered_on_invalid", "delivered_on is a date (YYYY-MM-DD)", field="delivered_on"
            ) from None
    return {
        "outcome": note,
        "issued": issued.strip(),
        "delivery": delivery,
        "delivered_on": delivered_on,
        "at": now.isoformat(),
    }


def correct_applicant(current: Mapping[str, Any], patch: Any) -> dict[str, Any]:
    """The applicant after correcting ``name``, ``phone``, ``resident_id`` or ``credit_code``.

    Raises:
        InvalidInput: ``applicant.correction_invalid`` for anything else, or the check's
            own code (``applicant.phone_invalid`` …) for a bad value.
    """
    allowed = {"name", "phone", "resident_id", "credit_code"}
    if not isinstance(patch, Mapping) or not patch or set(patch) - allowed:
        raise InvalidInput(
            "applicant.correction_invalid", "correct name, phone, resident_id or credit_code", field="applicant"
        )
    out = dict(current)
    for key, value in patch.items():
        if not isinstance(value, str):
            raise InvalidInput(f"applicant.{key}_invalid", f"{key} is text", field=f"applicant.{key}")
        if key == "name":
            name = value.strip()
            if not name or len(name) > MAX_NAME or "\x00" in name:
                raise InvalidInput("applicant.name_invalid", "a name of 1–100 characters", field="applicant.name")
            out["name"] = name
        elif key == "phone":
            out["phone"] = check_phone(value)
        elif key == "resident_id":
            if current.get("type") != "person":
                raise InvalidInput("applicant.correction_invalid", "a firm has no resident ID", field="applicant")
            out["resident_id"] = check_resident_id(value)
        else:
            if current.get("type") != "firm":
                raise InvalidInput("applicant.correction_invalid", "a person has no credit code", field="applicant")
            out["credit_code"] = check_credit_code(value)
    return out


def result_summary(result: Mapping[str, Any]) -> str:
    """The result as one line: outcome; what was issued; how and when it reaches the applicant."""
    delivery = DELIVERY_LABELS[Delivery(result["delivery"])] if result.get("delivery") else "送达方式未填"
    parts = [str(result.get("outcome") or ""), f"出件：{result.get('issued') or '无'}", delivery]
    if result.get("delivered_on"):
        parts.append(f"送达日期 {result['delivered_on']}")
    return "；".join(p for p in parts if p)
