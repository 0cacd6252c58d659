"""Piccolo's configuration module (``PICCOLO_CONF=server.piccolo_conf``).

``DB`` is replaced by :func:`server.db.connect` with the engine the settings choose, so the
migration runner and the tables always talk to the same database.
"""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine

DB: PostgresEngine | SQLiteEngine = SQLiteEngine(path="var/daiban.sqlite")

APP_REGISTRY = AppRegistry(apps=["server.piccolo_app"])
