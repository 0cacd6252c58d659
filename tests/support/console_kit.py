"""Driving the console in tests: a real server (optionally on a fixed clock), an API
helper to set the scene and check effects, and waits for the console's workers."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
from factories import case_payload, resident_id
from live import live_server
from rich.console import Console
from textual.app import App
from textual.pilot import Pilot

#: Thursday 26 November 2026, 10:00 in Zhongwei: a working day.
FIXED_NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
VILLAGE = "640502100002"
TOWN = "640502100"
COUNTY = "640502"


#: The API on loopback for console tests (the same helper the sync tests use).
serve = live_server


class Api:
    """The API as each demo agent sees it (password ``demo``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=30)
        self._tokens: dict[str, dict[str, str]] = {}
        self._ids: dict[str, int] = {}

    def close(self) -> None:
        self.http.close()

    def auth(self, user: str) -> dict[str, str]:
        if user not in self._tokens:
            r = self.http.post("/api/v1/auth/token", json={"username": user, "password": "demo"})
            r.raise_for_status()
            self._tokens[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            self._ids[user] = int(r.json()["agent"]["id"])
        return self._tokens[user]

    def agent_id(self, user: str) -> int:
        self.auth(user)
        return self._ids[user]

    def case(self, user: str, case_id: str) -> dict[str, Any]:
        r = self.http.get(f"/api/v1/cases/{case_id}", headers=self.auth(user))
        assert r.status_code == 200, r.text
        return dict(r.json())

    def history(self, user: str, case_id: str) -> list[dict[str, Any]]:
        r = self.http.get(f"/api/v1/cases/{case_id}/history", headers=self.auth(user))
        assert r.status_code == 200, r.text
        return list(r.json())

    def act(self, user: str, case_id: str, action: str, **body: Any) -> dict[str, Any]:
        r = self.http.post(f"/api/v1/cases/{case_id}/{action}", json=body, headers=self.auth(user))
        assert r.status_code == 200, (action, r.status_code, r.text)
        return dict(r.json())

    def create(self, user: str, serial: int | None = None, **over: Any) -> dict[str, Any]:
        body = case_payload(**over)
        if serial is not None:
            body["applicant"]["resident_id"] = resident_id(serial)
        r = self.http.post("/api/v1/cases", json=body, headers=self.auth(user))
        assert r.status_code == 201, r.text
        return dict(r.json())

    def queued_at_town(self, serial: int | None = None, **over: Any) -> dict[str, Any]:
        """A case taken at the village and escalated to the town's queue."""
        case = self.create(f"a{VILLAGE}", serial, **over)
        return self.act(f"a{VILLAGE}", case["id"], "escalate", reason="需要镇里协调")


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], object], timeout: float = 15.0) -> None:
    """Let the console run until ``predicate()`` holds (its workers talk to a real server)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {getattr(predicate, '__name__', predicate)}")
        await pilot.pause(0.05)


def screen_name(app: App[Any]) -> str:
    return type(app.screen).__name__


async def sign_in(pilot: Pilot[Any], username: str, password: str = "demo") -> None:
    """Type the username and password on the sign-in screen and wait for the first list."""
    app = pilot.app
    await wait_for(pilot, lambda: screen_name(app) == "SignInScreen")
    await pilot.click("#username")
    await pilot.press(*username, "enter")
    await pilot.press(*password, "enter")
    await wait_for(pilot, lambda: screen_name(app) == "MainScreen" and getattr(app.screen, "loaded", False))


def notes(app: App[Any]) -> list[str]:
    """Every notification so far, as ``title: message``."""
    return [f"{n.title}: {n.message}" for n in app._notifications]


def screen_text(app: App[Any]) -> str:
    """What the terminal shows now, as plain text."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()
