"""Demo cases across the network, generated deterministically and inserted in bulk.

``daiban seed --demo-cases N`` calls :func:`seed_demo_cases`. Each case is taken at a
village, town or county by one of its demo agents over the last
:data:`HORIZON_DAYS` days and then lives through a story acted out with the real rules
(:mod:`server.demo_story`): escalations, claims, returns, the odd case the sweep had to
escalate, pauses, resolutions on time or late, ratings and reviews of bad ones, reopens.
Applicants carry valid resident IDs and credit codes. The same ``n``, ``seed`` and
``now`` give the same cases.

:func:`open_case_values` builds open cases without a history, quickly, for benchmarks.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from piccolo.table import Table

from hierarchy.calendar import TZ
from hierarchy.cases import Actor, CaseKind, Group, ServiceMode, Status
from hierarchy.machine import UnitRef
from hierarchy.roles import Role
from hierarchy.tree import Level
from hierarchy.validation import make_credit_code, make_resident_id
from server import db
from server.cases import case_ref, new_case_values, next_value, ref_counter, utc
from server.demo_story import Cast, Story
from server.tables import Agent, Case, CaseEvent, CaseHolder, Item, Unit
from sync import wire

DEFAULT_SEED = 20240419
HORIZON_DAYS = 60
#: Open cases without history are taken within this many days: most are not yet due.
OPEN_DAYS = 8
#: Rows per INSERT: the case table's ~47 columns x 400 stays under the 32,767 bind
#: parameters PostgreSQL (and SQLite since 3.32) accept in one statement.
CASE_CHUNK = 400
EVENT_CHUNK = 2000

Progress = Callable[[str, int, int], None]

SURNAMES = list("马王李张杨刘田海何冯周赵陈罗苏丁黄金吴孙")
GIVEN = [
    "玉兰",
    "建国",
    "志强",
    "秀英",
    "海燕",
    "学军",
    "桂花",
    "文博",
    "晓东",
    "春梅",
    "国庆",
    "丽娟",
    "永福",
    "梦瑶",
    "宏伟",
    "彩霞",
    "子涵",
    "思远",
]
FIRMS = ["沙坡头", "宁安", "枸杞", "塞上", "黄河", "腾格里", "星光", "富民", "兴业", "祥和"]
FIRM_KINDS = ["农业科技有限公司", "商贸有限公司", "建筑工程有限公司", "餐饮管理有限公司", "物流有限公司"]


class Network:
    """The seeded units, agents and items, as the generator needs them."""

    def __init__(self, units: list[dict[str, Any]], agents: list[dict[str, Any]], items: list[dict[str, Any]]):
        self.units = {u["code"]: u for u in units}
        self.items = items
        refs = {u["code"]: UnitRef(u["code"], u["path"], Level(u["level"])) for u in units}
        workers: dict[str, list[Actor]] = {}
        leads: dict[str, Actor] = {}
        by_id: dict[int, Actor] = {}
        dispatcher: Actor | None = None
        for a in agents:
            unit = self.units[a["unit_code"]]
            actor = Actor(a["id"], unit["code"], unit["path"], Role(a["role"]), Level(unit["level"]), a["username"])
            by_id[actor.id or 0] = actor
            if actor.role is Role.COUNTY_LEAD:
                leads[unit["code"]] = actor
            elif actor.role is Role.DISPATCHER:
                dispatcher = actor
            elif actor.role is not Role.ADMIN:
                workers.setdefault(unit["code"], []).append(actor)
        assert dispatcher is not None, "the network has no dispatcher: run daiban seed"
        self.cast = Cast(
            agents=workers,
            by_id=by_id,
            leads=leads,
            dispatcher=dispatcher,
            units=refs,
            parents={u["code"]: u["parent_code"] for u in units if u["parent_code"]},
            open_weekends={u["code"]: u["open_weekends"] for u in units},
        )
        self.city = next(u for u in units if u["level"] == Level.CITY.value)
        by_level: dict[str, list[str]] = {}
        for u in units:
            if u["code"] in workers:
                by_level.setdefault(u["level"], []).append(u["code"])
        self.villages, self.towns = by_level.get("village", []), by_level.get("town", [])
        self.counties = by_level.get("county", [])


async def load_network() -> Network:
    units = await Unit.select(Unit.code, Unit.path, Unit.level, Unit.parent_code, Unit.open_weekends).order_by(
        Unit.code
    )
    agents = await Agent.select(Agent.id, Agent.username, Agent.unit_code, Agent.role).where(
        Agent.active == True  # noqa: E712  (a column comparison)
    )
    items = await Item.select(Item.code, Item.name, Item.lifecycle, Item.materials, Item.promised_days).output(
        load_json=True
    )
    return Network(units, agents, items)


def _applicant(rng: random.Random, area: str, firm: bool) -> wire.Applicant:
    phone = f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
    if firm:
        name = f"中卫市{rng.choice(FIRMS)}{rng.choice(FIRM_KINDS)}"
        code = make_credit_code(f"91{area}MA{rng.randrange(10**7):07d}")
        return wire.Applicant(
            type="firm", name=name, credit_code=code, phone=phone, contact=rng.choice(SURNAMES) + "经理"
        )
    born = date(1945, 1, 1) + timedelta(days=rng.randrange(60 * 365))
    rid = make_resident_id(f"{area}{born:%Y%m%d}{rng.randrange(1000):03d}")
    return wire.Applicant(type="person", name=rng.choice(SURNAMES) + rng.choice(GIVEN), resident_id=rid, phone=phone)


def _start(
    rng: random.Random, net: Network, now: datetime, days: float = HORIZON_DAYS
) -> tuple[wire.CaseCreate, Actor, datetime]:
    """What is taken, where, by whom and when (within ``days`` before ``now``)."""
    roll = rng.random()
    kind = CaseKind.COMPLAINT if roll < 0.05 else CaseKind.PROJECT_ISSUE if roll < 0.1 else CaseKind.SERVICE
    if kind is CaseKind.PROJECT_ISSUE:
        origin = rng.choice(net.counties)
    else:
        origin = rng.choice(net.villages) if rng.random() < 0.8 else rng.choice(net.towns)
    creator = rng.choice(net.cast.agents[origin])
    enterprise = [i for i in net.items if i["lifecycle"] == "enterprise"]
    item = rng.choice(enterprise if kind is CaseKind.PROJECT_ISSUE else net.items)
    firm = item["lifecycle"] == "enterprise"
    groups = [
        g for g, p in ((Group.ELDERLY, 0.15), (Group.DISABLED, 0.04), (Group.LOW_INCOME, 0.05)) if rng.random() < p
    ]
    mode = rng.choices(list(ServiceMode), weights=[50, 25, 10, 8, 7])[0]
    # More recent days see more cases still open, as a live network does.
    day = (now - timedelta(days=days * rng.random() ** 1.5)).astimezone(TZ).date()
    taken = datetime.combine(day, time(8, 30), tzinfo=TZ) + timedelta(minutes=rng.randrange(9 * 60))
    project = wire.ProjectRef(name=f"{item['name']}项目", code=f"P{rng.randrange(10**6):06d}") if firm else None
    data = wire.CaseCreate(
        id=uuid.UUID(int=rng.getrandbits(128), version=4),
        kind=kind,
        item_code=item["code"],
        title=f"{item['name']}一件事" if kind is not CaseKind.COMPLAINT else f"{item['name']}办不成事反映",
        applicant=_applicant(rng, origin[:6], firm),
        groups=groups,
        service_mode=mode,
        project=project if kind is CaseKind.PROJECT_ISSUE else None,
    )
    return data, creator, min(taken, now - timedelta(minutes=5))


def _values(net: Network, data: wire.CaseCreate, creator: Actor, at: datetime) -> dict[str, Any]:
    item = next(i for i in net.items if i["code"] == data.item_code)
    origin = net.units[creator.unit_code]
    return new_case_values(creator, data, at, item, origin, net.city)


def build_case(rng: random.Random, net: Network, now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One case with its history: (column values, events)."""
    data, creator, taken = _start(rng, net, now)
    story = Story.begin(rng, net.cast, now, _values(net, data, creator, taken), creator)
    story.play(creator)
    return story.values, story.events


