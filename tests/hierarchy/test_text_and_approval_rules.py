"""Rules the device and the server share about free text and who decides an extension."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from hierarchy.cases import Actor, CaseKind, CaseState, Status
from hierarchy.errors import Forbidden, InvalidInput
from hierarchy.machine import Action, decide
from hierarchy.roles import Role
from hierarchy.tree import Level

NOW = datetime(2026, 5, 6, 9, 0, tzinfo=UTC)
CITY = "/640500/"
DISPATCHER = Actor(id=3, unit_code="640500", unit_path=CITY, role=Role.DISPATCHER, level=Level.CITY,
                   username="dispatcher")  # fmt: skip
OTHER = dataclasses.replace(DISPATCHER, id=4, username="dispatcher2")


def case(**over: object) -> CaseState:
    base = CaseState(
        id="c1", kind=CaseKind.SERVICE, item_code="N01-newborn-birth", status=Status.IN_PROGRESS,
        origin_unit="640500", origin_path=CITY, owner_unit="640500", owner_path=CITY, created_by=3,
        assignee_id=3, holders=(3,), accepted_at=NOW, due_at=NOW + timedelta(days=7), promised_days=5,
        materials=({"code": "marriage-certificate", "name": "父母结婚证", "state": "missing", "deferrable": True},),
    )  # fmt: skip
    return dataclasses.replace(base, **over)  # type: ignore[arg-type]


def test_a_deferral_commitment_is_text_without_nul() -> None:
    entry = {"code": "marriage-certificate", "state": "deferred", "due": "2026-05-08"}
    with pytest.raises(InvalidInput) as refused:
        decide(case(), DISPATCHER, Action.UPDATE, {"materials": [entry | {"commitment": "承诺\x00补交"}]}, NOW)
    assert refused.value.code == "case.commitment_invalid"
    decided = decide(case(), DISPATCHER, Action.UPDATE, {"materials": [entry | {"commitment": "承诺补交"}]}, NOW)
    assert decided.changes["materials"][0]["commitment"] == "承诺补交"


def test_nobody_decides_their_own_extension() -> None:
    asked = decide(case(), DISPATCHER, Action.EXTEND, {"reason": "等材料", "days": 2}, NOW).changes["extension"]
    pending = case(extension=asked)
    with pytest.raises(Forbidden) as refused:
        decide(pending, DISPATCHER, Action.APPROVE_EXTENSION, {"approve": True}, NOW)
    assert refused.value.code == "case.own_extension"
    approved = decide(pending, OTHER, Action.APPROVE_EXTENSION, {"approve": True}, NOW)
    assert approved.changes["extension"]["state"] == "approved"
