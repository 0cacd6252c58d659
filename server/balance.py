"""Rebalancing plans: which open cases to move so no agent or queue is overloaded.

Pure functions over plain values; :mod:`server.workload` loads them and stores the plan.

What comes first is what the SLA needs first:

1. **stranded** cases — open cases of a disabled agent — always move, to an active
   colleague of the same unit who handles the item (the least loaded, over capacity if
   nobody has room) or, in progress, to an agent of a peer unit; none is left behind
   while any agent could take it (those left are reported as unplaced);
2. **queued** cases, the **late** ones (past their due time) first, leave an overloaded
   queue — or any queue where they are already late — for a peer unit with room;
3. **in progress** cases, the late ones first, leave an overloaded agent.

Three kinds of move:

- **agent moves** — an in-progress case goes from an overloaded agent to another agent:
  a colleague in the same unit first (as long as that does not overload them), then the
  least loaded agent of a unit at the same level in the same county, then one anywhere
  in the subtree being planned (same-county-first locality);
- **unit moves** — a queued case goes from an overloaded unit's queue to a peer unit
  (same level, same county first) that has an agent with the skill and room for it.

Constraints, all hard: a case goes only to a unit that serves its item's kind and its
applicant (:func:`hierarchy.serving.can_serve`: a nature reserve, a farm or an
industrial park takes no citizen's case); a target agent handles the item (empty
``skills`` means every item) and stays within its capacity; a target unit has such an
agent and stays within the capacity of its agents; cases waiting for the applicant
never move (the applicant is dealing with the person who asked) unless stranded, and
then only to a colleague; a case moves at most once per plan.

Why greedy suffices here. Every move carries exactly one case, so the problem is
min–max load balancing with unit-size jobs and eligibility (skills, locality)
constraints. Each greedy step relieves the most loaded agent by one case onto the
eligible target that ends least loaded, and only if that target ends below where the
source was, so the sorted load vector falls lexicographically at every step: the
maximum never rises and the loop ends. Where it can fall short of an optimum is when
only a chain of moves (A→B so that B→C) would help; a dispatcher must be able to
explain each move to the two agents involved, and a plan is advisory, applied later
and re-made as soon as loads change (cases arrive every minute), so an exact solver
(a flow or MILP model, e.g. OR-Tools) would buy precision the situation does not keep.
The pools are small — tens of agents in a county, hundreds in the city — so the
greedy is instant.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from hierarchy.breaches import utilisation
from hierarchy.serving import EVERYONE, can_serve

#: An agent (or unit) is overloaded above its capacity, or above half of it while also
#: this far above its pool's mean; below half of capacity nobody is overloaded.
OVER_MEAN = 1.25
FLOOR = 0.5
MAX_MOVES = 1000

Locality = Literal["unit", "county", "network"]
Why = Literal["stranded", "late", "load"]


@dataclass(slots=True)
class AgentSlot:
    id: int
    username: str
    unit: str
    unit_path: str
    level: str
    capacity: int
    skills: frozenset[str] = frozenset()
    load: int = 0

    def handles(self, item: str) -> bool:
        return not self.skills or item in self.skills

    @property
    def utilisation(self) -> float:
        return _util(self.load, self.capacity)


@dataclass(slots=True)
class UnitSlot:
    code: str
    path: str
    level: str
    agents: list[AgentSlot] = field(default_factory=list)
    load: int = 0  # queued + assigned open cases owned here
    serves: frozenset[str] = frozenset(EVERYONE)

    @property
    def capacity(self) -> int:
        return sum(a.capacity for a in self.agents)

    def handles(self, item: str) -> bool:
        return any(a.handles(item) for a in self.agents)

    def takes(self, case: OpenCase) -> bool:
        """Serves the case's item kind and applicant, and has an agent for the item."""
        return can_serve(self.serves, case.lifecycle, case.applicant) and self.handles(case.item)

    @property
    def utilisation(self) -> float:
        return _util(self.load, self.capacity)


@dataclass(frozen=True, slots=True)
class OpenCase:
    id: str
    item: str
    status: str
    owner_unit: str
    version: int
    assignee: int | None = None
    ref: str | None = None
    lifecycle: str = "individual"
    #: The applicant's type ("person" or "firm"); None when unknown.
    applicant: str | None = None
    late: bool = False
    #: Assigned to a disabled agent.
    stranded: bool = False


@dataclass(frozen=True, slots=True)
class Move:
    case_id: str
    ref: str | None
    item: str
    version: int
    kind: Literal["agent", "unit"]
    from_unit: str
    to_unit: str
    from_agent: int | None
    to_agent: int | None
    locality: Locality
    why: Why = "load"


