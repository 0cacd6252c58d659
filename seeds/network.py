"""The Zhongwei network and its demo agents, from the project's own seed files."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources

from hierarchy.roles import AGENT_ROLE, Role
from hierarchy.tree import Kind, Level, UnitRow

CITY_CODE = "640500"


def load_units() -> list[UnitRow]:
    """The 1 + 5 + N units of Zhongwei, parents before children."""
    text = resources.files("seeds").joinpath("units.csv").read_text(encoding="utf-8")
    body = "".join(line for line in io.StringIO(text) if not line.startswith("#"))
    return [
        UnitRow(
            code=r["code"],
            name=r["name"],
            level=Level(r["level"]),
            parent_code=r["parent_code"] or None,
            kind=Kind(r["kind"]) if r["kind"] else None,
            open_weekends=r["open_weekends"] == "true",
        )
        for r in csv.DictReader(io.StringIO(body))
    ]


@dataclass(frozen=True, slots=True)
class AgentSeed:
    username: str
    name: str
    unit_code: str
    role: Role


def demo_agents(units: list[UnitRow]) -> list[AgentSeed]:
    """Demo sign-ins: ``a<code>`` everywhere, ``a<code>-2`` above village level,
    ``lead<code>`` at each county-level unit, ``dispatcher`` and ``admin`` at the city."""
    agents: list[AgentSeed] = []
    for unit in units:
        agents.append(AgentSeed(f"a{unit.code}", f"{unit.name}代办员", unit.code, AGENT_ROLE[unit.level]))
        if unit.level is not Level.VILLAGE:
            agents.append(AgentSeed(f"a{unit.code}-2", f"{unit.name}代办员二", unit.code, AGENT_ROLE[unit.level]))
        if unit.level is Level.COUNTY:
            agents.append(AgentSeed(f"lead{unit.code}", f"{unit.name}代办专班组长", unit.code, Role.COUNTY_LEAD))
        if unit.level is Level.CITY:
            agents.append(AgentSeed("dispatcher", "市级代办专班调度", unit.code, Role.DISPATCHER))
            agents.append(AgentSeed("admin", "系统管理员", unit.code, Role.ADMIN))
    return agents
