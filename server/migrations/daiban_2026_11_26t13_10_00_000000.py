"""Indexes that match the queries at scale, on both engines.

- the case list's order (priority first, then due time and id): a page is read off the
  index in order, keyset by the cursor, instead of sorting the whole scope;
- the SLA sweep's candidates: open cases by due time (and id, its keyset), and queued
  cases by the time they joined their queue — partial indexes over open cases only;
- an agent's holdings, and which of them lie outside its scope, read from indexes alone
  (the case list's "ever held" part);
- the report's period filter on case events.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-26T13:10:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "indexes for the case list order, the sweep candidates and report periods"

OPEN = "('queued', 'in_progress', 'waiting_applicant')"
_INDEXES = {
    "case_file_list_order": "case_file (priority DESC, due_at, id)",
    "case_file_open_due": f"case_file (due_at, id) WHERE status IN {OPEN}",
    "case_file_queued_since": "case_file (queued_at, id) WHERE status = 'queued'",
    "case_event_at": "case_event (at)",
    "case_holder_agent_case": "case_holder (agent_id, case_id)",
}

#: PostgreSQL only (SQLite has no INCLUDE; its list is not split into branches).
_PG_INDEXES = {"case_file_id_paths": "case_file (id) INCLUDE (owner_path, origin_path)"}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="daiban", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        if engine is None:
            return
        extra = _PG_INDEXES if engine.engine_type == "postgres" else {}
        for name, target in {**_INDEXES, **extra}.items():
            await engine.run_ddl(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")

    async def drop() -> None:
        engine = engine_finder()
        if engine is None:
            return
        for name in [*_INDEXES, *_PG_INDEXES]:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
