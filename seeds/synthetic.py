"""A deterministic, national-size synthetic unit tree for benchmarks.

Rows use a 12-digit NBS-like code scheme — province (2) + city (2) + county (2) +
town (3) + village (3) — so county codes have 6 digits, town codes 9 and village codes
12. One root row stands for the city-level dispatcher (code ``"000000"``, level
``"city"``); every county hangs directly under it, towns under counties and villages
under towns. The generator holds only counters, never the tree, so half a million rows
cost no memory beyond the row being yielded.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Final

__all__ = [
    "COUNTIES",
    "ROOT_CODE",
    "TOWNS",
    "VILLAGES",
    "UnitRow",
    "national_tree",
]

UnitRow = tuple[str, str, str, str | None, str | None]
"""(code, name, level, parent_code, kind): the same columns as ``seeds/units.csv``."""

COUNTIES: Final = 3_000
TOWNS: Final = 40_000
VILLAGES: Final = 500_000
ROOT_CODE: Final = "000000"

# County codes: province 11.., 15 cities per province, 20 counties per city, which keeps
# the codes looking like real ones for national sizes.
_COUNTIES_PER_CITY: Final = 20
_CITIES_PER_PROVINCE: Final = 15
_FIRST_PROVINCE: Final = 11
_MAX_COUNTIES: Final = (99 - _FIRST_PROVINCE + 1) * _CITIES_PER_PROVINCE * _COUNTIES_PER_CITY
_MAX_CHILDREN: Final = 999  # three digits for a town within a county, a village within a town

# Share of each county-level kind, roughly as in China (mostly 县 and 区).
_KINDS: Final = ("district", "county", "park", "zone")
_KIND_WEIGHTS: Final = (35, 55, 6, 4)
_KIND_SUFFIX: Final = {"district": "区", "county": "县", "park": "工业园区", "zone": "开发区"}
_TOWN_SUFFIXES: Final = ("镇", "乡", "街道")
_TOWN_WEIGHTS: Final = (55, 25, 20)
_COMMUNITY_SHARE: Final = 0.2  # villages named 社区 rather than 村


def _share(total: int, parts: int, index: int) -> int:
    """The size of part ``index`` when ``total`` is split into ``parts`` near-equal parts."""
    base, extra = divmod(total, parts)
    return base + (1 if index < extra else 0)


def _county_code(index: int) -> str:
    """Six-digit county code of the ``index``-th county (0-based)."""
    per_province = _CITIES_PER_PROVINCE * _COUNTIES_PER_CITY
    province = _FIRST_PROVINCE + index // per_province
    city = (index % per_province) // _COUNTIES_PER_CITY + 1
    county = index % _COUNTIES_PER_CITY + 1
    return f"{province:02d}{city:02d}{county:02d}"


def _check(counties: int, towns: int, villages: int) -> None:
    """Reject sizes the code scheme cannot hold or the tree cannot parent."""
    if min(counties, towns, villages) < 0:
        raise ValueError("counts must not be negative")
    if counties > _MAX_COUNTIES:
        raise ValueError(f"at most {_MAX_COUNTIES} counties fit the code scheme, got {counties}")
    if towns and not counties:
        raise ValueError("towns need at least one county")
    if villages and not towns:
        raise ValueError("villages need at least one town")
    if counties and -(-towns // counties) > _MAX_CHILDREN:
        raise ValueError(f"at most {_MAX_CHILDREN} towns per county fit the code scheme")
    if towns and -(-villages // towns) > _MAX_CHILDREN:
        raise ValueError(f"at most {_MAX_CHILDREN} villages per town fit the code scheme")


def national_tree(
    counties: int = COUNTIES,
    towns: int = TOWNS,
    villages: int = VILLAGES,
    seed: int = 0,
) -> Iterator[UnitRow]:
    """Yield a synthetic national unit tree, parents before children.

    Exactly ``counties`` county rows, ``towns`` town rows and ``villages`` village rows
    follow the one root row. Towns are spread over counties, and villages over towns, as
    evenly as possible (sizes differ by at most one). Counts and codes do not depend on
    ``seed``; it only picks county kinds and the town/village name suffixes, so the same
    arguments always give the same rows.

    Args:
        counties: Number of county-level units (kind district, county, park or zone).
        towns: Total number of towns.
        villages: Total number of villages.
        seed: Seed for the kinds and names.

    Yields:
        ``(code, name, level, parent_code, kind)``; ``kind`` is set on counties only.

    Raises:
        ValueError: If a count is negative, children have no possible parent, or the
            sizes do not fit the code scheme. Raised at the call, before any row.
    """
    _check(counties, towns, villages)
    return _rows(counties, towns, villages, random.Random(seed))


def _rows(counties: int, towns: int, villages: int, rng: random.Random) -> Iterator[UnitRow]:
    """The rows of :func:`national_tree`, for checked sizes."""
    yield (ROOT_CODE, "全国合成调度中心", "city", None, None)
    town_index = 0  # global, so villages are shared evenly over all towns
    for c in range(counties):
        county_code = _county_code(c)
        kind = rng.choices(_KINDS, _KIND_WEIGHTS)[0]
        yield (county_code, f"合成{c + 1:04d}{_KIND_SUFFIX[kind]}", "county", ROOT_CODE, kind)
        for t in range(_share(towns, counties, c)):
            town_code = f"{county_code}{t + 1:03d}"
            town_suffix = rng.choices(_TOWN_SUFFIXES, _TOWN_WEIGHTS)[0]
            yield (town_code, f"合成第{t + 1}{town_suffix}", "town", county_code, None)
            for v in range(_share(villages, towns, town_index)):
                suffix = "社区" if rng.random() < _COMMUNITY_SHARE else "村"
                yield (f"{town_code}{v + 1:03d}", f"合成第{v + 1}{suffix}", "village", town_code, None)
            town_index += 1
