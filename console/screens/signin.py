"""Sign in with a username and password; the token stays in the data client."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Static

from console.messages import Failed, SignedIn
from hierarchy.errors import DaibanError
from hierarchy.i18n import N_, _

if TYPE_CHECKING:
    from console.base import ConsoleBase

#: Seconds after the sign-in screen shows to load what comes after it.
PRELOAD_AFTER = 0.05
HINT = N_(
    "Your username is on your agent card (demo: a<unit code>, e.g. a640502100 for 滨河镇; "
    "dispatcher; lead<county code>). F1 explains the console step by step."
)


class SignInScreen(Screen[None]):
    # signin.tcss is read with the app's CSS (DaibanConsole.CSS_PATH).
    BINDINGS = [Binding("ctrl+q", "app.quit", _("Quit"))]  # noqa: RUF012

    if TYPE_CHECKING:
        app: ConsoleBase

    def __init__(self, username: str = "") -> None:
        super().__init__()
        self.username = username

    def compose(self) -> ComposeResult:
        with Vertical(id="signin"):
            yield Static(_("daiban · 帮办代办 console"), id="signin-title")
            if self.app.server_label:
                yield Static(_("server {where}").format(where=self.app.server_label), classes="muted")
            yield Label(_("Username"))
            yield Input(value=self.username, placeholder=_("e.g. a640502100"), id="username", compact=True)
            yield Label(_("Password"))
            yield Input(password=True, placeholder=_("your password"), id="password", compact=True)
            yield Static("", id="signin-error")
            with Horizontal(id="signin-buttons"):
                yield Button(_("Sign in"), variant="primary", id="go", compact=True)
            yield Static(_(HINT), classes="muted")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#password" if self.username else "#username", Input).focus()
        # Once this screen shows, while the agent types: load the network stack and the
        # code of the screen that follows, so the time after Enter goes to the server and
        # the first rows only.
        self.set_timer(PRELOAD_AFTER, self._preload)

    def _preload(self) -> None:
        self.app.client.prepare()
        importlib.import_module("console.screens.main")

    @on(Input.Submitted, "#username")
    def next_field(self) -> None:
        self.query_one("#password", Input).focus()

    @on(Input.Submitted, "#password")
    @on(Button.Pressed, "#go")
    def submit(self) -> None:
        username = self.query_one("#username", Input).value.strip()
        password = self.query_one("#password", Input).value
        if not username or not password:
            self.query_one("#signin-error", Static).update(_("Enter your username and password."))
            return
        self.query_one("#signin-error", Static).update(_("signing in …"))
        self.query_one("#go", Button).disabled = True
        self.sign_in(username, password)

    @work(exclusive=True)
    async def sign_in(self, username: str, password: str) -> None:
        try:
            agent = await self.app.client.sign_in(username, password)
        except DaibanError as error:
            self.post_message(Failed("sign_in", error))
            return
        self.post_message(SignedIn(agent))

    def on_signed_in(self, message: SignedIn) -> None:
        self.query_one("#signin-error", Static).update(
            _("welcome, {name} — loading your network …").format(name=message.agent.name)
        )
        self.app.signed_in(message.agent)

    def on_failed(self, message: Failed) -> None:
        self.query_one("#go", Button).disabled = False
        error = message.error
        text = {
            "auth.invalid_credentials": _("Wrong username or password."),
            "auth.rate_limited": _("Too many attempts: wait a minute and try again."),
        }.get(error.code, error.message)
        self.query_one("#signin-error", Static).update(f"{text} ({error.code})")
        self.query_one("#password", Input).focus()
