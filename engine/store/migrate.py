"""Schema migrations, run by ``Store.open`` so a database is always at the code's schema.

Several batch workers may open a new database at the same moment, so the upgrade runs under a lock:
on SQLite inside one ``BEGIN IMMEDIATE`` transaction (SQLite's DDL is transactional), on PostgreSQL
under a transaction-scoped advisory lock. The second opener waits, then finds the schema at head.

A new revision, for a developer (from the project root, against a scratch database at head)::

    .venv/bin/alembic -c engine/store/alembic.ini -x url=sqlite:///scratch.db revision --autogenerate -m "..."
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_ID = 0x63616C6C7161  # "callqa": any constant shared by every callqa process


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema; a no-op (one small query) when it is there already."""
    head = head_revision()
    with engine.connect() as conn:
        if current_revision(conn) == head:
            return
    config = alembic_config()
    with engine.connect().execution_options(callqa_immediate=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        if current_revision(conn) == head:  # another process upgraded while this one waited
            return
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