def open_case_values(rng: random.Random, net: Network, now: datetime) -> dict[str, Any]:
    """An open case without history, for load tests: queued at a town or the city, in
    progress or waiting, a few of them long unclaimed or past due."""
    data, creator, taken = _start(rng, net, now, OPEN_DAYS)
    values = _values(net, data, creator, taken)
    roll = rng.random()
    if roll < 0.3:
        town = net.units[creator.unit_code]["parent_code"] if creator.level is Level.VILLAGE else creator.unit_code
        owner = net.units[town or creator.unit_code]
        values.update(status=Status.QUEUED.value, owner_unit=owner["code"], owner_path=owner["path"], assignee_id=None)
        values["queued_at"] = utc(now - timedelta(hours=rng.uniform(0.1, 30 if rng.random() < 0.9 else 96)))
    elif roll < 0.38:
        values.update(status=Status.WAITING_APPLICANT.value)
        values["sla_events"] = [{"at": utc(taken + timedelta(hours=2)).isoformat(), "kind": "pause", "days": 0}]
    return values


async def insert_cases(cases: Sequence[dict[str, Any]], events: Sequence[dict[str, Any]]) -> None:
    """Insert cases (refs and change sequence assigned here), their holders and events."""
    # Piccolo types a table's engine as any engine; db.bind only ever gives it one of ours.
    engine = cast(db.Database, Case._meta.db)
    async with db.transaction(engine):
        by_year: dict[str, list[dict[str, Any]]] = {}
        for v in cases:
            by_year.setdefault(ref_counter(v["accepted_at"]), []).append(v)
        for counter, group in by_year.items():
            last = await next_value(counter, len(group))
            for i, v in enumerate(sorted(group, key=lambda v: v["accepted_at"])):
                v["ref"] = case_ref(v["accepted_at"], last - len(group) + 1 + i)
        last = await next_value("change", len(cases))
        for i, v in enumerate(sorted(cases, key=lambda v: v["updated_at"])):
            v["change_seq"] = last - len(cases) + 1 + i
        await _bulk(Case, [Case(**v) for v in cases], CASE_CHUNK)
        holders = [CaseHolder(case_id=v["id"], agent_id=h) for v in cases for h in dict.fromkeys(v["holders"])]
        await _bulk(CaseHolder, holders, EVENT_CHUNK)
        await _bulk(CaseEvent, [CaseEvent(**e) for e in events], EVENT_CHUNK)


async def _bulk(table: type[Table], rows: Sequence[Table], chunk: int) -> None:
    for start in range(0, len(rows), chunk):
        await table.insert(*rows[start : start + chunk]).run()


async def seed_demo_cases(
    n: int, progress: Progress | None = None, *, seed: int = DEFAULT_SEED, now: datetime | None = None
) -> int:
    """Generate ``n`` demo cases and insert those not already there; returns how many
    were inserted. The ids come from ``seed``, so running it again adds nothing, and
    asking for more later adds only the new ones."""
    now = now or datetime.now(UTC)
    net = await load_network()
    rng = random.Random(seed)
    done = inserted = 0
    while done < n:
        batch = [build_case(rng, net, now) for _ in range(min(CASE_CHUNK, n - done))]
        done += len(batch)
        there = {r["id"] for r in await Case.select(Case.id).where(Case.id.is_in([v["id"] for v, _ in batch]))}
        batch = [(v, events) for v, events in batch if v["id"] not in there]
        if batch:
            await insert_cases([v for v, _ in batch], [e for _, events in batch for e in events])
            inserted += len(batch)
        if progress:
            progress("cases", done, n)
    return inserted
