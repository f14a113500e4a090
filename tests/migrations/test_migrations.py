"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import Engine, inspect, text

from bot.store import migrate
from bot.store.db import make_engine


def test_upgrade_head_matches_the_models_so_alembic_check_passes(bare_engine: Engine) -> None:
    migrate.upgrade(bare_engine)

    migrate.check(bare_engine)  # raises if a model change has no migration
    assert migrate.is_current(bare_engine)


def test_a_fresh_database_is_not_current_until_upgraded(bare_engine: Engine) -> None:
    assert not migrate.is_current(bare_engine)


def test_a_url_with_percent_encoded_characters_migrates(tmp_path: Path) -> None:
    folder = tmp_path / "100% ours"  # like a password with an @ in it: `p%40ss`
    folder.mkdir()
    engine = make_engine(f"sqlite:///{folder / 'overheard.db'}")
    try:
        assert "%" in engine.url.render_as_string(hide_password=False)

        migrate.upgrade(engine)

        assert migrate.is_current(engine)
    finally:
        engine.dispose()


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


def test_a_database_from_before_the_renovation_keeps_every_row(bare_engine: Engine) -> None:
    migrate.upgrade(bare_engine, "0004")
    at = "2026-11-20 09:00:00+00:00"
    with bare_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO watch (id, query, sources, channel_id, options, interval_s, enabled, "
                "created_at) VALUES (1, 'acme', '[\"x\"]', 'C1', '{}', 300, true, :at)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO author (id, network, external_id, handle, score, score_breakdown) "
                "VALUES (1, 'x', 'oldhandle', 'oldhandle', 64, '{\"formula_version\": \"2\"}')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO mention (id, network, external_id, watch_id, author_id, url, text, "
                "created_at, fetched_at, conversation_ref, priority_reasons, content_hash) "
                "VALUES (1, 'x', '99', 1, 1, 'https://x.com/i/99', 'acme is down', :at, :at, "
                "'98', '[]', '')"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO conversation (id, mention_id, channel_id, state, message_ts, "
                "thread_ts, queued_at, post_attempts, version) "
                "VALUES (1, 1, 'C1', 'claimed', '1.1', '1.1', :at, 1, 2)"
            ),
            {"at": at},
        )
        conn.execute(
            text(
                "INSERT INTO event (id, conversation_id, kind, actor, at, detail) "
                "VALUES (1, 1, 'claimed', 'UALICE', :at, '{}')"
            ),
            {"at": at},
        )

    migrate.upgrade(bare_engine)

    with bare_engine.connect() as conn:
        card = conn.execute(text("SELECT state, version, synced_version FROM card")).one()
        event = conn.execute(text("SELECT card_id, kind FROM event")).one()
        thread = conn.execute(text("SELECT conversation_id FROM mention")).scalar_one()
        history = conn.execute(text("SELECT author_id, value, formula_version FROM authorscore"))
        watch_id = conn.execute(text("SELECT watch_id FROM card")).scalar_one()
        keys = conn.execute(text("SELECT channel_id, key, card_id FROM threadkey"))
        assert tuple(card) == ("claimed", 2, 2)  # Slack showed that version: nothing to re-send
        assert tuple(event) == (1, "claimed")
        assert thread == "98"
        assert [tuple(row) for row in history] == [(1, 64, "2")]
        assert watch_id == 1
        # The posted card leads its conversation: later replies go in its thread.
        assert [tuple(row) for row in keys] == [("C1", "x:98", 1)]
