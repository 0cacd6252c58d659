"""The one ``daiban`` command: it gathers the subcommands of each package.

A village device installs the base package (rules, sync client, console); the server's
commands need ``daiban[server]``. They are imported only when named, so ``daiban village``
and ``daiban console`` run without Litestar, Piccolo or asyncpg installed.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

from cli.click_words import speak_to_click
from hierarchy.i18n import N_, _

#: Subcommand name → "module:attribute". Server commands are listed here, never imported above.
COMMANDS = {
    "village": "sync.cli:village",
    "console": "console.cli:console",
    "serve": "server.cli:serve",
    "migrate": "server.cli:migrate",
    "seed": "server.cli:seed",
    "worker": "server.cli:worker",
    "report": "server.cli:report",
    "backup": "server.cli:backup",
    "agents": "server.agents_cli:agents",
    "calendar": "server.cli:calendar",
}

SERVER_MISSING = N_("This command needs the server parts: pip install 'daiban[server]'")


def _unavailable(name: str, missing: str) -> click.Command:
    """Stands in for a command whose packages are not installed: says so, exits 1."""

    def fail() -> None:
        raise click.ClickException(_("{needs} (missing {module})").format(needs=_(SERVER_MISSING), module=missing))

    return click.Command(
        name,
        callback=fail,
        help=_("(not installed) {needs}").format(needs=_(SERVER_MISSING)),
        short_help=_("(needs daiban[server])"),
    )


class LazyGroup(click.Group):
    """Imports a subcommand's module when the subcommand is asked for (click's lazy-loading pattern)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        speak_to_click()
        return super().main(*args, **kwargs)

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


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=_(
        "daiban: the 1+5+N assisted-service (帮办代办) network — API server, jobs, console and village client.\n\n"
        "Settings come from DAIBAN_* environment variables (see README); the default database is the SQLite "
        "file var/daiban.sqlite. DAIBAN_LANG=en switches to English."
    ),
)
@click.version_option(package_name="daiban", help=_("Show the version and exit."))
def main() -> None:
    pass
