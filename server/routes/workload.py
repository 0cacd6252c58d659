"""Dispatcher balancing: the load of a subtree, rebalancing plans and applying them."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import JSONBody, QueryParameter

from hierarchy.roles import PLANNERS
from server import plans, workload
from server.auth import Principal
from server.deps import EngineDep, NowDep
from server.guards import roles
from server.params import RowId

Req = Request[Principal, Any, Any]
planners_only = roles(PLANNERS, "workload.forbidden", "only county leads, the city dispatcher and admins plan workload")


class WorkloadController(Controller):
    path = "/api/v1/workload"
    tags = ["workload"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @get(
        "/",
        operation_id="getWorkload",
        summary="Where the load is: own line and child subtrees, every agent, overloaded, stranded and late cases",
    )
    async def get_workload(
        self,
        request: Req,
        now: NowDep,
        unit: Annotated[str, QueryParameter(description="a unit in your scope")],
        sort: Annotated[
            workload.AgentSort, QueryParameter(description="order of the agents, most loaded first")
        ] = "utilisation",
    ) -> workload.Workload:
        return await workload.workload(unit, request.user.actor, now, sort)

    @post(
        "/plans",
        operation_id="createPlan",
        summary="Compute and store a rebalancing plan for a subtree (or for one agent's cases)",
        guards=[planners_only],
    )
    async def create_plan(self, request: Req, now: NowDep, data: JSONBody[plans.PlanCreate]) -> plans.PlanOut:
        return await plans.create_plan(request.user.actor, data.unit, now, data.agent)

    @get("/plans/{plan_id:int}", operation_id="getPlan", summary="One stored plan")
    async def get_plan(self, request: Req, plan_id: RowId) -> plans.PlanOut:
        return await plans.get_plan(request.user.actor, plan_id)

    @post(
        "/plans/{plan_id:int}/apply",
        operation_id="applyPlan",
        status_code=200,
        summary="Apply a plan's moves as handovers, each atomically; changed cases are skipped; resumable",
        guards=[planners_only],
    )
    async def apply_plan(self, request: Req, engine: EngineDep, now: NowDep, plan_id: RowId) -> plans.PlanOut:
        return await plans.apply_plan(engine, request.user.actor, plan_id, now)
