"""职能部门: the city's and each county's functional departments, beside the network tree.

Their names come from the catalogue: every 市… lead department an item names (市卫生健康委,
市公安局, 市自然资源局 …) is a department of the city, and each county-level unit has its
own of the same name (中宁县自然资源局 …). A department's code is its parent's code, ``D``
and its place in that list (``640500D07``); it has two agents, ``a<code>`` and
``a<code>-2``. Departments take cases dispatched to them and return them; they are not a
step of any village's escalation chain.
"""

from __future__ import annotations

from dataclasses import dataclass

from hierarchy.tree import Level, UnitRow
from seeds.catalogue import load_items

CITY_PREFIX = "市"


@dataclass(frozen=True, slots=True)
class DepartmentSeed:
    code: str
    name: str
    parent_code: str


def department_names() -> list[str]:
    """The city's departments named as lead departments in the catalogue, in a stable order."""
    names = {d for item in load_items() for d in item.lead_departments if d.startswith(CITY_PREFIX)}
    return sorted(names)


def departments(units: list[UnitRow]) -> list[DepartmentSeed]:
    """The departments of the city and of every county-level unit."""
    names = department_names()
    out: list[DepartmentSeed] = []
    for unit in units:
        if unit.level not in (Level.CITY, Level.COUNTY):
            continue
        for n, name in enumerate(names, start=1):
            local = name if unit.level is Level.CITY else unit.name + name.removeprefix(CITY_PREFIX)
            out.append(DepartmentSeed(code=f"{unit.code}D{n:02d}", name=local, parent_code=unit.code))
    return out
