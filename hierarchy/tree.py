"""The 1+5+N network as a validated tree of units.

Levels step city → county → town → village. County-level units carry a kind (district,
county, park, zone). Each unit has a materialised path (``/640500/640502/640502100/``) so
"everything under X" is one indexed prefix query in the database and a string test here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from hierarchy.errors import InvalidInput, NotFound


class Level(enum.StrEnum):
    CITY = "city"
    COUNTY = "county"
    TOWN = "town"
    VILLAGE = "village"
    #: A 职能部门 under the city or a county: cases are dispatched to it and returned from
    #: it, but it is no step of the escalation chain and no part of the seeded tree.
    DEPARTMENT = "department"

    @property
    def depth(self) -> int:
        return _DEPTH[self]


_DEPTH = {Level.CITY: 0, Level.COUNTY: 1, Level.TOWN: 2, Level.VILLAGE: 3}


class Kind(enum.StrEnum):
    """Kind of a county-level unit; the order is the order the network lists them in."""

    DISTRICT = "district"
    COUNTY = "county"
    PARK = "park"
    ZONE = "zone"


KIND_ORDER = {kind: i for i, kind in enumerate(Kind)}


@dataclass(frozen=True, slots=True)
class UnitRow:
    """One unit as stored or seeded, before it is placed in a tree."""

    code: str
    name: str
    level: Level
    parent_code: str | None
    kind: Kind | None = None
    open_weekends: bool = False


def path_of(ancestor_codes: Iterable[str]) -> str:
    """Materialised path of a unit from the codes root-first, ending with the unit's own."""
    return "/" + "".join(f"{code}/" for code in ancestor_codes)


def in_subtree(path: str, root_path: str) -> bool:
    """Whether the unit at ``path`` is ``root_path`` or below it."""
    return path.startswith(root_path)


def sort_key(row: UnitRow) -> tuple[int, str]:
    """Siblings are listed county-kind first (district, county, park, zone), then by code."""
    return (KIND_ORDER[row.kind] if row.kind else 0, row.code)


@dataclass(slots=True)
class Tree:
    """A validated network. Build it with :func:`build_tree`."""

    units: dict[str, UnitRow]
    paths: dict[str, str]
    children: dict[str, list[str]] = field(default_factory=dict)
    root: str = ""

    def get(self, code: str) -> UnitRow:
        try:
            return self.units[code]
        except KeyError:
            raise NotFound("unit.not_found", f"no unit with code {code}", unit=code) from None

    def path(self, code: str) -> str:
        self.get(code)
        return self.paths[code]

    def parent(self, code: str) -> str | None:
        return self.get(code).parent_code

    def ancestors(self, code: str) -> list[str]:
        """Codes from the root down to the unit's parent."""
        return self.paths[self.get(code).code].strip("/").split("/")[:-1]

    def escalation_chain(self, code: str) -> list[str]:
        """Units a case climbs through from ``code``: parent first, the city last."""
        return list(reversed(self.ancestors(code)))

    def is_within(self, code: str, root: str) -> bool:
        """Whether ``code`` lies in the subtree (scope) of ``root``."""
        return in_subtree(self.path(code), self.path(root))

    def subtree(self, root: str) -> Iterator[str]:
        """Codes of ``root`` and everything under it, depth first."""
        stack = [self.get(root).code]
        while stack:
            code = stack.pop()
            yield code
            stack.extend(reversed(self.children.get(code, [])))

    def common_ancestor(self, a: str, b: str) -> str:
        """The lowest unit whose subtree holds both ``a`` and ``b``."""
        pa = self.path(a).strip("/").split("/")
        pb = self.path(b).strip("/").split("/")
        common = self.root
        for x, y in zip(pa, pb, strict=False):
            if x != y:
                break
            common = x
        return common

    def county_of(self, code: str) -> str | None:
        """The county-level unit above (or at) ``code``; None for the city."""
        chain = self.path(code).strip("/").split("/")
        return chain[1] if len(chain) > 1 else None


def build_tree(rows: Iterable[UnitRow]) -> Tree:
    """Validate rows and build the tree.

    Raises:
        InvalidInput: ``unit.tree_invalid`` naming the offending row when codes repeat,
            there is not exactly one city, a parent is missing, levels do not step by one,
            a county-level kind is missing or misplaced, or the parents form a cycle.
    """
    units: dict[str, UnitRow] = {}
    for row in rows:
        if row.code in units:
            raise _invalid(row, "duplicate code")
        units[row.code] = row
    cities = [r for r in units.values() if r.level is Level.CITY]
    if len(cities) != 1:
        raise InvalidInput("unit.tree_invalid", f"expected exactly one city, found {len(cities)}", count=len(cities))
    root = cities[0]
    if root.parent_code is not None:
        raise _invalid(root, "the city has no parent")
    if root.kind is not None:
        raise _invalid(root, "county-level units, and only they, have a kind")
    children: dict[str, list[str]] = {}
    for row in units.values():
        if row.level is Level.CITY:
            continue
        if row.level is Level.DEPARTMENT:
            raise _invalid(row, "departments are added beside the tree, not in it")
        parent = units.get(row.parent_code or "")
        if parent is None:
            raise _invalid(row, f"parent {row.parent_code} does not exist")
        if parent.level.depth != row.level.depth - 1:
            raise _invalid(row, f"a {row.level.value} cannot sit under a {parent.level.value}")
        if (row.level is Level.COUNTY) != (row.kind is not None):
            raise _invalid(row, "county-level units, and only they, have a kind")
        children.setdefault(parent.code, []).append(row.code)
    for kids in children.values():
        kids.sort(key=lambda c: sort_key(units[c]))
    # Levels strictly step down by one, so a cycle is impossible once every parent
    # exists; walking from the root and counting what we reach proves it anyway.
    paths: dict[str, str] = {root.code: path_of([root.code])}
    stack = [root.code]
    while stack:
        code = stack.pop()
        for child in children.get(code, []):
            paths[child] = paths[code] + child + "/"
            stack.append(child)
    if len(paths) != len(units):
        stray = next(r for r in units.values() if r.code not in paths)
        raise _invalid(stray, "unit is not reachable from the city (cycle)")
    return Tree(units=units, paths=paths, children=children, root=root.code)


def _invalid(row: UnitRow, why: str) -> InvalidInput:
    return InvalidInput("unit.tree_invalid", f"unit {row.code} ({row.name}): {why}", unit=row.code)
