"""Drift between the Piccolo tables and the migrations, found before it reaches a database.

Piccolo's auto-migration differ replays every migration into a schema snapshot and compares
it with the table classes; any statement it would generate means a table changed without a
migration (or a migration changed without its table). ``daiban migrate --check`` and
``make check`` fail on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import redirect_stdout
from io import StringIO

from piccolo.apps.migrations.commands.new import AutoMigrationManager
from piccolo.conf.apps import AppConfig
from piccolo.table import Table

from server import db  # noqa: F401  (sets PICCOLO_CONF before Piccolo reads it)
from server.piccolo_app import APP_CONFIG


async def drift(tables: Sequence[type[Table]] | None = None) -> list[str]:
    """The statements a new migration would need; empty when tables and migrations agree.

    ``tables`` replaces the app's table classes (a test passes a changed table).
    """
    config = APP_CONFIG
    if tables is not None:
        config = AppConfig(
            app_name=APP_CONFIG.app_name,
            migrations_folder_path=APP_CONFIG.migrations_folder_path,
            table_classes=list(tables),
            migration_dependencies=[],
            commands=[],
        )
    # "n": a removed and an added column are not taken for a rename (no prompt).
    with redirect_stdout(StringIO()):  # the differ prints a table of counts as it goes
        statements = await AutoMigrationManager(auto_input="n").get_alter_statements(app_config=config)
    return [line for group in statements for line in group.statements]
