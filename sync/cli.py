"""``daiban village``: the offline client for village and town agents."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table

from hierarchy.calendar import TZ
from hierarchy.errors import DaibanError
from hierarchy.i18n import _
from hierarchy.labels import action_label, status_label
from hierarchy.machine import Action
from hierarchy.problem_words import say
from hierarchy.results import Delivery, result_summary
from sync.client import SyncClient, SyncReport
from sync.receipt import receipt_pdf, receipt_text
from sync.wire import Case

T = TypeVar("T")
out = Console()


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def with_client(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Open the replica, run the command, turn domain errors into a clear message and exit 1."""

    @click.pass_context
    @functools.wraps(fn)
    def wrapper(ctx: click.Context, *args: Any, **kwargs: Any) -> Any:
        client = SyncClient.open(ctx.obj["replica"])

        async def go() -> Any:
            try:
                result = fn(client, *args, **kwargs)
                if asyncio.iscoroutine(result):
                    result = await result
                return result
            finally:
                await client.close()

        try:
            return _run(go())
        except DaibanError as exc:
            raise click.ClickException(f"{say(exc.code, exc.message, exc.data)}（{exc.code}）") from None

    return wrapper


@click.group(help=_("The offline client: take matters, act on cases, sync when there is signal."))
@click.option(
    "--replica",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="DAIBAN_REPLICA",
    default=Path("var/village.sqlite"),
    show_default=True,
    help=_("The device's local database."),
)
@click.pass_context
def village(ctx: click.Context, replica: Path) -> None:
    ctx.ensure_object(dict)
    ctx.obj["replica"] = replica


@village.command(help=_("Sign in and register this device (once per device)."))
@click.option("--server", required=True, help=_("API base URL, e.g. http://127.0.0.1:8000"))
@click.option("--user", "username", required=True, help=_("Your sign-in, e.g. a640502100002"))
@click.password_option(confirmation_prompt=False, envvar="DAIBAN_PASSWORD")
@click.option("--name", default="", help=_("A name for this device."))
@with_client
async def init(client: SyncClient, server: str, username: str, password: str, name: str) -> None:
    await client.init(server, username, password, name)
    me = client.actor()
    out.print(
        _("registered this device for {user} at unit {unit}; now run: daiban village sync").format(
            user=me.username, unit=me.unit_code
        )
    )


@village.command(help=_("Sign in again when the token has expired."))
@click.password_option(confirmation_prompt=False, envvar="DAIBAN_PASSWORD")
@with_client
async def login(client: SyncClient, password: str) -> None:
    await client.login(client.actor().username, password)
    out.print(_("signed in"))


@village.command(
    help=_(
        "Change your password; an admin's new or reset password must be changed before `init` works. "
        "Your other devices must sign in again."
    )
)
@click.option("--server", default=None, help=_("API base URL (default: this device's)."))
@click.option("--user", "username", default=None, help=_("Your sign-in (default: this device's)."))
@click.option("--current", prompt="当前密码 (current password)", hide_input=True, envvar="DAIBAN_PASSWORD")
@click.option(
    "--new",
    "new_password",
    prompt="新密码 (new password)",
    hide_input=True,
    confirmation_prompt=True,
    envvar="DAIBAN_NEW_PASSWORD",
    help=_("At least 8 characters."),
)
@with_client
async def passwd(client: SyncClient, server: str | None, username: str | None, current: str, new_password: str) -> None:
    known = client.replica.get("agent_id") is not None
    if server:
        client.transport.base_url = server.rstrip("/")
    if not username:
        username = client.actor().username  # says to run init when this device has none
    signed = await client.transport.call(
        "POST", "/api/v1/auth/token", json={"username": username, "password": current}, auth=False, retry=False
    )
    client.transport.token = signed["access_token"]
    body = {"current_password": current, "new_password": new_password}
    await client.transport.call("POST", "/api/v1/auth/password", json=body, retry=False)
    if known:
        await client.login(username, new_password)  # this device keeps a working token
        out.print("密码已修改 (password changed)")
    else:
        out.print("密码已修改；现在运行 daiban village init (password changed; now run daiban village init)")


