"""``daiban console``: the Textual console, over the API or over a local replica."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from hierarchy.i18n import _

DEFAULT_SERVER = "http://127.0.0.1:8000"


@click.command(help=_("Open the console for agents and dispatchers (F1 inside for help; NO_COLOR is respected)."))
@click.option(
    "--server",
    envvar="DAIBAN_SERVER_URL",
    default=None,
    help=_("Base URL of the daiban API (DAIBAN_SERVER_URL; default {server}, or the replica's own).").format(
        server=DEFAULT_SERVER
    ),
)
@click.option(
    "--replica",
    envvar="DAIBAN_REPLICA",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=_("Work offline-first from this local replica file (created on first sign-in) (DAIBAN_REPLICA)."),
)
@click.option("--user", "username", default="", help=_("Username to prefill on the sign-in screen."))
def console(server: str | None, replica: Path | None, username: str) -> None:
    from console.app import DaibanConsole
    from console.data import DataClient

    client: DataClient
    if replica is not None:
        from console.replica_client import ReplicaDataClient

        device = ReplicaDataClient.open(replica, server=server)
        client = device
        label = _("{server} · replica {path}").format(server=device.server, path=replica)
    else:
        from console.http_client import HttpDataClient

        client = HttpDataClient(server or DEFAULT_SERVER)
        label = server or DEFAULT_SERVER

    app = DaibanConsole(client, server_label=label, username=username)

    async def run() -> None:
        try:
            await app.run_async()
        finally:
            await client.close()

    asyncio.run(run())
    if app.quit_message:
        click.echo(app.quit_message)  # what still waits to sync, once the screen is gone
