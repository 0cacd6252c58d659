"""The one ``daiban`` command: it gathers the subcommands of each package."""

from __future__ import annotations

import click

from console.cli import console
from server.cli import migrate, report, seed, serve, worker
from sync.cli import village


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="daiban")
def main() -> None:
    """daiban: the 1+5+N 帮办代办 network — API server, jobs, console and village client.

    Settings come from DAIBAN_* environment variables (see README); the default database
    is the SQLite file var/daiban.sqlite.
    """


main.add_command(serve)
main.add_command(migrate)
main.add_command(seed)
main.add_command(worker)
main.add_command(report)
main.add_command(village)
main.add_command(console)