@village.command(help=_("Take a new matter (asks for what the flags do not give). Works offline."))
@click.option("--item", "item_code", help=_("Item code (see `daiban village items`)."))
@click.option(
    "--kind", type=click.Choice(["service", "project_issue", "complaint"]), default="service", show_default=True
)
@click.option("--applicant-type", type=click.Choice(["person", "firm"]), default="person", show_default=True)
@click.option("--name", help=_("Applicant's name."))
@click.option("--resident-id", help=_("18-digit resident ID (person)."))
@click.option("--credit-code", help=_("Unified social credit code (firm)."))
@click.option("--phone", help=_("Mobile or landline number (0955-7012345)."))
@click.option("--title", default="", help=_("Short title (default: the item's name)."))
@click.option("--description", default="")
@click.option(
    "--mode",
    type=click.Choice(["assist", "proxy", "accompany", "home_visit", "priority"]),
    default="assist",
    show_default=True,
    help=_("Service mode (priority = 优先办)."),
)
@click.option(
    "--group",
    "groups",
    multiple=True,
    type=click.Choice(["elderly", "disabled", "pregnant", "low_income", "veteran", "key_project"]),
)
@click.option("--project", default=None, help=_("Project name (project_issue)."))
@click.option(
    "--source",
    type=click.Choice(["village", "hall", "12345", "online", "blocked"]),
    default="village",
    show_default=True,
    help=_("Channel the matter came by (blocked = 办不成事 reflection)."),
)
@click.option("--ticket-no", default=None, help=_("The 12345 ticket number (required with --source 12345)."))
@with_client
def new(
    client: SyncClient,
    item_code: str | None,
    kind: str,
    applicant_type: str,
    name: str | None,
    resident_id: str | None,
    credit_code: str | None,
    phone: str | None,
    title: str,
    description: str,
    mode: str,
    groups: tuple[str, ...],
    project: str | None,
    source: str,
    ticket_no: str | None,
) -> None:
    # A complaint, a 12345 matter or a project issue need not be a catalogue item.
    needs_item = kind == "service" and source != "12345"
    item_code = item_code or (click.prompt("Item code") if needs_item else "")
    name = name or click.prompt("Applicant name")
    applicant: dict[str, Any] = {"type": applicant_type, "name": name}
    if applicant_type == "person":
        applicant["resident_id"] = resident_id or click.prompt("Resident ID")
    else:
        applicant["credit_code"] = credit_code or click.prompt("Unified social credit code")
    if phone:
        applicant["phone"] = phone
    body: dict[str, Any] = {
        "kind": kind,
        "item_code": item_code,
        "applicant": applicant,
        "title": title,
        "description": description,
        "service_mode": mode,
        "groups": list(groups),
        "source": source,
    }
    if ticket_no:
        body["ticket_no"] = ticket_no
    if project:
        body["project"] = {"name": project}
    case = client.create(body)
    item = next((i for i in client.items() if i["code"] == item_code), None)
    if item is not None:
        print_checklist(item)
    if case.status.value == "queued" and case.owner_unit != client.actor().unit_code:
        out.print(f"跨域通办：已受理，转 {case.owner_unit} 办理")
    out.print(
        _("created {id} — queued for sync ({count} pending)").format(id=case.id, count=client.status().pending)
    )


@village.command(help=_("The item catalogue cached on this device; with CODE, that item's material checklist."))
@with_client
@click.argument("code", required=False)
def items(client: SyncClient, code: str | None) -> None:
    if code:
        item = next((i for i in client.items() if i["code"] == code), None)
        if item is None:
            raise click.ClickException(_("no item {code} on this device (sync first?)").format(code=code))
        print_checklist(item)
        return
    table = Table("code", "name", "group", "serves", "locality", "days")
    for item in client.items():
        locality = item.get("locality_name") or ""
        table.add_row(item["code"], item["name"], item.get("group", ""), item.get("serves", ""), locality,
                      str(item["promised_days"]))  # fmt: skip
    out.print(table)


def print_checklist(item: dict[str, Any]) -> None:
    """一次性告知: everything the applicant hands in for ``item``, in one list."""
    out.print(f"{item['name']}（{item['code']}）承诺时限 {item['promised_days']} 个工作日 — 材料清单：")
    for n, m in enumerate(item.get("materials") or [], start=1):
        notes = ["必交" if m.get("required", True) else "选交"]
        if m.get("deferrable"):
            notes.append("可容缺（告知承诺）")
        out.print(f"  {n}. {m['name']}（{m['code']}）{'，'.join(notes)}")


