"""``daiban agents``: administration from the server's command line (DAIBAN_DATABASE_URL).

It works on the database directly, so it also creates the first admin of a production
seed. Every change is recorded like an admin's change through the API, by "命令行".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from hierarchy.errors import DaibanError
from hierarchy.i18n import _
from hierarchy.roles import Role
from server import admin
from server.cli import run_with_db
from server.settings import load_settings
from sync import wire

T = TypeVar("T")


def _run(work: Callable[[], Awaitable[T]]) -> T:
    try:
        return run_with_db(load_settings(), work)
    except DaibanError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from exc


def _password(value: str | None, username: str) -> str:
    if value is not None:
        return value
    return str(click.prompt(f"{username} 的新密码 (new password)", hide_input=True, confirmation_prompt=True))


@click.group(help=_("Create agents, set or reset their passwords, enable, disable and list them."))
def agents() -> None:
    """Create agents, set or reset their passwords, enable, disable and list them."""


@agents.command("add", help=_("Create an agent; they choose their own password at first sign-in."))
@click.argument("username")
@click.option("--name", required=True, help=_("The person's name, e.g. 马玉兰."))
@click.option("--unit", "unit_code", required=True, help=_("Unit code, e.g. 640502100 (the city is 640500)."))
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True, help=_("What they do there."))
@click.option("--password", default=None, help=_("Initial password (default: a temporary one is printed)."))
def add(username: str, name: str, unit_code: str, role: str, password: str | None) -> None:
    """Create an agent; they choose their own password at first sign-in."""
    new = wire.AgentCreate(username=username, name=name, unit_code=unit_code, role=Role(role), password=password)
    agent, temporary = _run(lambda: admin.create_agent(admin.CLI, new))
    click.echo(f"已创建 {agent.username}（{agent.role}，{agent.unit_code}）")
    if temporary:
        click.echo(f"临时密码 (temporary password): {temporary}")
    click.echo("首次登录时必须修改密码 (a new password is due at first sign-in).")


@agents.command("passwd", help=_("Set an agent's password; their signed-in devices must sign in again."))
@click.argument("username")
@click.option("--password", default=None, help=_("The new password (default: asked for, not echoed)."))
def passwd(username: str, password: str | None) -> None:
    """Set an agent's password; their signed-in devices must sign in again."""
    value = _password(password, username)
    _run(lambda: admin.set_password(admin.CLI, username, value, must_change=False))
    click.echo(f"已设置 {username} 的密码")


@agents.command(
    "reset", help=_("Give an agent a temporary password that must be changed at next sign-in.")
)
@click.argument("username")
def reset(username: str) -> None:
    """Give an agent a temporary password that must be changed at next sign-in."""
    temporary = _run(lambda: admin.reset_password(admin.CLI, username))
    click.echo(f"{username} 的临时密码 (temporary password): {temporary}")


@agents.command(
    "disable", help=_("Disable an agent (their tokens stop at once); the last enabled admin cannot be.")
)
@click.argument("username")
def disable(username: str) -> None:
    """Disable an agent (their tokens stop at once); the last enabled admin cannot be."""
    _run(lambda: admin.set_active(admin.CLI, username, False))
    click.echo(f"已停用 {username}")


@agents.command("enable", help=_("Enable a disabled agent again."))
@click.argument("username")
def enable(username: str) -> None:
    """Enable a disabled agent again."""
    _run(lambda: admin.set_active(admin.CLI, username, True))
    click.echo(f"已启用 {username}")


@agents.command("list", help=_("Agents with their unit, role and state."))
@click.option("--unit", default=None, help=_("Only this unit's agents."))
def list_(unit: str | None) -> None:
    """Agents with their unit, role and state."""
    for row in _run(lambda: admin.list_agents(unit)):
        state = "在用" if row["active"] else "停用"
        due = "  须改密码" if row["must_change_password"] else ""
        click.echo(f"{row['username']:<24} {row['name']:<12} {row['unit_code']:<16} {row['role']:<18} {state}{due}")
