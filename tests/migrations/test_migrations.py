"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect

from bot.store import migrate


def test_upgrade_head_matches_the_models_so_alembic_check_passes(bare_engine: Engine) -> None:
    migrate.upgrade(bare_engine)

    migrate.check(bare_engine)  # raises if a model change has no migration
    assert migrate.is_current(bare_engine)


def test_a_fresh_database_is_not_current_until_upgraded(bare_engine: Engine) -> None:
    assert not migrate.is_current(bare_engine)


def test_downgrade_to_base_and_back_leaves_the_same_tables(bare_engine: Engine) -> None:
    migrate.upgrade(bare_engine)
    tables = set(inspect(bare_engine).get_table_names())
    cfg = migrate.alembic_config(bare_engine)
    with bare_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert set(inspect(bare_engine).get_table_names()) <= {"alembic_version"}

    migrate.upgrade(bare_engine)

    assert set(inspect(bare_engine).get_table_names()) == tables
    assert {"watch", "sourcecursor", "author", "mention", "card", "event"} <= tables
