"""One operation the server cannot decode is rejected alone; the device's queue never stalls.

Hypothesis mixes malformed operations (unknown fields, wrong types, a create whose
``item_code`` is not text, arguments that are not an object, unknown kinds, NUL characters) with good
ones in one push from a real device replica, on both engines.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from typing import Any

from factories import Client, case_payload, in_process_device
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hierarchy.machine import Action
from sync.wire import ActionRequest, CaseCreate, EditRequest

VILLAGE = "640502100002"

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(str.strip)
#: JSON has no infinity or NaN (an encoder writes null): finite floats only.
finite = st.floats(allow_nan=False, allow_infinity=False)
not_text = st.one_of(st.integers(), st.booleans(), st.lists(st.integers(), max_size=2), finite)
fraction = finite.filter(lambda f: not f.is_integer())
not_int = st.one_of(st.text(max_size=4), st.lists(st.integers(), max_size=2), fraction)
junk = st.one_of(not_text, st.text(max_size=4), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))
not_object = st.one_of(st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=3))


def unknown_key(known: tuple[str, ...]) -> st.SearchStrategy[str]:
    return st.text(min_size=1, max_size=8).filter(lambda k: k not in known and "\x00" not in k)


def good_create_args() -> dict[str, Any]:
    body = case_payload()
    body.pop("id")
    return body


@st.composite
def bad_create(draw: st.DrawFn) -> tuple[str, Any]:
    args = good_create_args()
    how = draw(st.sampled_from(["item_type", "unknown_field", "applicant_type", "not_object", "nul", "kind"]))
    if how == "item_type":
        # (Without an item code a create still decodes: complaints and 12345 matters have
        # none, and a service case without one is refused by the rules, item.unknown.)
        args["item_code"] = draw(not_text)
    elif how == "unknown_field":
        args[draw(unknown_key(CaseCreate.__struct_fields__))] = draw(junk)
    elif how == "applicant_type":
        args["applicant"] = draw(st.one_of(not_text, st.text(max_size=4)))
    elif how == "not_object":
        return "create", draw(not_object)
    elif how == "nul":
        args["description"] = "缺材料\x00"
    else:
        args["kind"] = draw(st.text(max_size=6).filter(lambda k: k not in ("service", "project_issue", "complaint")))
    return "create", args


@st.composite
def bad_edit(draw: st.DrawFn) -> tuple[str, Any]:
    how = draw(st.sampled_from(["unknown_field", "title_type", "materials_type", "not_object"]))
    if how == "unknown_field":
        return "edit", {draw(unknown_key(EditRequest.__struct_fields__)): draw(junk)}
    if how == "title_type":
        return "edit", {"title": draw(not_text)}
    if how == "materials_type":
        return "edit", {"materials": draw(st.one_of(st.integers(), st.text(max_size=4), st.booleans()))}
    return "edit", draw(not_object)


@st.composite
def bad_action(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from([a.value for a in Action if a is not Action.UPDATE]))
    how = draw(st.sampled_from(["unknown_field", "text_type", "int_type", "bool_type", "not_object"]))
    if how == "unknown_field":
        return kind, {draw(unknown_key(ActionRequest.__struct_fields__)): draw(junk)}
    if how == "text_type":
        return kind, {draw(st.sampled_from(["reason", "note", "unit", "agent", "comment"])): draw(not_text)}
    if how == "int_type":
        return kind, {draw(st.sampled_from(["days", "rating", "expected_version"])): draw(not_int)}
    if how == "bool_type":
        return kind, {draw(st.sampled_from(["approve", "uphold"])): draw(st.one_of(st.integers(), st.text()))}
    return kind, draw(not_object)


unknown_kind = st.tuples(
    st.text(min_size=1, max_size=20).filter(lambda k: k not in {"create", "edit", *Action}), st.just({})
)
bad_op = st.one_of(bad_create(), bad_edit(), bad_action(), unknown_kind)
good_op = st.one_of(st.tuples(st.just("create"), st.just(None)), st.tuples(st.just("edit"), texts))
#: (good?, kind, args, aim at an existing good case?)
ops = st.lists(
    st.one_of(
        st.tuples(st.just(True), good_op, st.just(False)),
        st.tuples(st.just(False), bad_op, st.booleans()),
    ),
    min_size=1,
    max_size=10,
)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=ops)
async def test_malformed_operations_are_rejected_alone(client: Client, batch: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        # One attempt per call: a 5xx would surface here as an error instead of being retried.
        device = await in_process_device(client, Path(tmp) / "v.sqlite", f"a{VILLAGE}")
        replica = device.replica
        try:
            good_cases: list[str] = []
            good = bad = 0
            for is_good, (kind, args), at_good_case in batch:
                if is_good and kind == "create":
                    good_cases.append(str(device.create(good_create_args()).id))
                    good += 1
                elif is_good and good_cases:
                    device.edit(good_cases[-1], title=args)
                    good += 1
                elif not is_good:
                    target = good_cases[-1] if at_good_case and good_cases else str(uuid.uuid4())
                    with replica.tx() as c:
                        replica.enqueue(c, device._client_id(), target, kind, args, device.hlc.now())
                    bad += 1
            report = await device.sync()
            assert device.status().pending == 0
            assert (report.applied, report.rejected) == (good, bad)
            codes = [c.code for c in device.conflicts()]
            assert codes == ["sync.op_invalid"] * bad
            for case_id in good_cases:
                assert device.replica.server_case(case_id) is not None
        finally:
            replica.close()
