"""Messages the console's workers post when a call to the data client ends."""

from __future__ import annotations

import asyncio

from textual.message import Message

from console.data import (
    AgentOut,
    Case,
    CaseEvent,
    CaseFilter,
    CaseRow,
    Item,
    Plan,
    PlanResult,
    SyncConflict,
    SyncStatus,
    Unit,
    View,
    Workload,
)
from hierarchy.errors import DaibanError


class SignedIn(Message):
    def __init__(self, agent: AgentOut) -> None:
        super().__init__()
        self.agent = agent


class Failed(Message):
    """A call was refused or could not be made; ``what`` says which."""

    def __init__(self, what: str, error: DaibanError) -> None:
        super().__init__()
        self.what = what
        self.error = error


class NetworkLoaded(Message):
    """Units (and items and agents) read after sign-in; ``done`` once all of it is in."""

    def __init__(self, units: list[Unit], items: list[Item], agents: list[AgentOut], *, done: bool) -> None:
        super().__init__()
        self.units = units
        self.items = items
        self.agents = agents
        self.done = done


class CasesLoaded(Message):
    """A page of a case list; ``first`` replaces what is shown, ``done`` ends the list.

    ``shown`` is set once the page is on screen (or was dropped), so the loader sends the
    next page after the screen has painted this one, not in a burst before any paint.
    """

    def __init__(
        self,
        view: View,
        filters: CaseFilter,
        rows: list[CaseRow],
        *,
        first: bool,
        done: bool,
        shown: asyncio.Event | None = None,
    ) -> None:
        super().__init__()
        self.view = view
        self.filters = filters
        self.rows = rows
        self.first = first
        self.done = done
        self.shown = shown


class CaseLoaded(Message):
    def __init__(self, case: Case, history: list[CaseEvent], pending: bool) -> None:
        super().__init__()
        self.case = case
        self.history = history
        self.pending = pending


class ActionDone(Message):
    def __init__(self, action: str, case: Case, pending: bool) -> None:
        super().__init__()
        self.action = action
        self.case = case
        self.pending = pending


class StatusChanged(Message):
    def __init__(self, status: SyncStatus) -> None:
        super().__init__()
        self.status = status


class ConflictsLoaded(Message):
    def __init__(self, conflicts: list[SyncConflict]) -> None:
        super().__init__()
        self.conflicts = conflicts


class WorkloadLoaded(Message):
    def __init__(self, workload: Workload) -> None:
        super().__init__()
        self.workload = workload


class PlanReady(Message):
    def __init__(self, plan: Plan) -> None:
        super().__init__()
        self.plan = plan


class PlanApplied(Message):
    def __init__(self, result: PlanResult) -> None:
        super().__init__()
        self.result = result
