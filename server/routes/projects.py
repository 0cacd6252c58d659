"""Projects a task force follows: register, view, blockers, hand a blocker to a department."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody

from server import projects
from server.auth import Principal
from server.deps import EngineDep, NowDep

Req = Request[Principal, Any, Any]


class ProjectController(Controller):
    path = "/api/v1/projects"
    tags = ["projects"]  # noqa: RUF012  (Litestar reads it as a class attribute)

    @post("/", operation_id="createProject", summary="Register a project a task force follows")
    async def create(self, request: Req, now: NowDep, data: JSONBody[projects.ProjectCreate]) -> projects.ProjectOut:
        return await projects.create_project(request.user.actor, data, now)

    @get("/{code:str}", operation_id="getProject", summary="A project: every issue and blocker with its state")
    async def view(self, request: Req, now: NowDep, code: FromPath[str]) -> projects.ProjectOut:
        return await projects.project_view(request.user.actor, code, now)

    @post(
        "/issues/{issue_id:uuid}/blockers",
        operation_id="addBlocker",
        summary="Add a blocker (难点问题) to a project issue: responsible department, due date",
    )
    async def add_blocker(
        self, request: Req, now: NowDep, issue_id: FromPath[uuid.UUID], data: JSONBody[projects.BlockerCreate]
    ) -> projects.BlockerOut:
        return await projects.add_blocker(request.user.actor, issue_id, data, now)

    @post(
        "/blockers/{blocker_id:int}/hand",
        operation_id="handBlocker",
        status_code=200,
        summary="Hand a blocker to its department as a case of its own, linked to the issue",
    )
    async def hand(
        self, request: Req, engine: EngineDep, now: NowDep, blocker_id: FromPath[int]
    ) -> projects.BlockerOut:
        return await projects.hand_blocker(engine, request.user.actor, blocker_id, now)
