"""Alembic environment: overheard's models, URL from Settings (or the caller's connection)."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

import bot.store.models  # noqa: F401  (registers the tables on the metadata)
from bot.config import Settings
from bot.store.db import make_engine
from bot.store.models import metadata
from bot.store.types import UTCDateTime


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render our own column types with the import the migration template provides."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "bot.store.types.UTCDateTime()"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
        render_item=_render_item,
    )


def run_migrations_online() -> None:
    """Run migrations on the connection the caller passed, or on DATABASE_URL."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.config.get_main_option("sqlalchemy.url") or Settings().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("overheard runs migrations online only: use `overheard db upgrade`")
run_migrations_online()
