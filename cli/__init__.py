"""The one ``daiban`` command: it gathers the subcommands of each package.

A village device installs the base package (rules, sync client, console); the server's
commands need ``daiban[server]``. They are imported only when named, so ``daiban village``
and ``daiban console`` run without Litestar, Piccolo or asyncpg installed.
"""

from __future__ import annotations

import importlib

import click

#: Subcommand name → "module:attribute". Server commands are listed here, never imported above.
COMMANDS = {
    "village": "sync.cli:village",
    "console": "console.cli:console",
    "serve": "server.cli:serve",
    "migrate": "server.cli:migrate",
    "seed": "server.cli:seed",
    "worker": "server.cli:worker",
    "report": "server.cli:report",
}

SERVER_MISSING = "此命令需要服务端组件，请安装：pip install 'daiban[server]'"


def _unavailable(name: str, missing: str) -> click.Command:
    """Stands in for a command whose packages are not installed: says so, exits 1."""

    def fail() -> None:
        raise click.ClickException(f"{SERVER_MISSING}（缺少 {missing}）")

    return click.Command(name, callback=fail, help=f"（未安装）{SERVER_MISSING}", short_help="（需要 daiban[server]）")


class LazyGroup(click.Group):
    """Imports a subcommand's module when the subcommand is asked for (click's lazy-loading pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if module_name.split(".")[0] != "server" or error.name is None:
                raise
            return _unavailable(cmd_name, error.name)
        command = getattr(module, attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="daiban")
def main() -> None:
    """daiban: the 1+5+N 帮办代办 network — API server, jobs, console and village client.

    Settings come from DAIBAN_* environment variables (see README); the default database
    is the SQLite file var/daiban.sqlite.
    """
