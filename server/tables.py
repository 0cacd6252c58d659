"""Piccolo tables. Engine binding happens in :mod:`server.db`, never here."""

from __future__ import annotations

from piccolo.columns import (
    JSON,
    UUID,
    BigInt,
    Boolean,
    Date,
    Integer,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.indexes import IndexMethod
from piccolo.table import Table


class Unit(Table, tablename="unit"):
    code = Varchar(length=16, primary_key=True)
    name = Varchar(length=100)
    level = Varchar(length=10)
    kind = Varchar(length=10, null=True, default=None)
    parent_code = Varchar(length=16, null=True, default=None, index=True)
    #: Materialised path, e.g. ``/640500/640502/640502100/``; scope = prefix match.
    path = Varchar(length=120, index=True, index_method=IndexMethod.btree)
    depth = Integer()
    open_weekends = Boolean(default=False)
    #: Working days a queued case may wait for a claim before the sweep escalates it.
    response_days = Integer(default=1)
    sort_key = Varchar(length=24, default="")
    #: What the unit serves (hierarchy.serving): "individual", "enterprise" or both.
    serves = JSON(default=["individual", "enterprise"])


class Agent(Table, tablename="agent"):
    id = Serial(primary_key=True)
    username = Varchar(length=64, unique=True)
    name = Varchar(length=100)
    unit_code = Varchar(length=16, index=True)
    role = Varchar(length=20)
    password_hash = Varchar(length=255)
    active = Boolean(default=True)
    capacity = Integer(default=20)
    #: Item codes this agent handles; empty means every item.
    skills = JSON(default=[])
    #: Set by an admin's reset (and for a new agent): a new password is due at next sign-in.
    must_change_password = Boolean(default=False)


class Item(Table, tablename="item"):
    code = Varchar(length=64, primary_key=True)
    name = Varchar(length=200)
    scope = Varchar(length=12)
    lifecycle = Varchar(length=12)
    lead_departments = JSON(default=[])
    materials = JSON(default=[])
    promised_days = Integer()
    demo_fields = JSON(default=[])
    #: The plan's "13+1+7+N" group: national, certificate (高效办证), regional or local.
    item_group = Varchar(length=16, default="national")
    #: The county-level unit a local item belongs to (None: the whole city).
    locality_code = Varchar(length=16, null=True, default=None)
    #: Who may apply: person, enterprise or both (hierarchy.items.Serves).
    serves = Varchar(length=12, default="person")


class Token(Table, tablename="token"):
    #: sha256 of the bearer token; the token itself is never stored.
    digest = Varchar(length=64, primary_key=True)
    agent_id = Integer(index=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    revoked = Boolean(default=False)
    #: The device this token was first used to register or sync: revoking the device
    #: revokes the token, and the token serves no other device.
    client_id = UUID(null=True, default=None, index=True)


class Case(Table, tablename="case_file"):
    id = UUID(primary_key=True)
    # The case's reference number. It shadows Table.ref() (joins by dotted name), which
    # nothing here calls; renaming the column would change every row's keys.
    ref = Varchar(length=24, null=True, default=None, unique=True)  # type: ignore[assignment]
    kind = Varchar(length=16)
    item_code = Varchar(length=64, index=True)
    title = Varchar(length=200, default="")
    description = Text(default="")
    applicant = JSON(default={})
    groups = JSON(default=[])
    service_mode = Varchar(length=16, default="assist")
    project = JSON(null=True, default=None)
    origin_unit = Varchar(length=16, index=True)
    origin_path = Varchar(length=120, index=True)
    owner_unit = Varchar(length=16, index=True)
    owner_path = Varchar(length=120, index=True)
    created_by = Integer()
    assignee_id = Integer(null=True, default=None, index=True)
    status = Varchar(length=20, index=True)
    priority = Integer(default=0)
    materials = JSON(default=[])
    accepted_at = Timestamptz()
    due_at = Timestamptz(index=True)
    promised_days = Integer()
    open_weekends = Boolean(default=False)
    #: Pauses, resumes and the approved extension: the SLA is recomputed from these.
    sla_events = JSON(default=[])
    queued_at = Timestamptz()
    last_from_unit = Varchar(length=16, null=True, default=None)
    last_from_path = Varchar(length=120, null=True, default=None)
    escalations = Integer(default=0)
    returns = Integer(default=0)
    reopens = Integer(default=0)
    extension = JSON(null=True, default=None)
    rating = Integer(null=True, default=None)
    rating_comment = Text(default="")
    #: Who recorded the rating: applicant (with the code), agent (on their behalf) or unrated.
    rating_source = Varchar(length=12, null=True, default=None)
    #: The one-time code the applicant rates with (printed on the receipt); used once.
    rating_code = Varchar(length=16, null=True, default=None)
    rating_code_used_at = Timestamptz(null=True, default=None)
    #: Set at resolve: outcome, what was issued, delivery channel and date.
    result = JSON(null=True, default=None)
    #: Keyed hashes (server.search) of the applicant's name, resident ID or credit code,
    #: phone and the project code: exact-match search without indexing them in clear.
    name_key = Varchar(length=32, null=True, default=None, index=True)
    id_key = Varchar(length=32, null=True, default=None, index=True)
    phone_key = Varchar(length=32, null=True, default=None, index=True)
    project_key = Varchar(length=32, null=True, default=None, index=True)
    review = JSON(null=True, default=None)
    #: Whoever ever held it keeps read access (they must tell the applicant).
    holders = JSON(default=[])
    version = Integer(default=1)
    #: Server change sequence: the sync pull cursor.
    change_seq = BigInt(default=0, index=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()
    resolved_at = Timestamptz(null=True, default=None)
    closed_at = Timestamptz(null=True, default=None)
    #: Bookkeeping of the SLA sweep (warnings sent, deferrals flagged), keyed by what it saw.
    flags = JSON(default={})
    #: Files of the case's materials: ``{sha256, material, name, media_type, size, added_by, added_at}``.
    attachments = JSON(default=[])
    #: The channel it came in by (hierarchy.cases.Source) and, from 12345, its ticket number.
    source = Varchar(length=16, default="village", index=True)
    ticket_no = Varchar(length=40, null=True, default=None, index=True)
    #: What was reported back to 12345 and when (the ``feedback`` step).
    feedback = JSON(null=True, default=None)
    #: The registered project (Project.code) a project issue belongs to.
    project_code = Varchar(length=32, null=True, default=None, index=True)


class CaseEvent(Table, tablename="case_event"):
    id = Serial(primary_key=True)
    case_id = UUID(index=True)
    version = Integer()
    action = Varchar(length=24)
    actor_id = Integer(null=True, default=None)
    actor_unit = Varchar(length=16, null=True, default=None)
    reason = Text(default="")
    before = JSON(default={})
    after = JSON(default={})
    at = Timestamptz()


class CaseHolder(Table, tablename="case_holder"):
    """Agents who ever held a case: one row each, for the visibility rule."""

    id = Serial(primary_key=True)
    case_id = UUID(index=True)
    agent_id = Integer(index=True)


class Counter(Table, tablename="counter"):
    """Named counters (case reference numbers, the change sequence)."""

    name = Varchar(length=32, primary_key=True)
    value = BigInt(default=0)


class Device(Table, tablename="device"):
    """A village device (or console) registered to an agent for offline sync."""

    client_id = UUID(primary_key=True)
    agent_id = Integer(index=True)
    name = Varchar(length=100, default="")
    created_at = Timestamptz()
    revoked = Boolean(default=False)
    #: The last operation seq applied: advanced in the same transaction as the effect.
    last_seq = BigInt(default=0)
    last_push_at = Timestamptz(null=True, default=None)
    last_pull_at = Timestamptz(null=True, default=None)
    #: Eviction rounds sent to this device (see ``ClientView.gone``).
    evict_round = BigInt(default=0)
    #: When a pull last compared the device's whole scope (see ``server.sync.pull``).
    reconciled_at = Timestamptz(null=True, default=None)


class SyncOp(Table, tablename="sync_op"):
    """Every pushed operation once, with its outcome: the exactly-once ledger."""

    id = Serial(primary_key=True)
    op_id = UUID(unique=True)
    client_id = UUID(index=True)
    seq = BigInt()
    case_id = UUID(null=True, default=None)
    kind = Varchar(length=24)
    result = Varchar(length=12)
    code = Varchar(length=64, default="")
    message = Text(default="")
    at = Timestamptz()


class ClientView(Table, tablename="client_view"):
    """What each device holds (case id → version), so leaving cases can be evicted."""

    id = Serial(primary_key=True)
    client_id = UUID(index=True)
    case_id = UUID(index=True)
    version = Integer()
    #: Set when the case left the device's scope: the eviction round (``Device.evict_round``)
    #: that told the device. The row goes only when the device acknowledges that round, so
    #: an eviction whose answer was lost is sent again.
    gone = BigInt(null=True, default=None)


class Notification(Table, tablename="notification"):
    id = Serial(primary_key=True)
    agent_id = Integer(index=True)
    case_id = UUID(null=True, default=None)
    kind = Varchar(length=32)
    message = Text(default="")
    created_at = Timestamptz()
    read_at = Timestamptz(null=True, default=None)
    #: Delivery order for sync pulls (the same counter as cases).
    change_seq = BigInt(default=0, index=True)


class Project(Table, tablename="project"):
    """An enterprise investment project a county (or park) task force follows (专班)."""

    code = Varchar(length=32, primary_key=True)
    name = Varchar(length=200)
    firm = Varchar(length=200, default="")
    #: 签约 / 立项 / 审批 / 建设 / 投产 (hierarchy.projects.Stage).
    stage = Varchar(length=16)
    #: Planned investment, in 万元.
    investment = BigInt(default=0)
    #: The task force that follows it.
    unit_code = Varchar(length=16, index=True)
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz()


class Blocker(Table, tablename="blocker"):
    """A 难点问题 of a project issue: which department must clear it, by when, and how far it is."""

    id = Serial(primary_key=True)
    project_code = Varchar(length=32, index=True)
    issue_id = UUID(index=True)
    title = Varchar(length=200)
    department = Varchar(length=16)
    #: open (with the task force), handed (a department case is open), resolved.
    status = Varchar(length=12, default="open")
    due_date = Date()
    #: The department's own case, once handed over.
    case_id = UUID(null=True, default=None, index=True)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class UnitWebhook(Table, tablename="unit_webhook"):
    """Where a unit's notifications are also posted: a 企业微信 or 钉钉 group robot, or any URL."""

    unit_code = Varchar(length=16, primary_key=True)
    url = Varchar(length=500)
    #: wecom, dingtalk or json (server.webhooks.Shape).
    shape = Varchar(length=12, default="json")
    active = Boolean(default=True)
    updated_at = Timestamptz()


class WebhookDelivery(Table, tablename="webhook_delivery"):
    """One notification to post to one unit's webhook: the outbox the delivery job empties."""

    id = Serial(primary_key=True)
    unit_code = Varchar(length=16, index=True)
    url = Varchar(length=500)
    payload = JSON(default={})
    #: pending, delivered or failed (after the last attempt).
    status = Varchar(length=12, default="pending", index=True)
    attempts = Integer(default=0)
    last_error = Text(default="")
    created_at = Timestamptz()
    #: When the delivery job was queued for it (None: not yet).
    queued_at = Timestamptz(null=True, default=None)
    delivered_at = Timestamptz(null=True, default=None)


class CalendarYear(Table, tablename="calendar_year"):
    """A year's holiday arrangement loaded by an admin ahead of the calendar library."""

    year = Integer(primary_key=True)
    #: The validated arrangement file (hierarchy.arrangement.ArrangementFile).
    data = JSON(default={})
    imported_at = Timestamptz()


class Plan(Table, tablename="workload_plan"):
    """A stored rebalancing plan: moves computed for a subtree, applied later."""

    id = Serial(primary_key=True)
    unit_code = Varchar(length=16)
    created_by = Integer(null=True, default=None)
    created_at = Timestamptz()
    moves = JSON(default=[])
    summary = JSON(default={})
    applied_at = Timestamptz(null=True, default=None)
    result = JSON(null=True, default=None)


class Blob(Table, tablename="blob"):
    """A verified upload, by the sha256 of the bytes the device sent (what cases reference).

    What is stored is the cleaned content (images re-encoded without their metadata), under
    ``content_sha256``; identical content is stored once.
    """

    sha256 = Varchar(length=64, primary_key=True)
    content_sha256 = Varchar(length=64, index=True)
    media_type = Varchar(length=64)
    size = BigInt()
    has_thumbnail = Boolean(default=False)
    uploaded_by = Integer(null=True, default=None)
    created_at = Timestamptz()


class Upload(Table, tablename="upload"):
    """A resumable (tus) upload in progress: what arrived so far lives in ``parts``."""

    id = UUID(primary_key=True)
    agent_id = Integer(index=True)
    sha256 = Varchar(length=64)
    length = BigInt()
    offset = BigInt(default=0)
    #: ``[{key, offset, size}]``: the stored pieces, in order.
    parts = JSON(default=[])
    filename = Varchar(length=200, default="")
    done = Boolean(default=False)
    created_at = Timestamptz()


class AdminEvent(Table, tablename="admin_event"):
    """One administrative change (agents, passwords, enabling): who, what, to whom, when."""

    id = Serial(primary_key=True)
    at = Timestamptz()
    #: The admin's agent id, or None when done from the server's command line.
    actor_id = Integer(null=True, default=None)
    actor = Varchar(length=64)
    action = Varchar(length=32)
    target = Varchar(length=64, index=True)
    detail = JSON(default={})


ALL_TABLES: tuple[type[Table], ...] = (
    Unit, Agent, Item, Token, Case, CaseEvent, CaseHolder, Counter,
    Device, SyncOp, ClientView, Notification, Plan, Project, Blocker, UnitWebhook, WebhookDelivery, Blob, Upload,
    AdminEvent, CalendarYear,
)  # fmt: skip
