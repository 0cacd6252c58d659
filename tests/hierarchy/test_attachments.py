"""The attachment rules the device and the server share: what may be attached, by whom, how much."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from hierarchy.attachments import MAX_CASE_BYTES, MAX_FILE_BYTES, OTHER
from hierarchy.cases import Actor, CaseKind, CaseState, Status
from hierarchy.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from hierarchy.machine import Action, apply, decide
from hierarchy.roles import Role
from hierarchy.tree import Level

NOW = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)
VILLAGE = Actor(id=7, unit_code="640502100002", unit_path="/640500/640502/640502100/640502100002/",
                role=Role.VILLAGE_AGENT, level=Level.VILLAGE, username="a640502100002")  # fmt: skip
STRANGER = Actor(id=9, unit_code="640521100", unit_path="/640500/640521/640521100/", role=Role.TOWN_AGENT,
                 level=Level.TOWN, username="a640521100")  # fmt: skip
SHA = "a" * 64


def case(**over: object) -> CaseState:
    base = CaseState(
        id="c1", kind=CaseKind.SERVICE, item_code="N01-newborn-birth", status=Status.IN_PROGRESS,
        origin_unit=VILLAGE.unit_code, origin_path=VILLAGE.unit_path, owner_unit=VILLAGE.unit_code,
        owner_path=VILLAGE.unit_path, created_by=7, assignee_id=7, holders=(7,), accepted_at=NOW,
        due_at=NOW + timedelta(days=7), promised_days=5,
        materials=({"code": "birth-medical-certificate", "name": "出生医学证明", "state": "missing"},
                   {"code": "marriage-certificate", "name": "父母结婚证", "state": "deferred",
                    "commitment": "承诺", "due": "2026-05-08"}),
    )  # fmt: skip
    return dataclasses.replace(base, **over)  # type: ignore[arg-type]


def attach_args(**over: object) -> dict[str, object]:
    return {"sha256": SHA, "material": "birth-medical-certificate", "name": "出生证明.jpg",
            "media_type": "image/jpeg", "size": 1000, **over}  # fmt: skip


def test_attach_with_provided_marks_the_material_and_detach_takes_it_off() -> None:
    c = case()
    d = decide(c, VILLAGE, Action.ATTACH, attach_args(provided=True), NOW)
    after = apply(c, d)
    [entry] = after.attachments
    assert (entry["sha256"], entry["material"], entry["added_by"]) == (SHA, "birth-medical-certificate", 7)
    assert after.materials[0]["state"] == "provided" and after.version == c.version + 1
    # A deferred material attached as provided loses its commitment and due date.
    d = decide(after, VILLAGE, Action.ATTACH, attach_args(sha256="b" * 64, material="marriage-certificate",
                                                         provided=True), NOW)  # fmt: skip
    m = apply(after, d).materials[1]
    assert m["state"] == "provided" and "commitment" not in m and "due" not in m
    gone = apply(after, decide(after, VILLAGE, Action.DETACH, {"sha256": SHA}, NOW))
    assert gone.attachments == () and gone.materials[0]["state"] == "provided"


@pytest.mark.parametrize(
    ("args", "error", "code"),
    [
        (attach_args(media_type="application/x-msdownload"), InvalidInput, "attachment.type_refused"),
        (attach_args(media_type=""), InvalidInput, "attachment.type_refused"),
        (attach_args(size=MAX_FILE_BYTES + 1), TooLarge, "attachment.file_too_large"),
        (attach_args(size=0), InvalidInput, "attachment.size_invalid"),
        (attach_args(sha256="xyz"), InvalidInput, "attachment.sha256_invalid"),
        (attach_args(material="nope"), InvalidInput, "case.material_unknown"),
        (attach_args(name="x" * 300), InvalidInput, "attachment.name_invalid"),
        (attach_args(uploaded=False), Conflict, "attachment.not_uploaded"),
    ],
)
def test_attach_refusals(args: dict[str, object], error: type[Exception], code: str) -> None:
    with pytest.raises(error) as caught:
        decide(case(), VILLAGE, Action.ATTACH, args, NOW)
    assert caught.value.code == code  # type: ignore[attr-defined]


def test_other_material_per_case_limit_duplicates_and_who() -> None:
    c = apply(case(), decide(case(), VILLAGE, Action.ATTACH, attach_args(material=OTHER), NOW))
    assert c.attachments[0]["material"] == OTHER
    with pytest.raises(Conflict, match="already attached"):
        decide(c, VILLAGE, Action.ATTACH, attach_args(material=OTHER), NOW)
    held = MAX_FILE_BYTES - 1024 * 1024
    full = case(attachments=tuple({"sha256": f"{i:064x}", "size": held} for i in range(4)))
    room = MAX_CASE_BYTES - 4 * held
    with pytest.raises(TooLarge) as caught:
        decide(full, VILLAGE, Action.ATTACH, attach_args(size=room + 1), NOW)
    assert caught.value.code == "case.attachments_too_large"
    decide(full, VILLAGE, Action.ATTACH, attach_args(size=room), NOW)
    with pytest.raises(NotFound):
        decide(case(), STRANGER, Action.ATTACH, attach_args(), NOW)
    with pytest.raises(Conflict) as closed:
        decide(case(status=Status.CLOSED), VILLAGE, Action.ATTACH, attach_args(), NOW)
    assert closed.value.code == "case.illegal_transition"
    town_colleague = dataclasses.replace(VILLAGE, id=8, unit_code="640502100", unit_path="/640500/640502/640502100/",
                                         role=Role.TOWN_AGENT, level=Level.TOWN)  # fmt: skip
    with pytest.raises(Forbidden):
        decide(case(), town_colleague, Action.ATTACH, attach_args(), NOW)
    with pytest.raises(InvalidInput) as unknown:
        decide(case(), VILLAGE, Action.DETACH, {"sha256": "c" * 64}, NOW)
    assert unknown.value.code == "case.attachment_unknown"