@village.command(
    name="list",
    help=_(
        "Cases on this device; a * marks unsynced changes, a ! a case the server refused."
    ),
)
@click.option("--view", type=click.Choice(["mine", "queue", "scope"]), default="scope", show_default=True)
@click.option("--status", "statuses", multiple=True, help=_("Only these statuses (repeat)."))
@with_client
def list_cases(client: SyncClient, view: str, statuses: tuple[str, ...]) -> None:
    pending = client.pending_cases()
    refused = client.rejected_cases()
    table = Table("", "id", "ref", "status", "owner", "due", "applicant", "title")
    for case in client.cases(view, list(statuses) or None):
        due = case.due_at.astimezone(TZ).strftime("%m-%d %H:%M") if case.due_at else ""
        status = "rejected" if str(case.id) in refused else case.status.value
        mark = "!" if str(case.id) in refused else "*" if str(case.id) in pending else ""
        name = str(case.applicant.get("name") or "")
        table.add_row(mark, str(case.id)[:8], case.ref or "-", status, case.owner_unit, due, name, case.title)
    out.print(table)


@village.command(
    help=_(
        "Find cases on this device by the person (works offline): the applicant's name, resident ID, credit "
        "code or phone, a project code, or text of the title or reference."
    ),
)
@click.argument("text")
@with_client
def search(client: SyncClient, text: str) -> None:
    table = Table("id", "ref", "status", "owner", "applicant", "title")
    for case in client.search(text):
        name = str(case.applicant.get("name") or "")
        table.add_row(str(case.id)[:8], case.ref or "-", case.status.value, case.owner_unit, name, case.title)
    out.print(table)


def _find(client: SyncClient, ident: str) -> Case:
    for case in client.cases():
        if str(case.id).startswith(ident) or case.ref == ident:
            return case
    raise click.ClickException(_("no case {ident} on this device").format(ident=ident))


@village.command(help=_("One case: id prefix or reference number."))
@click.argument("ident")
@with_client
def show(client: SyncClient, ident: str) -> None:
    case = _find(client, ident)
    if case.result:
        out.print(f"办理结果 {result_summary(case.result)}")
    out.print_json(data=msgspec.to_builtins(case))


@village.command(help=_("A case's history as the last sync brought it (works offline)."))
@click.argument("ident")
@with_client
def history(client: SyncClient, ident: str) -> None:
    case = _find(client, ident)
    table = Table("v", "when", "action", "unit", "agent", "reason / changes")
    for e in client.local_history(case.id):
        when = e.at.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if e.at else ""
        changes = ", ".join(f"{k}→{_short(v)}" for k, v in e.after.items() if k not in ("result",))
        note = e.reason or changes
        if e.after.get("result"):
            note = f"{note}\n办理结果 {result_summary(e.after['result'])}"
        who = f"#{e.actor_id}" if e.actor_id is not None else "申请人" if e.action == "confirm" else "系统"
        table.add_row(str(e.version), when, e.action, e.actor_unit or "", who, note)
    out.print(f"{case.ref or case.id} {case.title}")
    out.print(table)


@village.command(
    help=_(
        "The applicant's receipt (回执), made on this device (works offline): plain text for a receipt "
        "printer, and a PDF with --pdf."
    ),
)
@click.argument("ident")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help=_("Also write the PDF here (A4, with the rating QR code)."))  # fmt: skip
@with_client
def receipt(client: SyncClient, ident: str, pdf_path: Path | None) -> None:
    made = client.receipt(_find(client, ident).id)
    click.echo(receipt_text(made), nl=False)
    if pdf_path is not None:
        pdf_path.write_bytes(receipt_pdf(made))
        click.echo(f"PDF: {pdf_path}")


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else msgspec.json.encode(value).decode()
    return text if len(text) <= 40 else text[:39] + "…"


