"""The documented offline onboarding, first time: ``daiban village init`` against a server,
the server goes away, ``daiban console`` on that replica works from the replica alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from console_kit import VILLAGE, Api, screen_name, screen_text, serve, sign_in, wait_for
from factories import resident_id
from textual.widgets import Input, Static

from console.app import DaibanConsole
from console.replica_client import ReplicaDataClient
from console.screens.case_forms import NewCaseForm
from console.screens.detail import DetailScreen
from console.widgets.status_bar import StatusBar
from server.settings import Settings

VILLAGER = f"a{VILLAGE}"
ROOT = Path(__file__).resolve().parents[2]


def daiban(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "import cli; cli.main()", *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


async def test_init_then_offline_console_from_the_replica(db_settings: Settings, tmp_path: Path) -> None:
    replica = tmp_path / "village.sqlite"
    with serve(db_settings) as url:
        init = ["init", "--server", url, "--user", VILLAGER, "--password=demo"]
        done = daiban("village", "--replica", str(replica), *init)
        assert done.returncode == 0, done.stderr
        api = Api(url)
        earlier = api.create(VILLAGER)
        api.act(VILLAGER, earlier["id"], "escalate", reason="需镇里协调")
        api.close()
        done = daiban("village", "--replica", str(replica), "sync")
        assert done.returncode == 0, done.stderr
    # The server is gone: nothing listens there any more.
    client = ReplicaDataClient.open(replica, attempts=1, timeout=2)
    app = DaibanConsole(client, status_every=0.3, sync_every=3600)
    try:
        async with app.run_test(notifications=True, size=(80, 24)) as pilot:
            # A wrong password is refused offline too.
            await wait_for(pilot, lambda: screen_name(app) == "SignInScreen")
            await pilot.click("#username")
            await pilot.press(*VILLAGER, "enter", *"wrong", "enter")
            error = app.screen.query_one("#signin-error", Static)
            await wait_for(pilot, lambda: "auth.invalid_credentials" in str(error.content))
            assert screen_name(app) == "SignInScreen" and app.me is None
            for box in app.screen.query(Input):
                box.value = ""

            await sign_in(pilot, VILLAGER)
            await wait_for(pilot, lambda: app.network_ready.is_set())
            assert len(app.items) >= 25  # the catalogue the replica holds
            # Names, not codes: the agent, the village, the units above.
            assert app.me is not None and app.me.name != VILLAGER
            assert app.unit_name(VILLAGE) != VILLAGE and app.unit_name("640502") == "沙坡头区"
            await pilot.pause(0.3)
            assert app.unit_name(VILLAGE) in screen_text(app)
            bar = app.screen.query_one(StatusBar)
            await wait_for(pilot, lambda: bar.sync_status is not None and not bar.sync_status.online)
            assert "离线" in screen_text(app)

            # A new case: the item list is there, the case is saved here and waits to sync.
            await pilot.press("ctrl+n")
            await wait_for(pilot, lambda: screen_name(app) == "NewCaseForm")
            form = app.screen
            assert isinstance(form, NewCaseForm)
            await pilot.press("enter", *"N03", "enter")
            await pilot.press("tab", "tab", "tab", *"李文华", "tab", *resident_id(733), "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.case is not None)
            detail = app.screen
            assert isinstance(detail, DetailScreen) and detail.case is not None
            assert detail.case.item_code == "N03-social-security-card"
            assert await client.is_pending(str(detail.case.id))
            await wait_for(pilot, lambda: app.sync_status is not None and app.sync_status.pending == 1)
            # The pulled history of a case, offline.
            await pilot.press("escape")
            app.open_case(earlier["id"])
            await wait_for(
                pilot, lambda: isinstance(app.screen, DetailScreen) and getattr(app.screen, "case", None) is not None
            )
            await pilot.pause(0.2)
            assert "办理经过（2 条）" in screen_text(app) and "需镇里协调" in screen_text(app)
            # Offline is a state in the status bar, never an error toast.
            assert not [n for n in app._notifications if n.severity == "error"]
    finally:
        await client.close()