def _util(load: int, capacity: int) -> float:
    """The one utilisation (hierarchy.breaches), made sortable: no capacity with work is the worst."""
    measured = utilisation(load, capacity)
    if measured is None:
        return float("inf") if load else 0.0
    return measured


def county_of(path: str) -> str:
    """The county-level prefix of a path (the city's own path for city units)."""
    parts = path.strip("/").split("/")
    return "/" + "".join(f"{p}/" for p in parts[:2])


def locality(from_path: str, to_path: str) -> Locality:
    if from_path == to_path:
        return "unit"
    return "county" if county_of(from_path) == county_of(to_path) else "network"


_TIER = {"unit": 0, "county": 1, "network": 2}


def max_utilisation(slots: Iterable[AgentSlot | UnitSlot]) -> float:
    return max((s.utilisation for s in slots if s.capacity > 0 or s.load), default=0.0)


def _threshold(loads: Sequence[tuple[int, int]]) -> float:
    """Utilisation above which a pool member is overloaded (see :data:`OVER_MEAN`)."""
    total_load = sum(load for load, _ in loads)
    total_cap = sum(cap for _, cap in loads)
    mean = total_load / total_cap if total_cap else 1.0
    return min(1.0, max(FLOOR, OVER_MEAN * mean))


def plan_moves(units: Sequence[UnitSlot], cases: Sequence[OpenCase]) -> list[Move]:
    """The moves: stranded cases, then queued ones (late first), then in-progress ones.

    ``units`` carry their agents with current loads; they are updated as moves are
    planned, so afterwards they hold the loads the plan leads to.
    """
    moves: list[Move] = []
    moved: set[str] = set()
    moves += _stranded_moves(units, cases, moved)
    moves += _unit_moves(units, cases, moved)
    moves += _agent_moves(units, cases, moved)
    return moves


def unplaced(cases: Sequence[OpenCase], moves: Sequence[Move]) -> list[str]:
    """Stranded cases the plan found nobody for."""
    moved = {m.case_id for m in moves}
    return [c.id for c in cases if c.stranded and c.id not in moved]


def _stranded_moves(units: Sequence[UnitSlot], cases: Sequence[OpenCase], moved: set[str]) -> list[Move]:
    unit_of = {u.code: u for u in units}
    moves: list[Move] = []
    for case in sorted((c for c in cases if c.stranded), key=lambda c: (not c.late, c.id)):
        home = unit_of.get(case.owner_unit)
        if home is None:
            continue
        colleagues = [a for a in home.agents if a.handles(case.item)]
        others: list[AgentSlot] = []
        if case.status == "in_progress":  # a case waiting for the applicant stays in its unit
            peers = [u for u in units if u.level == home.level and u is not home and u.takes(case)]
            others = [a for u in peers for a in u.agents if a.handles(case.item)]
        # Someone with room (a colleague first), else a colleague over capacity, else anyone.
        roomy = [a for a in (*colleagues, *others) if a.load + 1 <= a.capacity]
        candidates = roomy or colleagues or others
        if not candidates:
            continue
        target = min(
            candidates,
            key=lambda a: (_TIER[locality(home.path, a.unit_path)], _util(a.load + 1, a.capacity), a.id),
        )
        moved.add(case.id)
        target.load += 1
        if target.unit != home.code:
            home.load -= 1
            unit_of[target.unit].load += 1
        moves.append(
            Move(
                case.id, case.ref, case.item, case.version, "agent", home.code, target.unit, case.assignee,
                target.id, locality(home.path, target.unit_path), "stranded",
            )
        )  # fmt: skip
    return moves


