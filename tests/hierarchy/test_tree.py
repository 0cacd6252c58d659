"""The unit tree: invariants on random valid trees, rejection of trees broken one rule at a time.

Every property is checked against a small model built from the rows' parent links alone,
so the tests do not trust the materialised paths they are checking.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hierarchy.errors import InvalidInput, NotFound
from hierarchy.tree import KIND_ORDER, Kind, Level, Tree, UnitRow, build_tree, in_subtree, path_of
from seeds.network import load_units

# Digits of varying length: "12" and "123" both occur, so a path test that forgets the
# trailing "/" would wrongly put 123 under 12.
codes = st.text(alphabet="0123456789", min_size=1, max_size=4)

#: Never a generated code (those are digits only), so usable as a parent that is not there.
MISSING = "missing"

Counts = tuple[int, int]


@st.composite
def trees(
    draw: st.DrawFn,
    counties: Counts = (0, 4),
    towns: Counts = (0, 3),
    villages: Counts = (0, 3),
) -> list[UnitRow]:
    """A valid tree in random row order: one city, counties with kinds, towns, villages.

    Each range bounds the children of one parent: ``towns=(1, 3)`` gives every county one
    to three towns.
    """
    shape = draw(
        st.lists(
            st.lists(st.integers(*villages), min_size=towns[0], max_size=towns[1]),
            min_size=counties[0],
            max_size=counties[1],
        )
    )
    size = 1 + len(shape) + sum(len(t) + sum(t) for t in shape)
    pool = iter(draw(st.lists(codes, min_size=size, max_size=size, unique=True)))

    def unit(level: Level, parent: str | None, kind: Kind | None = None) -> UnitRow:
        code = next(pool)
        return UnitRow(code, f"{level.value} {code}", level, parent, kind, draw(st.booleans()))

    city = unit(Level.CITY, None)
    rows = [city]
    for county_towns in shape:
        county = unit(Level.COUNTY, city.code, draw(st.sampled_from(Kind)))
        rows.append(county)
        for village_count in county_towns:
            town = unit(Level.TOWN, county.code)
            rows.append(town)
            rows.extend(unit(Level.VILLAGE, town.code) for _ in range(village_count))
    # build_tree must not rely on parents coming first.
    return list(draw(st.permutations(rows)))


class Model:
    """What the tree should say, worked out from parent links only."""

    def __init__(self, rows: list[UnitRow]) -> None:
        self.rows = {r.code: r for r in rows}
        self.root = next(r.code for r in rows if r.level is Level.CITY)

    def chain(self, code: str) -> list[str]:
        """Codes from the city down to ``code`` itself."""
        out = [code]
        while (parent := self.rows[out[-1]].parent_code) is not None:
            out.append(parent)
        return out[::-1]

    def ancestors(self, code: str) -> list[str]:
        return self.chain(code)[:-1]

    def within(self, code: str, root: str) -> bool:
        return root in self.chain(code)

    def children(self, code: str) -> list[str]:
        return [c for c, r in self.rows.items() if r.parent_code == code]


# -- valid trees ---------------------------------------------------------------------------


@given(trees())
def test_build_tree_accepts_every_valid_tree(rows: list[UnitRow]) -> None:
    tree = build_tree(rows)
    assert tree.units == {r.code: r for r in rows}
    assert tree.root == Model(rows).root


@given(trees())
def test_path_is_parent_path_plus_own_code(rows: list[UnitRow]) -> None:
    tree, model = build_tree(rows), Model(rows)
    assert tree.path(model.root) == f"/{model.root}/"
    for code, row in tree.units.items():
        path = tree.path(code)
        assert path.endswith(f"/{code}/")
        assert path == path_of(model.chain(code))
        if row.parent_code is not None:
            assert path.startswith(tree.path(row.parent_code))
            assert path.count("/") == tree.path(row.parent_code).count("/") + 1


@given(trees())
def test_ancestors_and_escalation_chain(rows: list[UnitRow]) -> None:
    tree, model = build_tree(rows), Model(rows)
    for code, row in tree.units.items():
        assert tree.ancestors(code) == model.ancestors(code)
        assert tree.parent(code) == row.parent_code
        chain = tree.escalation_chain(code)
        assert len(chain) == row.level.depth
        assert chain == model.ancestors(code)[::-1]
        if chain:
            assert chain[0] == row.parent_code
            assert chain[-1] == model.root
            assert tree.units[chain[-1]].level is Level.CITY


@given(trees())
def test_is_within_is_being_an_ancestor_or_oneself(rows: list[UnitRow]) -> None:
    tree, model = build_tree(rows), Model(rows)
    for x in tree.units:
        for a in tree.units:
            assert tree.is_within(x, a) == (a in [*model.ancestors(x), x])
            assert in_subtree(tree.path(x), tree.path(a)) == tree.is_within(x, a)


@given(trees())
def test_subtree_is_everything_within_depth_first(rows: list[UnitRow]) -> None:
    tree, model = build_tree(rows), Model(rows)
    for a in tree.units:
        listed = list(tree.subtree(a))
        assert len(listed) == len(set(listed))
        assert set(listed) == {x for x in tree.units if tree.is_within(x, a)}
        assert set(listed) == {x for x in tree.units if model.within(x, a)}
        assert listed[0] == a
        # Depth first: every unit comes after its parent, and a unit's descendants
        # follow it as one unbroken run.
        position = {code: i for i, code in enumerate(listed)}
        for code in listed[1:]:
            assert position[tree.units[code].parent_code or ""] < position[code]
            run = listed[position[code] : position[code] + len(list(tree.subtree(code)))]
            assert set(run) == set(tree.subtree(code))
    assert set(tree.subtree(model.root)) == set(tree.units)


@given(trees())
def test_children_are_listed_kind_first_then_by_code(rows: list[UnitRow]) -> None:
    tree, model = build_tree(rows), Model(rows)
    for code in tree.units:
        kids = tree.children.get(code, [])
        assert sorted(kids) == sorted(model.children(code))
        keys = [(KIND_ORDER[k] if (k := tree.units[c].kind) else 0, c) for c in kids]
        assert keys == sorted(keys)


@given(trees())
def test_common_ancestor_is_the_lowest_unit_holding_both(rows: list[UnitRow]) -> None:
    tree, model = build_tree(rows), Model(rows)
    for a in tree.units:
        for b in tree.units:
            common = tree.common_ancestor(a, b)
            assert common == tree.common_ancestor(b, a)
            assert tree.is_within(a, common) and tree.is_within(b, common)
            assert not any(tree.is_within(a, kid) and tree.is_within(b, kid) for kid in model.children(common))
            if tree.is_within(b, a):
                assert common == a


@given(trees())
def test_county_of(rows: list[UnitRow]) -> None:
    tree, model = build_tree(rows), Model(rows)
    for code, row in tree.units.items():
        county = tree.county_of(code)
        if row.level is Level.CITY:
            assert county is None
            continue
        assert county is not None
        assert tree.units[county].level is Level.COUNTY
        assert tree.units[county].kind is not None
        assert tree.is_within(code, county)
        assert county == model.chain(code)[1]


def test_unknown_code_is_not_found() -> None:
    tree = build_tree([UnitRow("1", "city", Level.CITY, None)])
    for lookup in (tree.get, tree.path, tree.ancestors, tree.county_of, lambda c: list(tree.subtree(c))):
        with pytest.raises(NotFound) as caught:
            lookup("2")
        assert caught.value.code == "unit.not_found"


# -- trees broken one rule at a time --------------------------------------------------------

Broken = tuple[list[UnitRow], set[str]]
"""Rows breaking one rule, and the codes the error may name (any one of them)."""


def _swap(rows: list[UnitRow], old: UnitRow, new: UnitRow) -> list[UnitRow]:
    return [new if r is old else r for r in rows]


def _pick(draw: st.DrawFn, rows: list[UnitRow], test: Callable[[UnitRow], bool]) -> UnitRow:
    return draw(st.sampled_from(sorted((r for r in rows if test(r)), key=lambda r: r.code)))


@st.composite
def duplicate_code(draw: st.DrawFn) -> Broken:
    rows = draw(trees())
    twin = _pick(draw, rows, lambda r: True)
    at = draw(st.integers(0, len(rows)))
    return [*rows[:at], dataclasses.replace(twin, name="twin"), *rows[at:]], {twin.code}


@st.composite
def city_with_a_parent(draw: st.DrawFn) -> Broken:
    rows = draw(trees(counties=(1, 4)))
    city = _pick(draw, rows, lambda r: r.level is Level.CITY)
    parent = draw(st.sampled_from([MISSING, *(r.code for r in rows)]))
    return _swap(rows, city, dataclasses.replace(city, parent_code=parent)), {city.code}


@st.composite
def missing_parent(draw: st.DrawFn) -> Broken:
    rows = draw(trees(counties=(1, 4)))
    orphan = _pick(draw, rows, lambda r: r.level is not Level.CITY)
    return _swap(rows, orphan, dataclasses.replace(orphan, parent_code=MISSING)), {orphan.code}


@st.composite
def parent_removed(draw: st.DrawFn) -> Broken:
    rows = draw(trees(counties=(1, 4), towns=(1, 3)))
    parents = {r.parent_code for r in rows if r.level is not Level.COUNTY}
    gone = _pick(draw, rows, lambda r: r.code in parents)
    orphans = {r.code for r in rows if r.parent_code == gone.code}
    return [r for r in rows if r is not gone], orphans


@st.composite
def level_skipped(draw: st.DrawFn) -> Broken:
    """A unit re-parented to any unit not one level up: a village under a county, a town
    under the city or a village, a county under a town, a unit under itself …"""
    rows = draw(trees(counties=(1, 4), towns=(0, 3), villages=(0, 3)))
    moved = _pick(draw, rows, lambda r: r.level is not Level.CITY)
    parent = _pick(draw, rows, lambda r: r.level.depth != moved.level.depth - 1)
    return _swap(rows, moved, dataclasses.replace(moved, parent_code=parent.code)), {moved.code}


@st.composite
def parent_cycle(draw: st.DrawFn) -> Broken:
    """A county or town hung under one of its own descendants. Parent links then form a
    cycle, but levels step by one, so the level rule is what catches it."""
    rows = draw(trees(counties=(1, 4), towns=(1, 3), villages=(1, 3)))
    model = Model(rows)
    top = _pick(draw, rows, lambda r: r.level in (Level.COUNTY, Level.TOWN))
    below = _pick(draw, rows, lambda r: r.code != top.code and model.within(r.code, top.code))
    return _swap(rows, top, dataclasses.replace(top, parent_code=below.code)), {top.code}


@st.composite
def relabelled(draw: st.DrawFn) -> Broken:
    """A town labelled village: it now sits under a county, its villages under a village."""
    rows = draw(trees(counties=(1, 4), towns=(1, 3)))
    town = _pick(draw, rows, lambda r: r.level is Level.TOWN)
    offenders = {town.code} | {r.code for r in rows if r.parent_code == town.code}
    return _swap(rows, town, dataclasses.replace(town, level=Level.VILLAGE)), offenders


@st.composite
def kind_below_county(draw: st.DrawFn) -> Broken:
    rows = draw(trees(counties=(1, 4), towns=(1, 3)))
    unit = _pick(draw, rows, lambda r: r.level in (Level.TOWN, Level.VILLAGE))
    kind = draw(st.sampled_from(Kind))
    return _swap(rows, unit, dataclasses.replace(unit, kind=kind)), {unit.code}


@st.composite
def county_without_kind(draw: st.DrawFn) -> Broken:
    rows = draw(trees(counties=(1, 4)))
    county = _pick(draw, rows, lambda r: r.level is Level.COUNTY)
    return _swap(rows, county, dataclasses.replace(county, kind=None)), {county.code}


def _named(error: InvalidInput) -> set[str]:
    """Codes the error names: in its data, or as a whole word in its message."""
    in_data = {v for v in error.data.values() if isinstance(v, str)}
    return in_data | set(re.findall(r"\w+", error.message))


@pytest.mark.parametrize(
    "broken",
    [
        duplicate_code,
        city_with_a_parent,
        missing_parent,
        parent_removed,
        level_skipped,
        parent_cycle,
        relabelled,
        kind_below_county,
        county_without_kind,
    ],
)
@given(data=st.data())
def test_a_tree_broken_by_one_rule_is_rejected_naming_the_row(
    broken: Callable[[], st.SearchStrategy[Broken]], data: st.DataObject
) -> None:
    rows, offenders = data.draw(broken())
    with pytest.raises(InvalidInput) as caught:
        build_tree(rows)
    assert caught.value.code == "unit.tree_invalid"
    assert _named(caught.value) & offenders, (caught.value.message, caught.value.data, offenders)


@st.composite
def two_cities(draw: st.DrawFn) -> list[UnitRow]:
    rows = draw(trees())
    code = draw(codes.filter(lambda c: all(r.code != c for r in rows)))
    other = UnitRow(code, "another city", Level.CITY, None)
    at = draw(st.integers(0, len(rows)))
    return [*rows[:at], other, *rows[at:]]


@st.composite
def no_city(draw: st.DrawFn) -> list[UnitRow]:
    rows = draw(trees())
    city = _pick(draw, rows, lambda r: r.level is Level.CITY)
    if draw(st.booleans()):
        return [r for r in rows if r is not city]
    # Demoted rather than removed: a county-level unit with a kind and nothing above it.
    return _swap(rows, city, dataclasses.replace(city, level=Level.COUNTY, kind=Kind.ZONE))


@given(data=st.data())
@pytest.mark.parametrize(("broken", "count"), [(two_cities, 2), (no_city, 0)])
def test_a_tree_without_exactly_one_city_is_rejected(
    broken: Callable[[], st.SearchStrategy[list[UnitRow]]], count: int, data: st.DataObject
) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_tree(data.draw(broken()))
    assert caught.value.code == "unit.tree_invalid"
    assert caught.value.data["count"] == count


def test_a_city_with_a_kind_is_rejected() -> None:
    with pytest.raises(InvalidInput) as caught:
        build_tree([UnitRow("1", "city", Level.CITY, None, Kind.DISTRICT)])
    assert "1" in _named(caught.value)


# -- the real network ----------------------------------------------------------------------


def test_the_zhongwei_seed_is_a_valid_tree() -> None:
    tree: Tree = build_tree(load_units())
    assert len(tree.units) == 561
    assert tree.root == "640500"
    assert [tree.units[c].kind for c in tree.children["640500"]] == [
        Kind.DISTRICT,
        Kind.COUNTY,
        Kind.COUNTY,
        Kind.PARK,
        Kind.ZONE,
    ]
    assert tree.path("640521") == "/640500/640521/"
    # The park and the zone keep their town-like codes but hang straight under the city.
    assert tree.escalation_chain("640502401") == ["640500"]
    assert tree.escalation_chain("640522406") == ["640500"]
