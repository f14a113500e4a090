"""Run Alembic programmatically, so `overheard db upgrade` needs no alembic.ini."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic config that runs on `engine` (one connection, kept open by the caller)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    url = engine.url.render_as_string(hide_password=False)
    # Alembic's config interpolates `%`; a percent-encoded password or option must survive.
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database at `engine` up to `revision`."""
    cfg = alembic_config(engine)
    with _foreign_keys_deferred(engine) as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


@contextmanager
def _foreign_keys_deferred(engine: Engine) -> Iterator[Connection]:
    """A connection on which SQLite's table rebuilds don't cascade into other tables.

    Alembic changes a SQLite table by copying it and dropping the original; with foreign
    keys on, that DROP deletes every row that points at it (ON DELETE CASCADE). The pragma
    only takes effect outside a transaction, so it is set before the migration's begins,
    and the keys are checked once the migration is done.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            _outside_transaction(conn, "PRAGMA foreign_keys=OFF")
        try:
            yield conn
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                conn.commit()
                if broken:
                    raise RuntimeError(f"migration left rows pointing nowhere: {broken[:5]}")
        finally:
            if sqlite:
                conn.rollback()  # whatever the check left open
                _outside_transaction(conn, "PRAGMA foreign_keys=ON")


def _outside_transaction(conn: Connection, pragma: str) -> None:
    """Run a pragma on the driver's connection, where no BEGIN precedes it."""
    driver = conn.connection.driver_connection
    assert driver is not None
    driver.execute(pragma)


def check(engine: Engine) -> None:
    """Raise if the models and the migrations disagree (`alembic check`)."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)


def is_empty(engine: Engine) -> bool:
    """True when no migration has ever run on the database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return not MigrationContext.configure(conn).get_current_heads()


def is_current(engine: Engine) -> bool:
    """True when the database is at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(engine))
    with engine.connect() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current == set(script.get_heads())
