"""One case per rating code (NULLs do not collide).

SQLite cannot add a UNIQUE column, so the rating code's uniqueness is this index, made
after the column exists (Piccolo runs a migration's raw steps before its columns).
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder

ID = "2026-11-26T12:46:18:000000"
VERSION = "1.38.0"
DESCRIPTION = "unique rating codes"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="daiban", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        if engine is not None:
            await engine.run_ddl("CREATE UNIQUE INDEX IF NOT EXISTS case_file_rating_code_unique ON case_file (rating_code)")

    async def drop() -> None:
        engine = engine_finder()
        if engine is not None:
            await engine.run_ddl("DROP INDEX IF EXISTS case_file_rating_code_unique")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