def _action_command(action: Action) -> click.Command:
    @click.argument("ident")
    @click.option("--reason", default=None)
    @click.option("--note", default=None)
    @click.option("--unit", default=None, help=_("Target unit code (dispatch, hand-over to a unit)."))
    @click.option("--agent", default=None, help=_("Target agent username (hand-over)."))
    @click.option("--days", type=int, default=None, help=_("Extension days."))
    @click.option("--rating", type=click.IntRange(1, 5), default=None, help=_("1 非常不满意 … 5 非常满意."))
    @click.option("--comment", default=None)
    @click.option("--reject", is_flag=True, help=_("Reject the extension request (approve-extension)."))
    @click.option("--uphold", is_flag=True, help=_("Uphold after a bad-rating review (resolve)."))
    @click.option("--issued", default=None, help=_("What was issued: licence, certificate, decision (resolve)."))
    @click.option(
        "--delivery",
        type=click.Choice([d.value for d in Delivery]),
        default=None,
        help=_("How the result reaches the applicant (resolve): 窗口领取, 代办点转交, 邮寄, 电子证照."),
    )
    @click.option("--delivered-on", default=None, metavar="YYYY-MM-DD", help=_("When it reaches them (resolve)."))
    @with_client
    def command(client: SyncClient, ident: str, reject: bool, uphold: bool, **args: Any) -> None:
        case = _find(client, ident)
        if action is Action.APPROVE_EXTENSION:
            args["approve"] = not reject
        if uphold:
            args["uphold"] = True
        new_state = client.act(case.id, action, **args)
        out.print(
            _("{action}: {status} at {unit} — queued for sync").format(
                action=action_label(action.value),
                status=status_label(new_state.status.value),
                unit=new_state.owner_unit,
            )
        )

    what = _("{action} (applied here at once, sent on the next sync).").format(action=action_label(action.value))
    return click.command(name=action.value, help=what)(command)


for _action in Action:
    if _action not in (Action.UPDATE, Action.ATTACH, Action.DETACH, Action.CLOSE_UNRATED):
        village.add_command(_action_command(_action))


@village.command(help=_("Edit fields; concurrent edits merge field by field (latest clock wins)."))
@click.argument("ident")
@click.option("--title", default=None)
@click.option("--description", default=None)
@click.option(
    "--material",
    "materials",
    multiple=True,
    metavar="CODE=STATE[,COMMITMENT,YYYY-MM-DD]",
    help=_("Material state: provided, missing, or deferred with commitment and due date."),
)
@with_client
def edit(
    client: SyncClient, ident: str, title: str | None, description: str | None, materials: tuple[str, ...]
) -> None:
    fields: dict[str, Any] = {}
    if title is not None:
        fields["title"] = title
    if description is not None:
        fields["description"] = description
    if materials:
        parsed = []
        for spec in materials:
            code, _, rest = spec.partition("=")
            state, *extra = rest.split(",")
            entry: dict[str, Any] = {"code": code, "state": state}
            if state == "deferred" and len(extra) == 2:
                entry |= {"commitment": extra[0], "due": extra[1]}
            parsed.append(entry)
        fields["materials"] = parsed
    if not fields:
        raise click.UsageError(_("nothing to edit"))
    client.edit(_find(client, ident).id, **fields)
    out.print(_("edited — queued for sync"))


@village.command(help=_("Push pending operations, pull every change, show conflicts."))
@with_client
async def sync(client: SyncClient) -> None:
    with Progress(
        TextColumn("{task.description:<6}"), BarColumn(), TextColumn("{task.completed} done"), console=out
    ) as bar:
        tasks: dict[str, Any] = {}

        def progress(stage: str, done: int, total: int | None) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        report = await client.sync(progress)
    out.print(
        f"pushed {report.pushed} (applied {report.applied}, duplicate {report.duplicates}, "
        f"rejected {report.rejected}); pulled {report.pulled} in {report.pages} pages; "
        f"evicted {report.evicted}; new conflicts {report.conflicts}; "
        f"scope checksum {checksum_word(report)}"
    )


def checksum_word(report: SyncReport) -> str:
    """What the scope check found, as it was: ok, or MISMATCH and whether the repair worked."""
    if not report.mismatch:
        return "ok" if report.checksum_ok else "not checked"
    outcome = "REPAIRED" if report.repaired else "FAILED"
    return f"MISMATCH, {report.buckets} buckets re-sent ({report.resent} cases): {outcome}"


@village.command(help=_("Pending operations, last sync and conflicts."))
@with_client
def status(client: SyncClient) -> None:
    s = client.status()
    out.print(
        f"user {s.username} · server {s.server}\npending operations: {s.pending}\n"
        f"conflicts: {s.conflicts}\nlast sync: {s.last_sync or 'never'} (cursor {s.cursor})"
    )


