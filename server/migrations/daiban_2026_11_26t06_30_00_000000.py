"""Prefix indexes for materialised paths on PostgreSQL; composite unique keys on both.

Scope queries are ``path LIKE '/640500/640502/%'``. PostgreSQL only uses a B-tree for a
LIKE prefix when the index is built with ``text_pattern_ops`` (or the database collation
is C), so these indexes keep subtree queries fast whatever the server's collation. SQLite
answers the same question with a range on its BINARY-collated index and needs nothing here.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-26T06:30:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "prefix indexes for scope queries; composite unique keys for sync"

#: One row per device and case in the client view; one operation per device and seq.
_UNIQUE = {
    "client_view_client_case": ("client_view", "client_id, case_id"),
    "sync_op_client_seq": ("sync_op", "client_id, seq"),
    "case_event_case_version": ("case_event", "case_id, version"),
}

_INDEXES = {
    "unit_path_prefix": ("unit", "path"),
    "case_file_owner_path_prefix": ("case_file", "owner_path"),
    "case_file_origin_path_prefix": ("case_file", "origin_path"),
}


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="daiban", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        if engine is None:
            return
        for name, (table, columns) in _UNIQUE.items():
            await engine.run_ddl(f"CREATE UNIQUE INDEX IF NOT EXISTS {name} ON {table} ({columns})")
        if engine.engine_type != "postgres":
            return
        for name, (table, column) in _INDEXES.items():
            await engine.run_ddl(
                f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({column} text_pattern_ops)"
            )

    async def drop() -> None:
        engine = engine_finder()
        if engine is None:
            return
        for name in _UNIQUE:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")
        if engine.engine_type != "postgres":
            return
        for name in _INDEXES:
            await engine.run_ddl(f"DROP INDEX IF EXISTS {name}")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
