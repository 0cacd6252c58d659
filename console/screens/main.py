"""The main screen: my cases, my unit's queue, and my scope with the unit tree beside it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from functools import partial
from typing import TYPE_CHECKING

import msgspec
from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static, Tab, Tabs, Tree

from console.data import OPEN_FILTER, VIEWS, CaseFilter, CaseRow, View
from console.format import both, role_label
from console.messages import CasesLoaded, Failed
from console.rules import row_state
from console.screens.base import ConsoleScreen
from console.screens.case_actions import CaseActions, CaseTarget
from console.screens.forms import FilterForm
from console.widgets.case_table import CaseTable
from console.widgets.scope_tree import ScopeTree, subtree_counts
from console.widgets.status_bar import StatusBar
from hierarchy.errors import DaibanError
from hierarchy.i18n import N_, _

if TYPE_CHECKING:
    from console.base import ConsoleBase
    from console.data import Case

VIEW_LABELS = {"mine": N_("1 My cases"), "queue": N_("2 Unit queue"), "scope": N_("3 Scope")}
#: The list every view starts with: work still to do (the filter form offers all).
START_FILTER = CaseFilter(status=OPEN_FILTER)
SEARCH_DELAY = 0.3


class MainScreen(CaseActions, ConsoleScreen):
    """The lists. Letters typed here go to the search box: a name typed without ``/``
    searches, it never acts on a case (actions: Enter opens the case, or Ctrl+P)."""

    # The list has the keys from the start (focusing it later would rebuild the footer).
    AUTO_FOCUS = "#cases"
    # main.tcss is read with the app's CSS (DaibanConsole.CSS_PATH).
    BINDINGS = [  # noqa: RUF012
        Binding("1", "view('mine')", _("Mine"), show=False),
        Binding("2", "view('queue')", _("Queue"), show=False),
        Binding("3", "view('scope')", _("Scope"), show=False),
        Binding("slash", "search", _("Search")),
        Binding("ctrl+f", "filters", _("Filters")),
        Binding("ctrl+n", "new_case", _("New case")),
        Binding("f5", "reload", _("Reload"), show=False),
    ]

    if TYPE_CHECKING:
        app: ConsoleBase

    def __init__(self, view: View | None = None) -> None:
        super().__init__()
        self.view: View = view or "queue"
        self.filters = START_FILTER
        #: Cases listed before the last reload, and those this agent acted on since.
        self._listed_before: dict[str, str] = {}
        #: The view and filters the last complete list was read with.
        self._listed_as: tuple[View, CaseFilter] | None = None
        self._moved_by_me: set[str] = set()
        self.all_rows: list[CaseRow] = []
        self.tree_unit: str | None = None
        self.loaded_version = -1
        self.loaded = False
        self._search_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="whoami")
        yield Tabs(*(Tab(_(VIEW_LABELS[v]), id=v) for v in VIEWS), active=self.view, id="views")
        with Horizontal(id="filterbar"):
            yield Input(
                placeholder=_("/ type to search title or ref"), id="search", compact=True, select_on_focus=False
            )
            yield Static(id="filters")
        with Horizontal(id="body"):
            yield ScopeTree(id="tree")
            yield CaseTable(id="cases")
        yield StatusBar()
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._show_whoami()
        # The unit tree is built when the scope view is first shown, not before.
        self.query_one(ScopeTree).display = False
        self.query_one(StatusBar).show_status(self.app.sync_status)
        self._show_filters()
        if self.view == "scope":
            self._show_tree()
        self.reload()

    def _show_whoami(self) -> None:
        me = self.app.me
        assert me is not None
        text = f" {me.name} · {role_label(me.role)} · {self.app.unit_name(me.unit_code)} · {me.username}"
        if self.app.server_label:
            text += f" · {self.app.server_label}"
        self.query_one("#whoami", Static).update(Text(text, no_wrap=True, overflow="ellipsis"))

    def _show_tree(self) -> None:
        tree = self.query_one(ScopeTree)
        me = self.app.me
        if not tree.built and me is not None and self.app.units_ready.is_set():
            tree.build(me.unit_code, self.app.units)
            if self.loaded:
                tree.show_counts(subtree_counts(self.all_rows, self.app.units))
        tree.display = True

    def network_changed(self) -> None:
        """The app has loaded the network: unit names, the unit tree."""
        self._show_whoami()
        if self.view == "scope":
            self._show_tree()

    def on_screen_resume(self) -> None:
        self.query_one(StatusBar).show_status(self.app.sync_status)
        if self.loaded and self.loaded_version != self.app.data_version:
            self.reload()

    # --- loading ------------------------------------------------------------------------

    def reload(self) -> None:
        self.loaded_version = self.app.data_version
        self.query_one(StatusBar).show_info(_("loading …"))
        self.load_cases(self.view, self.filters)

    @work(exclusive=True, group="cases")
    async def load_cases(self, view: View, filters: CaseFilter) -> None:
        pages = self._pages(view, filters)
        ahead = asyncio.ensure_future(anext(pages, None))
        first = True
        try:
            while (page := await ahead) is not None:
                if first:
                    # Rows name their units and agents: wait for the names (loading
                    # alongside since sign-in) before the first page is shown. Lists of
                    # my cases and my queue only hold my unit's cases, mine or unclaimed.
                    ready = self.app.units_ready if view in ("mine", "queue") else self.app.network_ready
                    await ready.wait()
                else:
                    # Later pages: the next one is read while this one is put on screen
                    # (not before the first shows: it would compete with it).
                    ahead = asyncio.ensure_future(anext(pages, None))
                shown = asyncio.Event()
                self.post_message(CasesLoaded(view, filters, page, first=first, done=False, shown=shown))
                await shown.wait()
                if first:
                    ahead = asyncio.ensure_future(anext(pages, None))
                first = False
        except DaibanError as error:
            self.post_message(Failed("cases", error))
            return
        finally:
            ahead.cancel()
        self.post_message(CasesLoaded(view, filters, [], first=first, done=True))

    def _pages(self, view: View, filters: CaseFilter) -> AsyncIterator[list[CaseRow]]:
        head = self.app.take_first_page(view, filters)
        return head.all_pages() if head is not None else self.app.client.case_pages(view, filters)

    def on_cases_loaded(self, message: CasesLoaded) -> None:
        if message.shown is not None:
            self.call_after_refresh(message.shown.set)
        if message.view != self.view or message.filters != self.filters:
            return  # an answer to a question no longer asked
        if message.first:
            # Only the same list read again can tell that cases went away.
            same = self._listed_as == (message.view, message.filters)
            self._listed_before = {str(r.id): r.ref or str(r.id)[:8] for r in self.all_rows} if same else {}
            self.all_rows = list(message.rows)
            self.show_rows()
            self.app.listed()
        else:
            self.all_rows.extend(message.rows)
            table = self.query_one(CaseTable)
            table.append(
                self._visible(message.rows),
                now=self.app.clock(),
                who=self.app.agent_label,
                unit_name=self.app.unit_name,
            )
        if message.done:
            self._tell_moved_away()
            self._listed_as = (message.view, message.filters)
            self.loaded = True
            tree = self.query_one(ScopeTree)
            if self.view == "scope" and tree.built:
                tree.show_counts(subtree_counts(self.all_rows, self.app.units))
        self._show_info(done=message.done)

    def _visible(self, rows: list[CaseRow]) -> list[CaseRow]:
        """``rows`` in the unit highlighted in the scope tree (all of them elsewhere)."""
        if self.view != "scope" or not self.tree_unit or self.tree_unit not in self.app.units:
            return rows
        units = self.app.units
        prefix = units[self.tree_unit].path
        return [r for r in rows if r.owner_unit in units and units[r.owner_unit].path.startswith(prefix)]

    def show_rows(self) -> None:
        table = self.query_one(CaseTable)
        current = table.current()
        keep = current.id if current else None
        rows = self._visible(self.all_rows)
        table.show(rows, now=self.app.clock(), who=self.app.agent_label, unit_name=self.app.unit_name, keep=keep)
        self._show_info(done=self.loaded)

    def _tell_moved_away(self) -> None:
        """Cases gone from the list since the last reload without this agent moving them
        (the SLA sweep escalated them, someone else took them): say which."""
        before, self._listed_before = self._listed_before, {}
        if not before:
            return
        now_listed = {str(r.id) for r in self.all_rows}
        gone = [ref for cid, ref in before.items() if cid not in now_listed and cid not in self._moved_by_me]
        self._moved_by_me.clear()
        if gone:
            shown = "、".join(gone[:3]) + (" …" if len(gone) > 3 else "")
            self.notify(
                _("{count} case(s) left this list (escalated by the SLA sweep or moved by others): {refs}").format(
                    count=len(gone), refs=shown
                ),
                title=_("moved away"),
                timeout=8,
            )

    def _show_info(self, *, done: bool) -> None:
        rows = self.query_one(CaseTable).rows_shown
        where = ""
        if self.view == "scope" and self.tree_unit:
            where = _(" in {unit}").format(unit=self.app.unit_name(self.tree_unit))
        overdue = sum(1 for r in rows if r.overdue)
        pending = sum(1 for r in rows if r.pending)
        count = f"{len(rows):,}"
        info = _("{count} cases{where} · {overdue} overdue").format(count=count, where=where, overdue=overdue)
        if pending:
            info += " · " + _("{count} ↑pending").format(count=pending)
        self.query_one(StatusBar).show_info(info if done else info + " · " + _("loading more …"))

    def on_failed(self, message: Failed) -> None:
        if self.refused(message):
            return
        self.query_one(StatusBar).show_info(_("could not load: {code}").format(code=message.error.code))
        if message.error.status == 503:
            return  # offline: the status bar says so, calmly
        self.app.tell(message.error)

    def after_action(self, case: Case) -> None:
        self._moved_by_me.add(str(case.id))
        self.reload()

    # --- views, search, filters ----------------------------------------------------------

    def action_view(self, view: str) -> None:
        self.query_one(Tabs).active = view

    @on(Tabs.TabActivated, "#views")
    def view_changed(self, event: Tabs.TabActivated) -> None:
        view = event.tab.id
        if view not in VIEWS or view == self.view:
            return
        self.view = view
        if view == "scope":
            self._show_tree()
        else:
            self.query_one(ScopeTree).display = False
        self.query_one(CaseTable).clear()
        self.reload()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def on_key(self, event: events.Key) -> None:
        """Typing in the list searches; Esc in the search box clears it and goes back."""
        search = self.query_one("#search", Input)
        if event.key == "escape" and search.has_focus:
            event.stop()
            search.value = ""
            self._search_now()
            self.query_one(CaseTable).focus()
            return
        if (
            self.focused is self.query_one(CaseTable)
            and event.is_printable
            and event.character
            and event.character not in "123/q"
        ):
            event.stop()
            event.prevent_default()
            search.focus()
            search.insert_text_at_cursor(event.character)

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_DELAY, self._search_now)

    def _search_now(self) -> None:
        q = self.query_one("#search", Input).value.strip() or None
        if q != self.filters.q:
            self.filters = msgspec.structs.replace(self.filters, q=q)
            self.reload()

    @on(Input.Submitted, "#search")
    def search_submitted(self) -> None:
        self._search_now()
        self.query_one(CaseTable).focus()

    def action_filters(self) -> None:
        def chosen(filters: CaseFilter | None) -> None:
            if filters is not None and filters != self.filters:
                self.filters = filters
                self._show_filters()
                self.reload()

        self.app.push_screen(FilterForm(self.filters, list(self.app.items.values())), chosen)

    def _show_filters(self) -> None:
        self.query_one("#filters", Static).update(" " + _("^F: {filters}").format(filters=self.filters.describe()))

    def action_reload(self) -> None:
        self.reload()

    def action_new_case(self) -> None:
        from console.screens.case_forms import NewCaseForm

        def created(case: Case | None) -> None:
            self.saved(case, _("created"))
            if case is not None:
                self.app.open_case(str(case.id))

        self.app.push_screen(NewCaseForm(), created)

    @on(Tree.NodeHighlighted, "#tree")
    def unit_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        code = event.node.data
        me = self.app.me
        self.tree_unit = None if me is None or code == me.unit_code else code
        if self.loaded:
            self.show_rows()

    def palette_commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand(both("My cases"), _("Cases assigned to me (1)"), partial(self.action_view, "mine"))
        yield SystemCommand(
            both("Unit queue"), _("Queued cases of my unit, most urgent first (2)"), partial(self.action_view, "queue")
        )
        yield SystemCommand(
            both("Scope"),
            _("Everything in my unit's subtree, with the unit tree (3)"),
            partial(self.action_view, "scope"),
        )
        yield SystemCommand(both("Search"), _("Search titles and references (/ or just type)"), self.action_search)
        yield SystemCommand(
            both("Filters"), _("Open cases or all, status, item, kind, overdue (Ctrl+F)"), self.action_filters
        )
        yield SystemCommand(both("Reload"), _("Load the list again (F5)"), self.action_reload)
        yield SystemCommand(
            both("New case"), _("Take a new matter: item, applicant, groups (Ctrl+N)"), self.action_new_case
        )
        if self.selected_case() is not None:
            yield SystemCommand(both("Open case"), _("Details, materials and history (Enter)"), self.open_row)

    # --- the selected case -------------------------------------------------------------

    @on(DataTable.RowSelected, "#cases")
    def open_row(self) -> None:
        row = self.query_one(CaseTable).current()
        if row is not None:
            self.app.open_case(str(row.id))

    @on(DataTable.RowHighlighted, "#cases")
    def row_highlighted(self) -> None:
        self.refresh_bindings()

    def selected_case(self) -> CaseTarget | None:
        row = self.query_one(CaseTable).current()
        if row is None:
            return None
        state = row_state(row, self.app.units, self.app.clock())
        return CaseTarget(row.id, row.ref or str(row.id)[:8], row.status, row.owner_unit, state)
