"""Units carry what they serve (hierarchy.serving): citizens' matters, enterprises', or both."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import JSON
from piccolo.columns.indexes import IndexMethod

ID = "2026-11-26T12:55:30:104932"
VERSION = "1.38.0"
DESCRIPTION = "unit.serves: what a unit serves"


async def forwards() -> MigrationManager:
    manager = MigrationManager(migration_id=ID, app_name="daiban", description=DESCRIPTION)

    manager.add_column(
        table_class_name="Unit",
        tablename="unit",
        column_name="serves",
        db_column_name="serves",
        column_class_name="JSON",
        column_class=JSON,
        params={
            "default": '["individual", "enterprise"]',
            "null": False,
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

    return manager
