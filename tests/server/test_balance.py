"""The greedy planner alone: it never breaks a constraint to lower a load."""

from __future__ import annotations

from server.balance import AgentSlot, OpenCase, UnitSlot, max_utilisation, plan_moves

TOWN, OTHER = "/1/2/3/", "/1/2/4/"


def pool(*agents: AgentSlot) -> list[UnitSlot]:
    units: dict[str, UnitSlot] = {}
    for a in agents:
        units.setdefault(a.unit, UnitSlot(code=a.unit, path=a.unit_path, level="town")).agents.append(a)
    for u in units.values():
        u.load = sum(a.load for a in u.agents)
    return list(units.values())


def held(agent: AgentSlot, item: str, n: int, status: str = "in_progress") -> list[OpenCase]:
    return [OpenCase(f"{agent.id}-{item}-{i}-{status}", item, status, agent.unit, 1, agent.id) for i in range(n)]


def test_no_move_breaks_skills_capacity_or_a_pause() -> None:
    busy = AgentSlot(1, "busy", "3", TOWN, "town", capacity=2, load=6)
    full = AgentSlot(2, "full", "4", OTHER, "town", capacity=1, load=1)
    other_skill = AgentSlot(3, "skilled", "4", OTHER, "town", capacity=10, skills=frozenset({"B"}))
    cases = held(busy, "A", 2) + held(busy, "A", 4, "waiting_applicant")
    assert plan_moves(pool(busy, full, other_skill), cases) == []


def test_moves_stop_when_the_source_is_no_longer_overloaded() -> None:
    busy = AgentSlot(1, "busy", "3", TOWN, "town", capacity=10, load=12)
    mate = AgentSlot(2, "mate", "3", TOWN, "town", capacity=10, load=0)
    far = AgentSlot(3, "far", "4", OTHER, "town", capacity=10, load=0)
    units = pool(busy, mate, far)
    before = max_utilisation(a for u in units for a in u.agents)
    moves = plan_moves(units, held(busy, "A", 12))
    after = max_utilisation(a for u in units for a in u.agents)
    assert (before, after) == (1.2, 0.5)
    # The colleague first, up to the overload line; then the same county.
    assert [m.to_agent for m in moves][:5] == [2] * 5
    assert {m.locality for m in moves} == {"unit", "county"}
    assert (busy.load, mate.load, far.load) == (5, 5, 2)
