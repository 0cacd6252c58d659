"""Projects, their issues and blockers: register a project, add a blocker to an issue, hand a
blocker to a department as its own case, and one view of everything a project is stuck on.

A blocker handed to a department is linked both ways (``Blocker.case_id``, and the case's
``project["blocker"]``); :func:`follow_case` keeps the blocker's state in step with that
case inside the transaction that changes it.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import msgspec

from hierarchy.breaches import is_overdue
from hierarchy.calendar import local_date
from hierarchy.cases import Actor, CaseKind, Status, can_see
from hierarchy.errors import Conflict, Forbidden, InvalidInput, NotFound
from hierarchy.machine import MAX_TITLE, check_text
from hierarchy.projects import BlockerStatus, Stage, blocker_status
from hierarchy.tree import Level, in_subtree
from server.cases import create_case, to_state, unit_ref, utc, visible_row
from server.db import Database
from server.tables import Blocker, Case, Project, Unit
from sync import wire

TASK_FORCE_LEVELS = (Level.CITY, Level.COUNTY)


class ProjectCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    code: str
    name: str
    firm: str = ""
    stage: Stage = Stage.SIGNED
    #: Planned investment in 万元.
    investment: int = 0
    #: The task force that follows it (default: yours).
    unit: str | None = None


class BlockerCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    title: str
    #: The responsible department (a department unit's code).
    department: str
    due_date: date


class BlockerOut(msgspec.Struct, kw_only=True):
    id: int
    title: str
    department: str
    department_name: str = ""
    status: BlockerStatus
    due_date: date
    overdue: bool = False
    case_id: uuid.UUID | None = None
    case_ref: str | None = None
    case_status: Status | None = None


class IssueOut(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    ref: str | None
    title: str
    status: Status
    owner_unit: str
    blockers: list[BlockerOut] = []


class ProjectOut(msgspec.Struct, kw_only=True):
    code: str
    name: str
    firm: str
    stage: Stage
    investment: int
    unit: str
    issues: list[IssueOut] = []
    blockers_open: int = 0
    blockers_resolved: int = 0


def _task_force(actor: Actor) -> None:
    if actor.id is None or actor.level not in TASK_FORCE_LEVELS:
        raise Forbidden("project.forbidden", "projects are followed by the county and city task forces")


async def create_project(actor: Actor, data: ProjectCreate, now: datetime) -> ProjectOut:
    _task_force(actor)
    code = check_text(data.code, "code", required=True, limit=32, field="code")
    name = check_text(data.name, "name", required=True, limit=MAX_TITLE, field="name")
    firm = check_text(data.firm, "firm", limit=MAX_TITLE, field="firm")
    if data.investment < 0 or data.investment >= 2**62:
        raise InvalidInput(
            "project.investment_invalid", "investment is a sum in 万元, not negative", field="investment"
        )
    unit = await unit_ref(data.unit or actor.unit_code)
    if not in_subtree(unit.path, actor.unit_path):
        raise NotFound("unit.not_found", f"no unit with code {unit.code}", unit=unit.code)
    inserted = (
        await Project.insert(
            Project(
                code=code,
                name=name,
                firm=firm,
                stage=data.stage.value,
                investment=data.investment,
                unit_code=unit.code,
                created_by=actor.id,
                created_at=utc(now),
            )
        )
        .on_conflict(action="DO NOTHING")
        .returning(Project.code)
    )
    if not inserted:
        raise Conflict("project.exists", "a project with this code already exists", project=code)
    return await project_view(actor, code, now)


async def _project(actor: Actor, code: str) -> dict[str, Any]:
    row = await Project.select().where(Project.code == code).first()
    unit = await Unit.select(Unit.path).where(Unit.code == (row or {}).get("unit_code", "")).first()
    # The task force that follows it and every unit above it see it; so do departments
    # holding one of its blockers (through their cases).
    if row is None or unit is None or not (
        in_subtree(unit["path"], actor.unit_path) or in_subtree(actor.unit_path, unit["path"])
        or await Blocker.exists().where((Blocker.project_code == code) & (Blocker.department == actor.unit_code))
    ):  # fmt: skip
        raise NotFound("project.not_found", "no such project", project=code)
    return row


async def project_view(actor: Actor, code: str, now: datetime) -> ProjectOut:
    """The project with every issue (that the actor may see) and every blocker, with its state."""
    project = await _project(actor, code)
    issues = await Case.select().where(Case.project_code == code).order_by(Case.created_at).output(load_json=True)
    blockers = await Blocker.select().where(Blocker.project_code == code).order_by(Blocker.id)
    linked = [b["case_id"] for b in blockers if b["case_id"]]
    cases = (
        {c["id"]: c for c in await Case.select().where(Case.id.is_in(linked)).output(load_json=True)} if linked else {}
    )
    names = {u["code"]: u["name"] for u in await Unit.select(Unit.code, Unit.name).where(
        Unit.code.is_in(list({b["department"] for b in blockers}) or [""]))}  # fmt: skip
    today = local_date(now)
    out: list[IssueOut] = []
    for issue in issues:
        if (issue["project"] or {}).get("blocker"):
            continue  # a department's case for a blocker, shown under that blocker
        if not can_see(to_state(issue), actor) and actor.unit_code not in {b["department"] for b in blockers}:
            continue
        mine = []
        for b in (b for b in blockers if b["issue_id"] == issue["id"]):
            case = cases.get(b["case_id"])
            status = BlockerStatus(b["status"])
            mine.append(
                BlockerOut(
                    id=b["id"],
                    title=b["title"],
                    department=b["department"],
                    department_name=names.get(b["department"], ""),
                    status=status,
                    due_date=b["due_date"],
                    overdue=status is not BlockerStatus.RESOLVED
                    and (b["due_date"] < today or bool(case and is_overdue(case, now))),
                    case_id=b["case_id"],
                    case_ref=case["ref"] if case else None,
                    case_status=Status(case["status"]) if case else None,
                )
            )
        out.append(
            IssueOut(
                id=issue["id"],
                ref=issue["ref"],
                title=issue["title"],
                status=Status(issue["status"]),
                owner_unit=issue["owner_unit"],
                blockers=mine,
            )
        )
    done = sum(1 for b in blockers if b["status"] == BlockerStatus.RESOLVED.value)
    return ProjectOut(
        code=project["code"],
        name=project["name"],
        firm=project["firm"],
        stage=Stage(project["stage"]),
        investment=project["investment"],
        unit=project["unit_code"],
        issues=out,
        blockers_open=len(blockers) - done,
        blockers_resolved=done,
    )


async def _department(code: str) -> str:
    unit = await unit_ref(code, "department")
    if unit.level is not Level.DEPARTMENT:
        raise InvalidInput("blocker.not_a_department", "a blocker is the duty of a department", field="department")
    return unit.code


async def add_blocker(actor: Actor, issue_id: uuid.UUID, data: BlockerCreate, now: datetime) -> BlockerOut:
    _task_force(actor)
    issue = await visible_row(issue_id, actor)
    if issue["kind"] != CaseKind.PROJECT_ISSUE.value or not issue["project_code"]:
        raise Conflict("blocker.not_a_project_issue", "blockers belong to an issue of a registered project")
    title = check_text(data.title, "title", required=True, limit=MAX_TITLE, field="title")
    department = await _department(data.department)
    rows = await Blocker.insert(
        Blocker(
            project_code=issue["project_code"],
            issue_id=issue["id"],
            title=title,
            department=department,
            status=BlockerStatus.OPEN.value,
            due_date=data.due_date,
            case_id=None,
            created_at=utc(now),
            updated_at=utc(now),
        )
    ).returning(Blocker.id)
    return await blocker_out(int(rows[0]["id"]))


async def blocker_out(blocker_id: int) -> BlockerOut:
    b = await Blocker.select().where(Blocker.id == blocker_id).first()
    if b is None:
        raise NotFound("blocker.not_found", "no such blocker", blocker=blocker_id)
    case = await Case.select(Case.ref, Case.status).where(Case.id == b["case_id"]).first() if b["case_id"] else None
    return BlockerOut(
        id=b["id"],
        title=b["title"],
        department=b["department"],
        status=BlockerStatus(b["status"]),
        due_date=b["due_date"],
        case_id=b["case_id"],
        case_ref=case["ref"] if case else None,
        case_status=Status(case["status"]) if case else None,
    )


async def hand_blocker(engine: Database, actor: Actor, blocker_id: int, now: datetime) -> BlockerOut:
    """Hand a blocker to its department: a new case in the department's queue, linked to it."""
    _task_force(actor)
    b = await Blocker.select().where(Blocker.id == blocker_id).first()
    if b is None:
        raise NotFound("blocker.not_found", "no such blocker", blocker=blocker_id)
    issue = await visible_row(b["issue_id"], actor)
    if b["case_id"] is not None:
        raise Conflict("blocker.already_handed", "this blocker is already with its department", case=str(b["case_id"]))
    project = dict(issue["project"] or {})
    applicant = msgspec.convert(issue["applicant"], wire.Applicant)
    data = wire.CaseCreate(
        id=uuid.uuid4(),
        kind=CaseKind.PROJECT_ISSUE,
        title=b["title"],
        description=f"{project.get('name', '')} 难点问题（{issue['ref']}），请于 {b['due_date']} 前协调解决",
        applicant=applicant,
        project=wire.ProjectRef(name=str(project.get("name", "")), code=str(project.get("code", "")),
                                firm=str(project.get("firm", ""))),
    )  # fmt: skip
    target = await unit_ref(b["department"], "department")

    async def link(values: dict[str, Any]) -> None:
        values["project"] = {**(values["project"] or {}), "blocker": blocker_id}
        await Case.update({Case.project: values["project"]}).where(Case.id == values["id"]).run()
        claimed = (
            await Blocker.update(
                {
                    Blocker.case_id: values["id"],
                    Blocker.status: BlockerStatus.HANDED.value,
                    Blocker.updated_at: utc(now),
                }
            )
            .where((Blocker.id == blocker_id) & Blocker.case_id.is_null())
            .returning(Blocker.id)
        )
        if not claimed:
            raise Conflict("blocker.already_handed", "this blocker is already with its department")

    await create_case(engine, actor, data, now, hand_to=target, within=link)
    return await blocker_out(blocker_id)


async def follow_case(row: Mapping[str, Any], status: Status, now: datetime) -> None:
    """Keep a handed blocker in step with its department case (call inside the case's write)."""
    blocker = (row.get("project") or {}).get("blocker")
    if not isinstance(blocker, int):
        return
    state = blocker_status(status)
    changes: dict[Any, Any] = {Blocker.status: state.value, Blocker.updated_at: utc(now)}
    if state is BlockerStatus.OPEN:
        changes[Blocker.case_id] = None  # cancelled: the task force may hand it again
    await Blocker.update(changes).where(Blocker.id == blocker).run()