@village.command(help=_("Notifications brought by the last sync (works offline); unread ones first, marked •."))
@click.option("--unread", is_flag=True, help=_("Only unread notifications."))
@click.option("--read", "read_id", type=int, default=None, help=_("Mark notification N read."))
@click.option("--read-all", is_flag=True, help=_("Mark every notification read."))
@with_client
def inbox(client: SyncClient, unread: bool, read_id: int | None, read_all: bool) -> None:
    if read_all or read_id is not None:
        client.replica.mark_notices_read(None if read_all else read_id)
    refs = {str(c.id): c.ref or str(c.id)[:8] for c in client.cases()}
    table = Table("", "#", "when", "case", "message")
    for n in client.inbox(unread):
        when = datetime.fromisoformat(n.created_at).astimezone(TZ).strftime("%m-%d %H:%M") if n.created_at else ""
        case = refs.get(n.case_id or "", (n.case_id or "")[:8])
        table.add_row("" if n.read_at else "•", str(n.id), when, case, n.message)
    out.print(table)
    out.print(f"未读 {client.replica.unread_notices()} 条")


@village.command(help=_("Attach a photo or PDF to a material of a case (or to \"other\"); uploaded on the next sync."))
@click.argument("ident")
@click.argument("material")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--provided", is_flag=True, help=_("Also mark the material provided (提供)."))
@with_client
def attach(client: SyncClient, ident: str, material: str, file: Path, provided: bool) -> None:
    case = client.attach(_find(client, ident).id, material, file, provided=provided)
    entry = case.attachments[-1]
    out.print(f"已附加 {entry['name']}（{entry['media_type']}，{entry['size']} 字节）到 {material}，待同步")


@village.command(help=_("Take a file off a case (by its sha256, or the start of it)."))
@click.argument("ident")
@click.argument("sha256")
@with_client
def detach(client: SyncClient, ident: str, sha256: str) -> None:
    case = _find(client, ident)
    match = [a["sha256"] for a in case.attachments if str(a.get("sha256", "")).startswith(sha256.lower())]
    if len(match) != 1:
        raise click.ClickException(f"本案件没有唯一匹配 {sha256} 的文件")
    client.act(case.id, Action.DETACH, sha256=match[0])
    out.print("已移除该文件，待同步")


UPLOAD_STATES = {"pending": "待上传", "done": "已上传", "refused": "被拒绝"}


@village.command(help=_("The files of a case: material, name, type, size, and whether this device has them."))
@click.argument("ident")
@with_client
def files(client: SyncClient, ident: str) -> None:
    case = _find(client, ident)
    table = Table("sha256", "材料", "文件名", "类型", "字节", "本机", "上传")
    for a in case.attachments:
        sha = str(a.get("sha256"))
        here = "有" if client.files.has(sha) else ("缩略图" if client.files.thumb_path(sha).exists() else "无")
        table.add_row(sha[:12], str(a.get("material")), str(a.get("name")), str(a.get("media_type")),
                      str(a.get("size")), here, UPLOAD_STATES.get(client.files.state(sha) or "", ""))  # fmt: skip
    out.print(table)


@village.command(help=_("Save a case's file (fetched from the server when this device does not have it)."))
@click.argument("ident")
@click.argument("sha256")
@click.option("--to", "target", type=click.Path(path_type=Path), default=None, help=_("Where to save."))
@with_client
async def save(client: SyncClient, ident: str, sha256: str, target: Path | None) -> None:
    case = _find(client, ident)
    match = [a for a in case.attachments if str(a.get("sha256", "")).startswith(sha256.lower())]
    if len(match) != 1:
        raise click.ClickException(f"本案件没有唯一匹配 {sha256} 的文件")
    source = await client.files.fetch(client.transport, str(case.id), str(match[0]["sha256"]))
    dest = target or Path(str(match[0].get("name") or match[0]["sha256"])).name
    Path(dest).write_bytes(source.read_bytes())
    out.print(f"已保存 {dest}")


@village.command(help=_("Operations the server refused and cases that left with unsynced edits."))
@click.option("--dismiss", type=int, default=None, help=_("Dismiss conflict N once dealt with."))
@with_client
def conflicts(client: SyncClient, dismiss: int | None) -> None:
    if dismiss is not None:
        client.replica.dismiss(dismiss)
    table = Table("#", "case", "operation", "code", "message")
    for c in client.conflicts():
        table.add_row(str(c.id), c.case_id[:8], c.kind, c.code, c.message)
    out.print(table)
