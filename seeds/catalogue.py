"""The 一件事 item catalogue, loaded from the package's ``items.json``.

The data comes from Zhongwei's 2024 plan for 高效办成一件事 (卫政发〔2024〕23号), whose
arrangement is "13+1+7+N": 13 national items, 高效办证 (urban housing title
certificates), 7 regional (自治区) items and 4 local items. Values the plan does not give
(materials, time limits, the per-item choice of lead departments) are demo values; each
item names them in ``demo_fields`` and the catalogue's ``note`` explains them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Annotated, Literal

import msgspec

__all__ = [
    "Catalogue",
    "Group",
    "ItemSeed",
    "Lifecycle",
    "MaterialSeed",
    "Scope",
    "Serves",
    "load_catalogue",
    "load_items",
]

Scope = Literal["national", "regional", "local"]
"""Who set the item: the State Council, the autonomous region, or Zhongwei itself."""

Lifecycle = Literal["individual", "enterprise"]
"""Whose life cycle the item serves: a person's or a firm's."""

Group = Literal["national", "certificate", "regional", "local"]

Serves = Literal["person", "enterprise", "both"]
"""Who may apply for an item: a person, an enterprise, or either."""
"""The plan's own "13+1+7+N" grouping; 高效办证 (the "1") is a regional task of its own."""


class MaterialSeed(msgspec.Struct, kw_only=True, frozen=True):
    """One material an applicant hands in for an item.

    Attributes:
        code: Stable ASCII slug, unique within its item.
        name: Chinese name of the material.
        deferrable: Whether it may be handed in later under a signed commitment (容缺).
    """

    code: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
    name: Annotated[str, msgspec.Meta(min_length=1)]
    deferrable: bool = False


class ItemSeed(msgspec.Struct, kw_only=True, frozen=True):
    """One 一件事 item of the catalogue.

    Attributes:
        code: Stable ASCII code: N/R/L (or C for 高效办证), two digits and a slug.
        name: The item's name exactly as the plan writes it.
        scope: Who set the item.
        group: The plan's "13+1+7+N" group.
        task: Number of the plan's task (推进措施) that lists the item.
        lifecycle: Whether it serves a person or a firm.
        lead_departments: Lead departments (牵头单位), in Chinese.
        materials: What the applicant hands in, in checklist order.
        promised_days: Promised time limit in working days.
        demo_fields: Names of the fields whose values are demo values, not the plan's.
        locality: The city, or the county-level unit a local item belongs to.
        serves: Who may apply; by default what the life cycle says.
    """

    code: Annotated[str, msgspec.Meta(pattern=r"^[NRLC][0-9]{2}-[a-z0-9]+(-[a-z0-9]+)*$")]
    name: Annotated[str, msgspec.Meta(min_length=1)]
    scope: Scope
    group: Group
    task: Annotated[int, msgspec.Meta(ge=1)]
    lifecycle: Lifecycle
    lead_departments: Annotated[tuple[str, ...], msgspec.Meta(min_length=1)]
    materials: Annotated[tuple[MaterialSeed, ...], msgspec.Meta(min_length=1)]
    promised_days: Annotated[int, msgspec.Meta(gt=0)]
    demo_fields: tuple[str, ...] = ()
    locality: str = "中卫市"
    serves: Serves | None = None

    @property
    def applicants(self) -> Serves:
        """Who may apply: ``serves``, else a person for an individual's item and an
        enterprise for an enterprise's."""
        if self.serves is not None:
            return self.serves
        return "enterprise" if self.lifecycle == "enterprise" else "person"

    def __post_init__(self) -> None:
        codes = [m.code for m in self.materials]
        if len(set(codes)) != len(codes):
            raise ValueError(f"item {self.code}: material codes repeat")
        unknown = set(self.demo_fields) - _FIELDS
        if unknown:
            raise ValueError(f"item {self.code}: demo_fields names unknown fields {sorted(unknown)}")


_FIELDS = frozenset(ItemSeed.__struct_fields__)


class Catalogue(msgspec.Struct, kw_only=True, frozen=True):
    """The whole catalogue file: its source, a note on demo values, and the items.

    Attributes:
        source: Title of the document the items come from.
        note: Which values are the document's and which are demo values.
        items: The items, in the document's order.
    """

    source: str
    note: str
    items: tuple[ItemSeed, ...]

    def __post_init__(self) -> None:
        codes = [i.code for i in self.items]
        if len(set(codes)) != len(codes):
            raise ValueError("item codes repeat")


_DECODER = msgspec.json.Decoder(Catalogue)


@cache
def load_catalogue() -> Catalogue:
    """Read and validate the catalogue shipped with the package.

    Returns:
        The decoded catalogue (cached; it is immutable).

    Raises:
        msgspec.ValidationError: If ``items.json`` does not match the schema.
    """
    data = resources.files(__package__ or "seeds").joinpath("items.json").read_bytes()
    return _DECODER.decode(data)


def load_items() -> list[ItemSeed]:
    """Return the catalogue's items in the document's order.

    Returns:
        A fresh list of the (immutable) items.
    """
    return list(load_catalogue().items)
