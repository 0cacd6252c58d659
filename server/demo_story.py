"""One demo case's life, acted out with the real rules (:func:`hierarchy.machine.decide`).

Every step is a decision the status machine accepts, taken by an agent who may take it,
at a plausible working time, and recorded as the server records it (one event per
transition with the changed fields before and after). A story stops at ``now``: cases
begun recently are still open, in whatever state their story had reached.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import msgspec

from hierarchy.calendar import TZ, add_working_days, is_working_day, local_date
from hierarchy.cases import Actor, CaseKind, CaseState, system_actor
from hierarchy.errors import Forbidden
from hierarchy.machine import Action, UnitRef, apply, decide
from hierarchy.ratings import check_agent_may_rate
from hierarchy.tree import Level
from server.cases import to_columns, to_state, utc

ESCALATE_REASONS = ["涉及镇级部门，需镇便民服务中心办理", "需要跨部门协调", "村级无办理权限，上报", "材料需上级审核"]
UP_REASONS = ["涉及县级部门审批", "跨部门难点，提请专班协调", "需县区代办专班跟进"]
RETURN_REASONS = ["不属于本镇受理范围，退回核实", "申请事项与材料不符，退回补正"]
RESOLVE_NOTES = ["已办结，结果已告知申请人", "相关证照已寄递", "已联合相关部门办结", "已现场办结"]
COMMENTS = {5: "很方便，服务热情", 4: "办得挺快", 3: "还可以", 2: "等得太久", 1: "跑了好几趟还没办好"}


@dataclass(frozen=True, slots=True)
class Cast:
    """Who can act where: agents per unit, county leads, the dispatcher, unit refs."""

    agents: dict[str, list[Actor]]
    by_id: dict[int, Actor]
    leads: dict[str, Actor]
    dispatcher: Actor
    units: dict[str, UnitRef]
    parents: dict[str, str]
    open_weekends: dict[str, bool]


@dataclass(slots=True)
class Story:
    rng: random.Random
    cast: Cast
    now: datetime
    values: dict[str, Any]
    state: CaseState
    t: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False

    @classmethod
    def begin(cls, rng: random.Random, cast: Cast, now: datetime, values: dict[str, Any], creator: Actor) -> Story:
        story = cls(rng, cast, now, values, to_state(values), values["accepted_at"])
        story.events.append(
            story._event(1, "create", creator, "", {}, {"status": values["status"], "owner_unit": values["owner_unit"]})
        )
        return story

    # --- time ------------------------------------------------------------------------

    def wait(self, hours: float) -> None:
        """Let ``hours`` of working time pass (nights, weekends and holidays are skipped)."""
        t = self.t.astimezone(TZ) + timedelta(hours=hours)
        open_weekends = self.cast.open_weekends.get(self.state.owner_unit, False)
        for _ in range(30):
            day_start = datetime.combine(t.date(), time(8, 30), tzinfo=TZ)
            if not is_working_day(t.date(), open_weekends=open_weekends) or t.time() >= time(18, 0):
                t = datetime.combine(t.date() + timedelta(days=1), time(8, 30), tzinfo=TZ)
                t += timedelta(minutes=self.rng.randint(0, 90))
            elif t < day_start:
                t = day_start + timedelta(minutes=self.rng.randint(0, 60))
            else:
                break
        self.t = t

    # --- acting ----------------------------------------------------------------------

    def act(self, actor: Actor, action: Action, **args: Any) -> bool:
        """Take ``action`` at the story's time; False (and the story ends) past ``now``."""
        if self.stopped or self.t >= self.now:
            self.stopped = True
            return False
        target_unit = args.pop("target_unit", None)
        target_agent = args.pop("target_agent", None)
        decision = decide(self.state, actor, action, args, self.t, target_unit=target_unit, target_agent=target_agent)
        columns = to_columns(decision.changes)
        before = {k: _json(self.values.get(k)) for k in columns if k in self.values and k != "version"}
        after = {k: _json(v) for k, v in columns.items() if k != "version"}
        self.values.update(columns)
        self.values["updated_at"] = utc(self.t)
        self.state = apply(self.state, decision)
        self.events.append(self._event(self.state.version, action.value, actor, decision.reason, before, after))
        return True

    def _event(
        self, version: int, action: str, actor: Actor, reason: str, before: dict[str, Any], after: dict[str, Any]
    ) -> dict[str, Any]:
        return dict(
            case_id=self.values["id"],
            version=version,
            action=action,
            actor_id=actor.id,
            actor_unit=actor.unit_code,
            reason=reason,
            before=before,
            after=after,
            at=utc(self.t),
        )

    def agent_of(self, unit: str) -> Actor:
        return self.rng.choice(self.cast.agents[unit])

    def lead_of(self, unit: str) -> Actor:
        """Who acts for the unit as its lead (any agent, below county level)."""
        if unit in self.cast.leads:
            return self.cast.leads[unit]
        if self.cast.units[unit].level is Level.CITY:
            return self.cast.dispatcher
        return self.agent_of(unit)

    # --- the plot --------------------------------------------------------------------

    def play(self, creator: Actor) -> None:
        rng = self.rng
        self.wait(rng.uniform(0.1, 0.5))
        self.materials(creator)
        if self.state.kind is CaseKind.COMPLAINT:
            self.wait(rng.uniform(0.5, 6))
            town = self.cast.parents.get(self.state.origin_unit, self.state.origin_unit)
            if not self.act(
                self.cast.dispatcher, Action.DISPATCH, reason="转办属地办理", target_unit=self.cast.units[town]
            ):
                return
            self.queue_claim()
        elif rng.random() < 0.03:
            self.wait(rng.uniform(0.5, 8))
            self.act(creator, Action.CANCEL, reason="申请人撤回申请")
            return
        elif rng.random() < (0.7 if self.cast.units[self.state.owner_unit].level is Level.VILLAGE else 0.25):
            self.escalate_and_claim(creator, ESCALATE_REASONS)
        self.work()
        self.feedback(creator)

    def materials(self, actor: Actor) -> None:
        patch = []
        due = local_date(self.state.due_at)
        for m in self.state.materials:
            roll = self.rng.random()
            if m.get("deferrable") and roll < 0.2:
                day = min(due, local_date(self.t) + timedelta(days=self.rng.randint(1, 4)))
                patch.append(
                    {"code": m["code"], "state": "deferred", "commitment": "申请人已签署告知承诺书", "due": str(day)}
                )
            elif roll < 0.85:
                patch.append({"code": m["code"], "state": "provided"})
        if patch:
            self.act(actor, Action.UPDATE, materials=patch)

    def escalate_and_claim(self, actor: Actor, reasons: list[str]) -> None:
        self.wait(self.rng.uniform(0.3, 4))
        if self.act(actor, Action.ESCALATE, reason=self.rng.choice(reasons)):
            self.queue_claim()

    def queue_claim(self) -> None:
        """The owner's queue: usually a claim within hours; sometimes a return, or the
        sweep escalating it for want of a claim."""
        rng = self.rng
        unit = self.state.owner_unit
        came_up = len(self.state.last_from_path or "") > len(self.state.owner_path)
        if rng.random() < 0.04 and came_up and unit in self.cast.agents:
            self.wait(rng.uniform(0.5, 5))
            if not self.act(self.lead_of(unit), Action.RETURN, reason=rng.choice(RETURN_REASONS)):
                return
            self.wait(rng.uniform(1, 6))
            if not self.act(self.lead_of(self.state.owner_unit), Action.ESCALATE, reason="已核实，重新上报"):
                return
            unit = self.state.owner_unit
        if rng.random() < 0.07 and self.state.owner_path.count("/") > 2:
            deadline = add_working_days(self.t, 1, open_weekends=self.cast.open_weekends.get(unit, False))
            self.t = max(self.t, deadline + timedelta(minutes=rng.randint(1, 50)))
            system = system_actor(unit, self.state.owner_path)
            if not self.act(system, Action.ESCALATE, reason="sla.unclaimed"):
                return
        self.wait(rng.expovariate(1 / 5))
        self.act(self.agent_of(self.state.owner_unit), Action.CLAIM)

    def work(self) -> None:
        rng = self.rng
        if self.stopped or self.state.assignee_id is None:
            return
        holder = self.holder()
        if rng.random() < 0.15 and len(self.cast.agents.get(self.state.owner_unit, [])) > 1:
            self.wait(rng.uniform(0.5, 8))
            other = next(a for a in self.cast.agents[self.state.owner_unit] if a.id != holder.id)
            if not self.act(holder, Action.HANDOVER, note="交给熟悉该事项的同事", target_agent=other):
                return
            holder = other
        if rng.random() < 0.1:
            self.wait(rng.uniform(1, 10))
            if not self.act(holder, Action.WAIT, reason="等待申请人补充材料"):
                return
            self.wait(rng.uniform(4, 30))
            if not self.act(holder, Action.RESUME):
                return
        level = self.cast.units[self.state.owner_unit].level
        if level in (Level.TOWN, Level.VILLAGE) and rng.random() < 0.08:
            self.escalate_and_claim(holder, UP_REASONS)
            if self.stopped:
                return
            holder = self.holder()
        # Most cases finish inside the promised time; about one in eight runs late.
        remaining = max(1.0, (self.state.due_at - self.t).total_seconds() / 3600)
        late = rng.random() < 0.12
        self.wait(remaining * (rng.uniform(1.02, 1.4) if late else rng.uniform(0.02, 0.6)))
        pending = [
            {"code": m["code"], "state": "provided"} for m in self.state.materials if m.get("state") != "provided"
        ]
        if pending and not self.act(holder, Action.UPDATE, materials=pending):
            return
        delivery = rng.choice(["window", "village_point", "post", "e_licence"])
        self.act(holder, Action.RESOLVE, note=rng.choice(RESOLVE_NOTES), delivery=delivery)

    def rate(self, creator: Actor, rating: int, comment: str) -> bool:
        """The applicant's rating: with the receipt's code (about half of them, and always
        when the creator may not record it), else recorded by the creator on their behalf."""
        try:
            check_agent_may_rate(self.state, creator)
            creator_may = True
        except Forbidden:
            creator_may = False
        unused = self.values.get("rating_code_used_at") is None
        if unused and (not creator_may or self.rng.random() < 0.5):
            applicant = system_actor(self.state.origin_unit, self.state.origin_path)
            if not self.act(applicant, Action.CONFIRM, rating=rating, comment=comment):
                return False
            self.values["rating_code_used_at"] = utc(self.t)
            return True
        if not creator_may:
            return False  # the code is spent and nobody else may rate: left to close unrated
        return self.act(creator, Action.CONFIRM, rating=rating, comment=comment)

    def holder(self) -> Actor:
        assert self.state.assignee_id is not None
        return self.cast.by_id[self.state.assignee_id]

    def feedback(self, creator: Actor) -> None:
        rng = self.rng
        if self.stopped or self.state.status.value != "resolved":
            return
        self.wait(rng.uniform(2, 20))
        rating = rng.choices([5, 4, 3, 2, 1], weights=[60, 25, 8, 5, 2])[0]
        if not self.rate(creator, rating, COMMENTS[rating]):
            return
        if rating <= 2:  # 差评: the origin county's task force reviews it
            self.wait(rng.uniform(1, 16))
            if not self.act(self.agent_of(self.state.owner_unit), Action.CLAIM):
                return
            self.wait(rng.uniform(4, 40))
            holder = self.holder()
            if rng.random() < 0.8:
                if self.act(holder, Action.RESOLVE, note="已整改，重新办结"):
                    self.wait(rng.uniform(2, 12))
                    self.rate(creator, 4, "整改后满意")
            else:
                self.act(holder, Action.RESOLVE, note="经核实办理合规，维持原结果", uphold=True)
        elif rng.random() < 0.03:
            self.wait(rng.uniform(8, 60))
            if self.act(creator, Action.REOPEN, reason="申请人反映问题未解决"):
                self.queue_claim()
                self.work()
                self.feedback(creator)


def _json(value: Any) -> Any:
    return msgspec.to_builtins(value)
