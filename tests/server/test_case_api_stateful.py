"""Random action sequences through the HTTP API leave exactly one event per 200.

A smaller companion of ``tests/hierarchy/test_machine_stateful.py``: the same kind of
random walk, but through the routes, ``perform`` and the database (SQLite only, a few
short runs), checking what only the server can get wrong — the history and the version.
"""

from __future__ import annotations

from typing import Any

import pytest
from factories import case_payload
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from litestar import Litestar
from litestar.testing import TestClient

from hierarchy.machine import Action

CASES = "/api/v1/cases"
VILLAGE = "640502100002"
TOWN = "640502100"
#: username → unit
UNIT_OF = {
    f"a{VILLAGE}": VILLAGE,
    f"a{TOWN}": TOWN,
    f"a{TOWN}-2": TOWN,
    "a640502": "640502",
    "lead640502": "640502",
    "dispatcher": "640500",
}
PARENT = {VILLAGE: TOWN, TOWN: "640502", "640502": "640500", "640521": "640500", "640500": "640500"}
PEOPLE = list(UNIT_OF)

bodies = st.fixed_dictionaries(
    {},
    optional={
        "reason": st.sampled_from(["需要上级协调", ""]),
        "note": st.sampled_from(["已办结", "转交同事"]),
        "unit": st.sampled_from([VILLAGE, TOWN, "640502", "640521"]),
        "agent": st.sampled_from([f"a{TOWN}", f"a{TOWN}-2", "a640502"]),
        "days": st.integers(0, 3),
        "approve": st.booleans(),
        "rating": st.integers(1, 5),
        "uphold": st.booleans(),
        "title": st.just("新生儿出生一件事（补正）"),
    },
)


#: What the status diagram allows from each state: steers part of the walk deeper.
PLAUSIBLE = {
    "queued": ["claim", "escalate", "return", "dispatch", "handover", "cancel"],
    "in_progress": ["release", "escalate", "dispatch", "handover", "wait", "extend", "approve-extension", "resolve"],
    "waiting_applicant": ["resume", "extend", "approve-extension", "update"],
    "resolved": ["confirm", "reopen"],
    "closed": ["reopen"],
    "cancelled": ["cancel"],
}
careful = st.fixed_dictionaries(
    {
        "reason": st.just("需要上级协调"),
        "note": st.just("已办结"),
        "days": st.just(2),
        "rating": st.integers(1, 5),
        "approve": st.just(True),
    },
    optional={
        "unit": st.sampled_from([VILLAGE, TOWN]),
        "agent": st.sampled_from([f"a{TOWN}", f"a{TOWN}-2"]),
        "uphold": st.booleans(),
    },
)


@pytest.mark.parametrize("settings", ["sqlite"], indirect=True)
def test_one_event_per_accepted_action(app: Litestar) -> None:
    with TestClient(app=app) as client:

        def sign_in(username: str) -> dict[str, str]:
            r = client.post("/api/v1/auth/token", json={"username": username, "password": "demo"})
            assert r.status_code in (200, 201), r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        who = {name: sign_in(name) for name in PEOPLE}
        creator = who[PEOPLE[0]]

        class ApiMachine(RuleBasedStateMachine):
            def __init__(self) -> None:
                super().__init__()
                r = client.post(CASES, json=case_payload(), headers=creator)
                assert r.status_code == 201, r.text
                self.cid = r.json()["id"]
                self.version = 1
                self.status, self.owner = r.json()["status"], r.json()["owner_unit"]
                self.accepted: list[str] = []

            @rule(person=st.sampled_from(PEOPLE), action=st.sampled_from(Action), body=bodies)
            def anything(self, person: str, action: Action, body: dict[str, Any]) -> None:
                self.act(person, action.value, body)

            @rule(data=st.data(), body=careful)
            def what_the_state_allows(self, data: st.DataObject, body: dict[str, Any]) -> None:
                at_hand = [p for p, u in UNIT_OF.items() if u in (self.owner, PARENT[self.owner]) or p == PEOPLE[0]]
                person = data.draw(st.sampled_from(at_hand), label="person")
                self.act(person, data.draw(st.sampled_from(PLAUSIBLE[self.status]), label="action"), body)

            def act(self, person: str, action: str, body: dict[str, Any]) -> None:
                r = client.post(f"{CASES}/{self.cid}/{action}", json=body, headers=who[person])
                if r.status_code == 200:
                    self.status, self.owner = r.json()["status"], r.json()["owner_unit"]
                    version = r.json()["version"]
                    assert version == self.version + 1, (action, version, self.version)
                    self.version = version
                    self.accepted.append(action)
                    return
                assert 400 <= r.status_code < 500, (action, body, r.status_code, r.text)
                assert r.headers["content-type"].startswith("application/problem+json")
                assert r.json()["code"], r.text

            def teardown(self) -> None:
                hist = client.get(f"{CASES}/{self.cid}/history", headers=creator).json()
                assert [e["action"] for e in hist] == ["create", *self.accepted]
                assert [e["version"] for e in hist] == list(range(1, len(hist) + 1))
                case = client.get(f"{CASES}/{self.cid}", headers=creator).json()
                assert case["version"] == self.version == len(hist)

        run_state_machine_as_test(
            ApiMachine,
            settings=settings(
                max_examples=12,
                stateful_step_count=15,
                deadline=None,
                derandomize=False,
                suppress_health_check=[HealthCheck.too_slow],
            ),
        )
