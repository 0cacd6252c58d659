"""Reading the replica's lists a page at a time: same order and rows as the whole list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from hierarchy.cases import Status
from sync.replica import PageKey, Replica
from sync.wire import Case

START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


class Row(msgspec.Struct, kw_only=True):
    """A list row: a few fields of the case, the rest of its JSON skipped."""

    id: uuid.UUID
    ref: str | None = None
    status: str = ""
    priority: int = 0


def _case(n: int) -> Case:
    return Case(
        id=uuid.UUID(int=n + 1),
        ref=f"ZW-2026-{n:06d}",
        status=Status.QUEUED if n % 3 else Status.IN_PROGRESS,
        owner_unit="640502100",
        assignee_id=None if n % 3 else 20,
        priority=n % 4,
        # Some cases share a due time (ties broken by id), a few have none (listed first).
        due_at=None if n % 17 == 0 else START + timedelta(hours=n % 9),
        title=f"第{n}件",
    )


@pytest.fixture
def replica(tmp_path: Path) -> Replica:
    r = Replica(tmp_path / "r.sqlite")
    with r.tx() as c:
        for n in range(250):
            r.save_server(c, _case(n))
    return r


def _all_pages(r: Replica, where: str, params: tuple[object, ...], size: int) -> tuple[list[Row], int]:
    rows: list[Row] = []
    after: PageKey | None = None
    pages = 0
    while True:
        page, after = r.cases_page(where, params, after=after, limit=size, into=Row)
        rows += page
        pages += 1
        if after is None:
            return rows, pages


@pytest.mark.parametrize("size", [1, 7, 50, 250, 1000])
@pytest.mark.parametrize(
    ("where", "params"),
    [("1=1", ()), ("owner_unit = ? AND status = 'queued'", ("640502100",)), ("assignee_id = ?", (20,))],
)
def test_pages_add_up_to_the_whole_list_in_its_order(
    replica: Replica, size: int, where: str, params: tuple[object, ...]
) -> None:
    whole = replica.cases(where, params)
    rows, pages = _all_pages(replica, where, params, size)
    assert [r.id for r in rows] == [c.id for c in whole]
    assert [(r.ref, r.status, r.priority) for r in rows] == [(c.ref, c.status.value, c.priority) for c in whole]
    assert pages == len(whole) // size + 1
    replica.close()


def test_a_page_of_whole_cases(replica: Replica) -> None:
    page, after = replica.cases_page(limit=10, into=Case)
    assert after is not None and len(page) == 10 and all(isinstance(c, Case) for c in page)
    assert page == replica.cases(limit=10)
    replica.close()


def test_paging_resumes_by_key_not_by_offset(replica: Replica) -> None:
    first, after = replica.cases_page(limit=100, into=Row)
    moved = replica.case(str(first[0].id))
    assert moved is not None
    with replica.tx() as c:  # meanwhile the top case drops to the bottom of the order
        replica.save_server(c, msgspec.structs.replace(moved, priority=-1, version=2))
    rest, _ = replica.cases_page(after=after, limit=1000, into=Row)
    # No case after the first page is skipped (an offset would now skip one), and the
    # moved case shows where it now stands.
    assert len(rest) == 151 and rest[-1].id == moved.id
    assert {r.id for r in first} | {r.id for r in rest} == {c.id for c in replica.cases()}
    replica.close()
