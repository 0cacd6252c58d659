"""What a unit serves, from its kind and name; what a case needs."""

from __future__ import annotations

import pytest

from hierarchy.serving import ENTERPRISES_ONLY, EVERYONE, can_serve, default_serves
from hierarchy.tree import Kind
from seeds.network import load_units


@pytest.mark.parametrize(
    ("name", "kind", "parent", "expected"),
    [
        ("李旺镇", None, EVERYONE, EVERYONE),
        ("南华山自然保护区管理处", None, EVERYONE, ENTERPRISES_ONLY),
        ("种羊场", None, EVERYONE, ENTERPRISES_ONLY),
        ("大战场镇", None, EVERYONE, EVERYONE),  # a town whose name has 场 inside
        ("中卫工业园区", Kind.PARK, EVERYONE, ENTERPRISES_ONLY),
        ("某社区", None, ENTERPRISES_ONLY, ENTERPRISES_ONLY),  # never more than its parent
    ],
)
def test_default_serves(name: str, kind: Kind | None, parent: tuple[str, ...], expected: tuple[str, ...]) -> None:
    assert default_serves(name, kind, parent) == expected


def test_a_citizens_case_needs_a_unit_serving_individuals() -> None:
    assert can_serve(EVERYONE, "individual", "person")
    assert not can_serve(ENTERPRISES_ONLY, "individual", "person")
    assert not can_serve(ENTERPRISES_ONLY, "enterprise", "person")  # a person applying for a firm's matter
    assert can_serve(ENTERPRISES_ONLY, "enterprise", "firm")


def test_the_seeded_network_has_three_non_residential_towns() -> None:
    odd = [u.name for u in load_units() if u.level == "town" and default_serves(u.name, u.kind) != EVERYONE]
    assert sorted(odd) == sorted(["中卫山羊选育场", "种羊场", "南华山自然保护区管理处"])
