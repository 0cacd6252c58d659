"""The Piccolo app that owns daiban's tables and migrations."""

import os

from piccolo.conf.apps import AppConfig

from server import tables

APP_CONFIG = AppConfig(
    app_name="daiban",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=list(tables.ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
