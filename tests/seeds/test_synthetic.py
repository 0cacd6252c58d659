"""The synthetic national tree: exact sizes, parents first, unique codes, one level a step."""

from __future__ import annotations

from collections import Counter
from itertools import islice

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seeds.synthetic import ROOT_CODE, UnitRow, national_tree

LEVELS = ["city", "county", "town", "village"]
CODE_LENGTH = {"city": 6, "county": 6, "town": 9, "village": 12}


def check_tree(rows: list[UnitRow], counties: int, towns: int, villages: int) -> None:
    """Assert every structural promise of :func:`national_tree` on ``rows``."""
    assert Counter(r[2] for r in rows) == {
        level: n for level, n in zip(LEVELS, (1, counties, towns, villages), strict=True) if n
    }
    assert rows[0] == (ROOT_CODE, rows[0][1], "city", None, None)
    seen: dict[str, str] = {}
    for code, name, level, parent, kind in rows:
        assert code not in seen, f"repeated code {code}"
        assert name
        assert code.isdigit() and len(code) == CODE_LENGTH[level]
        if level == "city":
            assert parent is None
        else:
            assert parent in seen, f"{code} comes before its parent {parent}"
            assert LEVELS.index(level) == LEVELS.index(seen[parent]) + 1
            if level != "county":
                assert code.startswith(parent)
        if level == "county":
            assert kind in {"district", "county", "park", "zone"}
        else:
            assert kind is None
        seen[code] = level


def children_per_parent(rows: list[UnitRow], level: str) -> Counter[str | None]:
    return Counter(r[3] for r in rows if r[2] == level)


@pytest.mark.parametrize(
    ("counties", "towns", "villages"),
    [(0, 0, 0), (1, 0, 0), (1, 1, 1), (3, 40, 500), (7, 13, 0), (5, 3, 11), (30, 400, 5000)],
)
def test_small_trees(counties: int, towns: int, villages: int) -> None:
    rows = list(national_tree(counties=counties, towns=towns, villages=villages))
    check_tree(rows, counties, towns, villages)


@settings(max_examples=60, deadline=None)
@given(
    counties=st.integers(1, 40),
    towns_per_county=st.integers(0, 20),
    extra_towns=st.integers(0, 39),
    villages=st.integers(0, 2000),
    seed=st.integers(0, 2**32),
)
def test_any_small_size(counties: int, towns_per_county: int, extra_towns: int, villages: int, seed: int) -> None:
    towns = counties * towns_per_county + min(extra_towns, counties - 1)
    if towns == 0:
        villages = 0
    elif villages > towns * 999:
        villages = towns * 999
    rows = list(national_tree(counties=counties, towns=towns, villages=villages, seed=seed))
    check_tree(rows, counties, towns, villages)


def test_spread_is_as_even_as_possible() -> None:
    rows = list(national_tree(counties=7, towns=100, villages=1234))
    towns = children_per_parent(rows, "town")
    villages = children_per_parent(rows, "village")
    assert set(towns.values()) == {14, 15} and len(towns) == 7
    assert set(villages.values()) == {12, 13} and len(villages) == 100


def test_deterministic_and_seed_only_changes_names_and_kinds() -> None:
    a = list(national_tree(counties=20, towns=100, villages=600, seed=1))
    assert a == list(national_tree(counties=20, towns=100, villages=600, seed=1))
    b = list(national_tree(counties=20, towns=100, villages=600, seed=2))
    assert [(r[0], r[2], r[3]) for r in a] == [(r[0], r[2], r[3]) for r in b]
    assert a != b


def test_defaults_are_national_size_and_lazy() -> None:
    head = list(islice(national_tree(), 3))
    assert [r[2] for r in head] == ["city", "county", "town"]


@pytest.mark.parametrize(
    ("counties", "towns", "villages"),
    [(-1, 0, 0), (0, 1, 0), (1, 0, 1), (1, 1000, 0), (1, 1, 1000), (10**6, 0, 0)],
)
def test_rejects_impossible_sizes(counties: int, towns: int, villages: int) -> None:
    with pytest.raises(ValueError):
        national_tree(counties=counties, towns=towns, villages=villages)
