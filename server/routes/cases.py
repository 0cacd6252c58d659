"""Cases: create, read, list, history, and every transition of the status machine."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from hierarchy.cases import CaseKind, Status
from hierarchy.machine import Action
from server import cases
from server.auth import Principal
from server.deps import EngineDep, NowDep
from sync import wire

Req = Request[Principal, Any, Any]


class CaseController(Controller):
    path = "/api/v1/cases"
    tags = ["cases"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @post("/", operation_id="createCase", summary="Create a case online (same checks as a synced create)")
    async def create(
        self, request: Req, engine: EngineDep, now: NowDep, data: JSONBody[wire.CaseCreate]
    ) -> Response[wire.Case]:
        row, created = await cases.create_case(engine, request.user.actor, data, now)
        return Response(cases.to_wire(row, request.user.actor, now), status_code=201 if created else 200)

    @get("/", operation_id="listCases", summary="My cases, my unit's queue, or everything in my scope")
    async def list_cases(
        self,
        request: Req,
        now: NowDep,
        view: Annotated[Literal["mine", "queue", "scope"], QueryParameter()] = "scope",
        status: Annotated[list[Status] | None, QueryParameter(description="repeat for several")] = None,
        item: Annotated[str | None, QueryParameter()] = None,
        kind: Annotated[CaseKind | None, QueryParameter()] = None,
        overdue: Annotated[bool | None, QueryParameter()] = None,
        unit: Annotated[str | None, QueryParameter(description="only cases owned in this unit's subtree")] = None,
        q: Annotated[
            str | None,
            QueryParameter(description="text in the title or reference, or a person as `person` finds", max_length=100),
        ] = None,
        person: Annotated[
            str | None,
            QueryParameter(
                description="the applicant's exact name, resident ID, credit code or phone, or a project code",
                max_length=100,
            ),
        ] = None,
        cursor: Annotated[str | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    ) -> wire.CasePage:
        return await cases.list_cases(
            request.user.actor,
            view,
            now,
            status=status,
            item=item,
            kind=kind,
            overdue=overdue,
            unit=unit,
            q=q,
            person=person,
            cursor=cursor,
            limit=limit,
        )

    @get("/{case_id:uuid}", operation_id="getCase", summary="One case")
    async def get_case(self, request: Req, now: NowDep, case_id: FromPath[uuid.UUID]) -> wire.Case:
        row = await cases.visible_row(case_id, request.user.actor)
        return cases.to_wire(row, request.user.actor, now)

    @get("/{case_id:uuid}/history", operation_id="getCaseHistory", summary="The case's append-only history")
    async def history(self, request: Req, case_id: FromPath[uuid.UUID]) -> list[wire.CaseEvent]:
        return await cases.history(case_id, request.user.actor)

    @post(
        "/{case_id:uuid}/{action:str}",
        operation_id="actOnCase",
        status_code=200,
        summary="claim, release, escalate, return, dispatch, handover, wait, resume, extend, "
        "approve-extension, resolve, confirm, reopen, cancel, update",
    )
    async def act(
        self,
        request: Req,
        engine: EngineDep,
        now: NowDep,
        case_id: FromPath[uuid.UUID],
        action: FromPath[Action],
        data: JSONBody[wire.ActionRequest | None] = None,
    ) -> wire.Case:
        row = await cases.perform(engine, request.user.actor, case_id, action, data or wire.ActionRequest(), now)
        return cases.to_wire(row, request.user.actor, now)
