from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine import engine_finder
from piccolo.columns.column_types import Timestamptz
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-26T14:20:17:300537"
VERSION = "1.38.0"
DESCRIPTION = "when a device last compared its whole scope; unacknowledged evictions found by index"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="daiban", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Device",
        tablename="device",
        column_name="reconciled_at",
        db_column_name="reconciled_at",
        column_class_name="Timestamptz",
        column_class=Timestamptz,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    # A pull re-sends a device's unacknowledged evictions: found through this index, not
    # by reading every case the device holds.
    async def create_index() -> None:
        engine = engine_finder()
        if engine is not None:
            await engine.run_ddl(
                "CREATE INDEX IF NOT EXISTS client_view_unacked ON client_view (client_id, gone) "
                "WHERE gone IS NOT NULL"
            )

    async def drop_index() -> None:
        engine = engine_finder()
        if engine is not None:
            await engine.run_ddl("DROP INDEX IF EXISTS client_view_unacked")

    manager.add_raw(create_index)
    manager.add_raw_backwards(drop_index)
    return manager