def _agent_moves(units: Sequence[UnitSlot], cases: Sequence[OpenCase], moved: set[str]) -> list[Move]:
    agents = {a.id: a for u in units for a in u.agents}
    unit_of = {u.code: u for u in units}
    threshold = _threshold([(a.load, a.capacity) for a in agents.values()])
    held: dict[int, list[OpenCase]] = {}
    for c in cases:
        if c.status == "in_progress" and c.assignee in agents and c.id not in moved:
            held.setdefault(c.assignee, []).append(c)
    peers: dict[str, list[AgentSlot]] = {}
    for a in agents.values():
        peers.setdefault(a.level, []).append(a)
    moves: list[Move] = []
    stuck: set[int] = set()
    while len(moves) < MAX_MOVES:
        sources = [a for a in agents.values() if a.id not in stuck and a.utilisation > threshold and held.get(a.id)]
        if not sources:
            return moves
        source = max(sources, key=lambda a: (a.utilisation, -a.id))
        best: tuple[tuple[bool, int, float, int], OpenCase, AgentSlot] | None = None
        for case in _one_per_item(held[source.id]):
            for target in peers[source.level]:
                if target.id == source.id or not _fits(target, case, source):
                    continue
                if target.unit != source.unit and not unit_of[target.unit].takes(case):
                    continue
                after = _util(target.load + 1, target.capacity)
                tier = _TIER[locality(source.unit_path, target.unit_path)]
                if tier == 0 and after > threshold:
                    tier = 1  # a colleague is first choice only while that keeps them below overload
                score = (not case.late, tier, after, target.id)
                if best is None or score < best[0]:
                    best = (score, case, target)
        if best is None:
            stuck.add(source.id)
            continue
        _, case, target = best
        held[source.id].remove(case)
        moved.add(case.id)
        source.load -= 1
        target.load += 1
        unit_of[source.unit].load -= 1
        unit_of[target.unit].load += 1
        moves.append(
            Move(
                case.id,
                case.ref,
                case.item,
                case.version,
                "agent",
                source.unit,
                target.unit,
                source.id,
                target.id,
                locality(source.unit_path, target.unit_path),
                "late" if case.late else "load",
            )
        )
    return moves


def _one_per_item(cases: Sequence[OpenCase]) -> list[OpenCase]:
    """One case per item, kind of applicant and lateness (a late one is preferred): targets
    differ only by skill and what they serve, so one stands for all of its kind."""
    seen: dict[tuple[str, str, str | None, bool], OpenCase] = {}
    for c in cases:
        seen.setdefault((c.item, c.lifecycle, c.applicant, c.late), c)
    return list(seen.values())


def _fits(target: AgentSlot, case: OpenCase, source: AgentSlot) -> bool:
    return (
        target.handles(case.item)
        and target.level == source.level
        and target.load + 1 <= target.capacity
        and _util(target.load + 1, target.capacity) < source.utilisation
    )


def _unit_moves(units: Sequence[UnitSlot], cases: Sequence[OpenCase], moved: set[str]) -> list[Move]:
    threshold = _threshold([(u.load, u.capacity) for u in units])
    queued: dict[str, list[OpenCase]] = {}
    for c in cases:
        if c.status == "queued" and c.id not in moved:
            queued.setdefault(c.owner_unit, []).append(c)
    moves: list[Move] = []
    stuck: set[str] = set()
    while len(moves) < MAX_MOVES:
        sources = [
            u
            for u in units
            if u.code not in stuck
            and queued.get(u.code)
            and (u.utilisation > threshold or any(c.late for c in queued[u.code]))
        ]
        if not sources:
            return moves
        # Late queues first, then the most loaded.
        source = max(sources, key=lambda u: (any(c.late for c in queued[u.code]), u.utilisation, u.code))
        best: tuple[tuple[bool, int, float, str], OpenCase, UnitSlot] | None = None
        for case in _one_per_item(queued[source.code]):
            for target in units:
                if (
                    target.code == source.code
                    or target.level != source.level
                    or not target.takes(case)
                    or target.load + 1 > target.capacity
                    or _util(target.load + 1, target.capacity) >= source.utilisation
                ):
                    continue
                score = (
                    not case.late,
                    _TIER[locality(source.path, target.path)],
                    _util(target.load + 1, target.capacity),
                    target.code,
                )
                if best is None or score < best[0]:
                    best = (score, case, target)
        if best is None:
            stuck.add(source.code)
            continue
        _, case, target = best
        queued[source.code].remove(case)
        moved.add(case.id)
        source.load -= 1
        target.load += 1
        moves.append(
            Move(
                case.id,
                case.ref,
                case.item,
                case.version,
                "unit",
                source.code,
                target.code,
                None,
                None,
                locality(source.path, target.path),
                "late" if case.late else "load",
            )
        )
    return moves


def late_unattended(units: Sequence[UnitSlot], cases: Sequence[OpenCase], moves: Sequence[Move] = ()) -> int:
    """Late cases nobody can attend to: stranded, or held by an agent or queued at a unit
    over capacity — counted with the slots' current loads and after ``moves``."""
    agents = {a.id: a for u in units for a in u.agents}
    unit_of = {u.code: u for u in units}
    went = {m.case_id: m for m in moves}
    count = 0
    for case in cases:
        if not case.late:
            continue
        move = went.get(case.id)
        if move is not None:
            holder: AgentSlot | UnitSlot | None = (
                agents.get(move.to_agent) if move.to_agent else unit_of.get(move.to_unit)
            )
        elif case.stranded:
            count += 1
            continue
        else:
            holder = agents.get(case.assignee) if case.assignee is not None else unit_of.get(case.owner_unit)
        count += holder is not None and holder.utilisation > 1
    return count
