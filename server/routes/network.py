"""The network and the item catalogue: public reference data."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.params import FromPath, QueryParameter

from hierarchy.errors import NotFound
from hierarchy.tree import Level
from server.queries import under
from server.tables import Item, Unit
from sync.wire import ItemOut, UnitOut, UnitPage


async def _items(rows: list[dict[str, Any]]) -> list[ItemOut]:
    codes = {r["locality_code"] for r in rows if r["locality_code"]}
    units: dict[str, dict[str, Any]] = {}
    if codes:
        found = await Unit.select(Unit.code, Unit.name, Unit.path).where(Unit.code.is_in(list(codes)))
        units = {u["code"]: u for u in found}
    out = []
    for r in rows:
        unit = units.get(r["locality_code"] or "")
        extra = {"locality_name": unit["name"], "locality_path": unit["path"]} if unit else {}
        out.append(msgspec.convert({**r, "group": r["item_group"], **extra}, ItemOut))
    return out


UNIT_COLUMNS = (
    Unit.code,
    Unit.name,
    Unit.level,
    Unit.kind,
    Unit.parent_code,
    Unit.path,
    Unit.open_weekends,
    Unit.response_days,
)


async def fetch_unit(code: str) -> dict[str, Any]:
    row = await Unit.select(*UNIT_COLUMNS).where(Unit.code == code).first()
    if row is None:
        raise NotFound("unit.not_found", f"no unit with code {code}", unit=code)
    return row


class UnitController(Controller):
    path = "/api/v1/units"
    tags = ["network"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @get("/", operation_id="listUnits", summary="Units of the network, paged by code")
    async def list_units(
        self,
        level: Annotated[Level | None, QueryParameter(description="only units at this level")] = None,
        within: Annotated[str | None, QueryParameter(description="only units in this unit's subtree")] = None,
        cursor: Annotated[str | None, QueryParameter(description="next_cursor of the previous page")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> UnitPage:
        query = Unit.select(*UNIT_COLUMNS).order_by(Unit.code).limit(limit + 1)
        if level is not None:
            query = query.where(Unit.level == level.value)
        if within is not None:
            query = query.where(under(Unit.path, (await fetch_unit(within))["path"]))
        if cursor is not None:
            query = query.where(Unit.code > cursor)
        rows = await query
        page = rows[:limit]
        return UnitPage(
            units=msgspec.convert(page, list[UnitOut]),
            next_cursor=page[-1]["code"] if len(rows) > limit else None,
        )

    @get("/{code:str}", operation_id="getUnit", summary="One unit")
    async def get_unit(self, code: FromPath[str]) -> UnitOut:
        return msgspec.convert(await fetch_unit(code), UnitOut)

    @get("/{code:str}/children", operation_id="listUnitChildren", summary="Units directly under one unit")
    async def children(self, code: FromPath[str]) -> list[UnitOut]:
        await fetch_unit(code)
        rows = await Unit.select(*UNIT_COLUMNS).where(Unit.parent_code == code).order_by(Unit.sort_key)
        return msgspec.convert(rows, list[UnitOut])


class ItemController(Controller):
    path = "/api/v1/items"
    tags = ["network"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @get("/", operation_id="listItems", summary="The 一件事 catalogue")
    async def list_items(
        self,
        item_scope: Annotated[
            str | None, QueryParameter(name="scope", description="national, regional or local")
        ] = None,
        lifecycle: Annotated[str | None, QueryParameter(description="individual or enterprise")] = None,
    ) -> list[ItemOut]:
        query = Item.select().order_by(Item.code).output(load_json=True)
        if item_scope:
            query = query.where(Item.scope == item_scope)
        if lifecycle:
            query = query.where(Item.lifecycle == lifecycle)
        return await _items(await query)

    @get("/{code:str}", operation_id="getItem", summary="One item")
    async def get_item(self, code: FromPath[str]) -> ItemOut:
        row = await Item.select().where(Item.code == code).output(load_json=True).first()
        if row is None:
            raise NotFound("item.not_found", f"no item with code {code}", item=code)
        return (await _items([row]))[0]
