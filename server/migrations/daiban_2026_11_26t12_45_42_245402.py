from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import UUID
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-26T12:45:42:245402"
VERSION = "1.38.0"
DESCRIPTION = "tokens bound to the device they serve"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="daiban", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="Token",
        tablename="token",
        column_name="client_id",
        db_column_name="client_id",
        column_class_name="UUID",
        column_class=UUID,
        params={
            "default": None,
            "null": True,
            "primary_key": False,
            "unique": False,
            "index": True,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
