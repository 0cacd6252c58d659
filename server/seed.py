"""Load the seed network, catalogue and demo agents. Idempotent: run it any number of times."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from piccolo.columns import Column
from piccolo.table import Table

from hierarchy.roles import Role
from hierarchy.serving import EVERYONE, default_serves
from hierarchy.tree import KIND_ORDER, Level, Tree, build_tree
from seeds.catalogue import load_items
from seeds.departments import departments
from seeds.network import demo_agents, load_units
from server.security import hash_password
from server.tables import Agent, Item, Unit

T = TypeVar("T", bound=Table)

#: SQLite caps the variables in one statement; 100 rows x ~12 columns stays far below.
CHUNK = 100

Progress = Callable[[str, int, int], None]


def unit_rows(tree: Tree) -> list[Unit]:
    rows = []
    serves: dict[str, tuple[str, ...]] = {}
    for code, row in tree.units.items():
        path = tree.paths[code]
        parent = serves.get(row.parent_code or "", EVERYONE)
        serves[code] = default_serves(row.name, row.kind, parent)
        rows.append(
            Unit(
                code=code,
                name=row.name,
                level=row.level.value,
                kind=row.kind.value if row.kind else None,
                parent_code=row.parent_code,
                path=path,
                depth=row.level.depth,
                open_weekends=row.open_weekends,
                response_days=1,
                sort_key=f"{KIND_ORDER[row.kind] if row.kind else 0}{code}",
                serves=list(serves[code]),
            )
        )
    return rows


def department_rows(tree: Tree) -> list[Unit]:
    """The city's and the counties' departments, each a leaf under its parent (sorted last)."""
    rows = []
    for dept in departments(list(tree.units.values())):
        parent = tree.units[dept.parent_code]
        rows.append(
            Unit(
                code=dept.code,
                name=dept.name,
                level=Level.DEPARTMENT.value,
                kind=None,
                parent_code=dept.parent_code,
                path=f"{tree.paths[dept.parent_code]}{dept.code}/",
                depth=parent.level.depth + 1,
                open_weekends=False,
                response_days=1,
                sort_key=f"9{dept.code}",
            )
        )
    return rows


async def upsert(
    table: type[T],
    rows: Sequence[T],
    target: Column,
    update: Iterable[Column] | None,
    progress: Progress | None = None,
) -> None:
    """Insert rows in chunks; on a key conflict update ``update`` columns, or keep the row."""
    cols = list(update) if update is not None else None
    for start in range(0, len(rows), CHUNK):
        query = table.insert(*rows[start : start + CHUNK])
        if cols:
            query = query.on_conflict(target=target, action="DO UPDATE", values=cols)
        else:
            query = query.on_conflict(target=target, action="DO NOTHING")
        await query.run()
        if progress:
            progress(table._meta.tablename, min(start + CHUNK, len(rows)), len(rows))


async def seed_network(
    demo_password: str | None, progress: Progress | None = None
) -> dict[str, Any]:
    """Units, items and, with a ``demo_password``, the demo agents (all sharing it).
    ``None`` is a production seed: no agent at all. Existing agents keep their passwords."""
    tree = build_tree(load_units())
    units = unit_rows(tree) + department_rows(tree)
    await upsert(
        Unit,
        units,
        Unit.code,
        [Unit.name, Unit.level, Unit.kind, Unit.parent_code, Unit.path, Unit.depth, Unit.sort_key, Unit.serves],
        progress,
    )
    # A local item names its county-level unit; the whole city is no locality.
    by_name = {u.name: code for code, u in tree.units.items() if u.level is not Level.CITY}
    items = [
        Item(
            code=i.code,
            name=i.name,
            scope=i.scope,
            lifecycle=i.lifecycle,
            lead_departments=list(i.lead_departments),
            materials=[{"code": m.code, "name": m.name, "deferrable": m.deferrable} for m in i.materials],
            promised_days=i.promised_days,
            demo_fields=list(i.demo_fields),
            item_group=i.group,
            locality_code=by_name.get(i.locality),
            serves=i.applicants,
        )
        for i in load_items()
    ]
    await upsert(
        Item,
        items,
        Item.code,
        [
            Item.name,
            Item.scope,
            Item.lifecycle,
            Item.lead_departments,
            Item.materials,
            Item.promised_days,
            Item.demo_fields,
            Item.item_group,
            Item.locality_code,
            Item.serves,
        ],
        progress,
    )
    if demo_password is None:
        return {"units": len(units), "items": len(items), "agents": 0}
    # One argon2 hash for the shared demo password: hashing 1,000+ agents one by one
    # would take a minute for the same secret.
    hashed = hash_password(demo_password)
    agents = [
        Agent(
            username=a.username,
            name=a.name,
            unit_code=a.unit_code,
            role=a.role.value,
            password_hash=hashed,
            active=True,
            capacity=20,
            skills=[],
        )
        for a in demo_agents(list(tree.units.values()))
    ] + [
        Agent(
            username=f"a{u.code}{suffix}",
            name=f"{u.name}代办员{suffix and '二'}",
            unit_code=u.code,
            role=Role.DEPARTMENT_AGENT.value,
            password_hash=hashed,
            active=True,
            capacity=20,
            skills=[],
        )
        for u in units
        if u.level == Level.DEPARTMENT.value
        for suffix in ("", "-2")
    ]
    await upsert(Agent, agents, Agent.username, None, progress)
    return {"units": len(units), "items": len(items), "agents": len(agents)}
