"""The case status machine under random actions by random actors (pure: no database).

A small network (a city, two counties, three towns, three villages) and agents of every
role act on one case with random arguments and targets while time moves forward.
Whatever they do, the case stays well formed: legal status, an assignee exactly while
someone works it (or, once resolved, the agent who did), versions counting accepted
actions, due time never before acceptance and always what the history gives, an owner in
the tree, escalation one step up, refused actions changing nothing.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from hierarchy.calendar import TZ
from hierarchy.cases import Actor, CaseKind, CaseState, Status, can_see, system_actor
from hierarchy.errors import DaibanError
from hierarchy.machine import STARTS_AT_CITY, Action, UnitRef, apply, decide, due_time
from hierarchy.roles import Role
from hierarchy.sla import compute_sla
from hierarchy.tree import Level

# code: (parent, level)
UNITS: dict[str, tuple[str | None, Level]] = {
    "100000": (None, Level.CITY),
    "100100": ("100000", Level.COUNTY),
    "100200": ("100000", Level.COUNTY),
    "100100001": ("100100", Level.TOWN),
    "100100002": ("100100", Level.TOWN),
    "100200001": ("100200", Level.TOWN),
    "100100001001": ("100100001", Level.VILLAGE),
    "100100001002": ("100100001", Level.VILLAGE),
    "100200001001": ("100200001", Level.VILLAGE),
}


def path_of(code: str) -> str:
    parent = UNITS[code][0]
    return (path_of(parent) if parent else "/") + f"{code}/"


PATHS = {code: path_of(code) for code in UNITS}
REFS = {code: UnitRef(code=code, path=PATHS[code], level=level) for code, (_, level) in UNITS.items()}


def agent(agent_id: int, unit: str, role: Role) -> Actor:
    return Actor(
        id=agent_id, unit_code=unit, unit_path=PATHS[unit], role=role, level=UNITS[unit][1], username=f"u{agent_id}"
    )


AGENTS = [
    agent(1, "100100001001", Role.VILLAGE_AGENT),
    agent(2, "100100001002", Role.VILLAGE_AGENT),
    agent(3, "100200001001", Role.VILLAGE_AGENT),
    agent(4, "100100001", Role.TOWN_AGENT),
    agent(5, "100100001", Role.TOWN_AGENT),
    agent(6, "100100002", Role.TOWN_AGENT),
    agent(7, "100200001", Role.TOWN_AGENT),
    agent(8, "100100", Role.COUNTY_MEMBER),
    agent(9, "100100", Role.COUNTY_LEAD),
    agent(10, "100200", Role.COUNTY_MEMBER),
    agent(11, "100200", Role.COUNTY_LEAD),
    agent(12, "100000", Role.CITY_AGENT),
    agent(13, "100000", Role.DISPATCHER),
    agent(14, "100000", Role.ADMIN),
]
SYSTEM = system_actor("100000", PATHS["100000"])
CREATORS = [a for a in AGENTS if a.role is not Role.ADMIN]
MATERIALS = (
    {"code": "id-card", "name": "身份证", "deferrable": False, "state": "missing"},
    {"code": "photo", "name": "照片", "deferrable": True, "state": "missing"},
)
WORKING = (Status.IN_PROGRESS, Status.WAITING_APPLICANT)
#: Every action, the ones that end a case less often so the runs get somewhere.
ACTIONS = [a for a in Action for _ in range(1 if a is Action.CANCEL else 4)]

#: Mostly usable text, sometimes missing, blank or too long.
text = st.sampled_from(
    [None, "", "  ", "x" * 2001, "需要上级协调", "已办结", "申请人撤回", "等申请人补材料", "转交同事"]
)
material_patch = st.lists(
    st.fixed_dictionaries(
        {
            "code": st.sampled_from(["id-card", "photo", "nope"]),
            "state": st.sampled_from(["provided", "missing", "deferred", "lost"]),
        },
        optional={
            "commitment": st.sampled_from(["", "承诺十日内补交"]),
            "due": st.sampled_from(["2026-01-01", "2027-12-31", "bad"]),
        },
    ),
    max_size=2,
)
arguments = st.fixed_dictionaries(
    {
        "reason": text,
        "note": text,
        "days": st.one_of(st.none(), st.integers(-1, 12)),
        "approve": st.one_of(st.none(), st.booleans()),
        "rating": st.one_of(st.none(), st.integers(0, 6)),
    },
    optional={"comment": text, "title": text, "uphold": st.booleans(), "materials": material_patch},
).map(lambda args: {k: v for k, v in args.items() if v is not None})


#: What the status diagram allows from each state.
PLAUSIBLE = {
    Status.QUEUED: [
        Action.CLAIM, Action.ESCALATE, Action.RETURN, Action.DISPATCH, Action.HANDOVER, Action.UPDATE, Action.CANCEL,
    ],
    Status.IN_PROGRESS: [
        Action.RELEASE, Action.ESCALATE, Action.DISPATCH, Action.HANDOVER, Action.WAIT, Action.EXTEND,
        Action.APPROVE_EXTENSION, Action.RESOLVE, Action.UPDATE,
    ],
    Status.WAITING_APPLICANT: [Action.RESUME, Action.EXTEND, Action.APPROVE_EXTENSION, Action.UPDATE],
    Status.RESOLVED: [Action.CONFIRM, Action.REOPEN],
    Status.CLOSED: [Action.REOPEN],
}  # fmt: skip

#: Arguments a careful agent sends.
good_arguments = st.fixed_dictionaries(
    {
        "reason": st.sampled_from(["需要上级协调", "申请人撤回"]),
        "note": st.sampled_from(["已办结", "转交同事"]),
        "days": st.integers(1, 3),
        "rating": st.integers(1, 5),
    },
    optional={"uphold": st.booleans(), "approve": st.booleans(), "title": st.just("新标题")},
)

NEW_CASE = {
    "creator": st.sampled_from(CREATORS),
    "kind": st.sampled_from(CaseKind),
    "promised": st.integers(0, 15),
    "open_weekends": st.booleans(),
    "start_minutes": st.integers(0, 60 * 24 * 300),
}


class CaseMachine(RuleBasedStateMachine):
    case: CaseState
    now: datetime

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Action] = []
        self.ever_assigned: set[int] = set()
        self.accepted = 0
        self.refused = 0

    @initialize(**NEW_CASE)
    def create(self, creator: Actor, kind: CaseKind, promised: int, open_weekends: bool, start_minutes: int) -> None:
        self.start(creator, kind, promised, open_weekends, start_minutes)

    @precondition(lambda self: self.case.status in (Status.CANCELLED, Status.CLOSED))
    @rule(**NEW_CASE)
    def next_case(self, creator: Actor, kind: CaseKind, promised: int, open_weekends: bool, start_minutes: int) -> None:
        """A finished case: go on with a new one (so long runs keep exercising the machine)."""
        self.events.clear()
        self.ever_assigned.clear()
        self.accepted = 0
        self.start(creator, kind, promised, open_weekends, start_minutes)

    def start(self, creator: Actor, kind: CaseKind, promised: int, open_weekends: bool, start_minutes: int) -> None:
        # As the server creates cases: the taker holds it at once; complaints go to the city.
        self.now = datetime(2026, 1, 5, 8, 0, tzinfo=TZ) + timedelta(minutes=start_minutes)
        owner = "100000" if kind in STARTS_AT_CITY else creator.unit_code
        working = kind not in STARTS_AT_CITY
        assert creator.id is not None
        self.case = CaseState(
            id="case-1",
            kind=kind,
            item_code="N01",
            status=Status.IN_PROGRESS if working else Status.QUEUED,
            origin_unit=creator.unit_code,
            origin_path=creator.unit_path,
            owner_unit=owner,
            owner_path=PATHS[owner],
            created_by=creator.id,
            accepted_at=self.now,
            due_at=compute_sla(self.now, promised, open_weekends, ()).due_at,
            promised_days=promised,
            open_weekends=open_weekends,
            assignee_id=creator.id if working else None,
            holders=(creator.id,),
            queued_at=self.now,
            materials=copy.deepcopy(MATERIALS),
        )
        if working:
            self.ever_assigned.add(creator.id)

    def people_at_hand(self) -> list[Actor]:
        """Who is most likely to act: the assignee, the creator, the owner unit and above it."""
        case = self.case
        parent = UNITS[case.owner_unit][0]
        return [
            a for a in AGENTS if a.id in (case.assignee_id, case.created_by) or a.unit_code in (case.owner_unit, parent)
        ]

    @rule(
        actor=st.one_of(st.sampled_from(AGENTS), st.just(SYSTEM)),
        action=st.sampled_from(ACTIONS),
        args=arguments,
        unit=st.one_of(st.none(), st.sampled_from(sorted(UNITS))),
        to_agent=st.one_of(st.none(), st.sampled_from(AGENTS)),
        minutes=st.one_of(st.just(0), st.integers(1, 60 * 24 * 20)),
    )
    def anyone_does_anything(
        self, actor: Actor, action: Action, args: dict[str, Any], unit: str | None, to_agent: Actor | None, minutes: int
    ) -> None:
        self.act(actor, action, args, unit, to_agent, minutes)

    @precondition(lambda self: self.case.status is not Status.CANCELLED)
    @rule(
        data=st.data(),
        args=good_arguments,
        minutes=st.one_of(st.just(0), st.integers(1, 60 * 24 * 3)),
    )
    def someone_at_hand_does_what_the_state_allows(
        self, data: st.DataObject, args: dict[str, Any], minutes: int
    ) -> None:
        """Steer towards the deeper states: an action the diagram allows now, by a likely person."""
        case = self.case
        action = data.draw(st.sampled_from(PLAUSIBLE[case.status]), label="action")
        holder = [a for a in AGENTS if a.id in (case.assignee_id, case.created_by)]
        actor = data.draw(st.sampled_from(holder + self.people_at_hand()), label="actor")
        subtree = sorted(c for c, p in PATHS.items() if p.startswith(case.owner_path) and c != case.owner_unit)
        unit = data.draw(st.sampled_from(subtree or sorted(UNITS)), label="unit")
        to_agent = data.draw(st.sampled_from([a for a in AGENTS if a.unit_code == case.owner_unit]), label="to")
        self.act(actor, action, args, unit, to_agent, minutes)

    def act(
        self, actor: Actor, action: Action, args: dict[str, Any], unit: str | None, to_agent: Actor | None, minutes: int
    ) -> None:
        self.now += timedelta(minutes=minutes)
        before = self.case
        snapshot = copy.deepcopy(before)
        target_unit = REFS[unit] if unit else None
        try:
            decision = decide(before, actor, action, args, self.now, target_unit=target_unit, target_agent=to_agent)
        except DaibanError as refused:
            # A refusal has a code and leaves the case exactly as it was.
            assert refused.code and refused.status in (403, 404, 409, 422)
            assert before == snapshot
            if not can_see(before, actor):
                assert refused.code == "case.not_found"
            self.refused += 1
            event(f"refused {action.value}: {refused.code}")
            return
        event(f"accepted {action.value}")
        assert before == snapshot, "decide must not modify the case it reads"
        after = apply(before, decision)
        assert decision.action is action
        assert after.version == before.version + 1
        self.case = after
        self.events.append(action)
        self.accepted += 1
        if after.assignee_id is not None:
            self.ever_assigned.add(after.assignee_id)

        # What each accepted action must do.
        if action is Action.ESCALATE:
            parent = UNITS[before.owner_unit][0]
            assert (after.owner_unit, after.owner_path) == (parent, PATHS[parent or ""])
            assert after.escalations == before.escalations + 1
        if action in (Action.ESCALATE, Action.RETURN, Action.DISPATCH):
            assert (after.status, after.assignee_id) == (Status.QUEUED, None)
        if action is Action.DISPATCH:
            assert after.owner_path.startswith(before.owner_path) and after.owner_unit != before.owner_unit
        if action is Action.CLAIM:
            assert before.status is Status.QUEUED and after.assignee_id == actor.id
            assert actor.unit_code == before.owner_unit
        if action in (Action.WAIT, Action.RESUME):
            assert after.sla_events[:-1] == before.sla_events
        if action is Action.EXTEND:
            assert before.extension is None and after.extension is not None
        clock_events = (Action.WAIT, Action.RESUME, Action.EXTEND, Action.APPROVE_EXTENSION)
        # A bad-rating review brings its own deadline; otherwise only clock events move it.
        if action not in clock_events and after.review == before.review:
            assert after.due_at == before.due_at, "only clock events move the due time"
        if action in (Action.RESOLVE, Action.UPDATE):
            assert after.owner_unit == before.owner_unit

    @precondition(lambda self: hasattr(self, "case"))
    @invariant()
    def well_formed(self) -> None:
        case = self.case
        assert isinstance(case.status, Status)
        # One assignee while someone works the case. A resolved or closed case keeps the
        # agent who worked it last (they may record the applicant's rating); a queued or
        # cancelled one has none.
        if case.status in WORKING or case.status in (Status.RESOLVED, Status.CLOSED):
            assert case.assignee_id is not None, case.status
        else:
            assert case.assignee_id is None, (case.status, case.assignee_id)
        assert case.assignee_id is None or case.assignee_id in case.holders
        assert self.ever_assigned <= set(case.holders)
        assert len(set(case.holders)) == len(case.holders)
        # Every accepted action is one event and one version.
        assert case.version == 1 + len(self.events) == 1 + self.accepted
        assert case.due_at >= case.accepted_at
        if case.status is not Status.WAITING_APPLICANT:
            assert case.due_at == due_time(case), "the due time follows from the history"
        # The owner is a unit of the tree, named by its own path; the origin never moves.
        assert PATHS.get(case.owner_unit) == case.owner_path
        assert PATHS[case.origin_unit] == case.origin_path
        # The creator and whoever held it can always still read it.
        for agent_id in case.holders:
            assert can_see(case, next(a for a in AGENTS if a.id == agent_id))
        if case.review is not None:
            assert case.review["state"] in ("open", "upheld", "fixed")
            if case.review["state"] == "open":
                assert case.status is not Status.CLOSED


CaseMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCaseMachine = CaseMachine.TestCase
