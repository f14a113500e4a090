"""`overheard sources status`: a monitor that stopped must be noticed."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine

from bot.services.fetching import ensure_cursor
from bot.services.health import describe_health
from bot.store.db import session_scope
from bot.store.models import Watch
from tests.bot.services.test_fetching import ScriptedSource
from tests.conftest import Clock
from tests.factories import NOW, make_watch


def set_cursor(engine: Engine, watch: Watch, **values: object) -> None:
    with session_scope(engine) as session:
        stored = session.get(Watch, watch.id)
        assert stored is not None
        cursor = ensure_cursor(stored, "hackernews", session=session)
        for name, value in values.items():
            setattr(cursor, name, value)
        session.add(cursor)


def verdicts(engine: Engine, now: object, source: ScriptedSource | None = None) -> list[str]:
    with session_scope(engine) as session:
        rows = describe_health(
            session=session,
            sources={"hackernews": source or ScriptedSource()},
            now=now,  # type: ignore[arg-type]
        )
    return [f"{r.state}{'!' if r.flagged else ''}" for r in rows]


def test_a_healthy_source_is_ok(engine: Engine) -> None:
    watch = make_watch(engine)
    set_cursor(engine, watch, last_attempt_at=NOW, last_success_at=NOW, last_mention_at=NOW)

    assert verdicts(engine, NOW + timedelta(minutes=5)) == ["ok"]


def test_three_failures_in_a_row_flag_the_source_as_failing(engine: Engine) -> None:
    watch = make_watch(engine)
    set_cursor(
        engine, watch, last_attempt_at=NOW, last_success_at=NOW, failures=3, last_error="HTTP 503"
    )

    assert verdicts(engine, NOW) == ["failing!"]


def test_no_success_for_hours_flags_the_source_even_without_recorded_failures(
    engine: Engine,
) -> None:
    watch = make_watch(engine, interval_s=300)
    set_cursor(engine, watch, last_attempt_at=NOW, last_success_at=NOW - timedelta(hours=2))

    assert verdicts(engine, NOW) == ["failing!"]


def test_a_week_without_a_new_mention_is_flagged_silent(engine: Engine, clock: Clock) -> None:
    watch = make_watch(engine)
    later = NOW + timedelta(days=8)
    set_cursor(engine, watch, last_attempt_at=later, last_success_at=later, last_mention_at=NOW)

    assert verdicts(engine, later) == ["silent!"]


def test_a_network_missing_credentials_is_flagged_not_configured(engine: Engine) -> None:
    make_watch(engine)
    set_cursor(engine, make_watch(engine))
    source = ScriptedSource()
    source.missing_settings = ("X_BEARER_TOKEN",)

    assert set(verdicts(engine, NOW, source)) == {"not configured!"}


def test_the_facts_say_how_long_ago_in_words(engine: Engine) -> None:
    watch = make_watch(engine)
    set_cursor(engine, watch, last_attempt_at=NOW, last_success_at=NOW - timedelta(seconds=20))

    with session_scope(engine) as session:
        (row,) = describe_health(session=session, sources={}, now=NOW + timedelta(hours=3))
        (fresh,) = describe_health(session=session, sources={}, now=NOW)

    assert row.detail.startswith("last success 3 h ago · last new mention never · ")
    assert fresh.detail.startswith("last success just now · ")


def test_a_network_never_fetched_is_listed_as_waiting_and_an_unconfigured_one_flagged(
    engine: Engine,
) -> None:
    make_watch(engine, sources=["hackernews", "x"])
    missing = ScriptedSource()
    missing.missing_settings = ("X_BEARER_TOKEN",)

    with session_scope(engine) as session:
        rows = describe_health(
            session=session, sources={"hackernews": ScriptedSource(), "x": missing}, now=NOW
        )

    assert [(r.source, r.state, r.detail, r.flagged) for r in rows] == [
        ("hackernews", "waiting", "never fetched yet", False),
        ("x", "not configured", "set X_BEARER_TOKEN", True),
    ]
    assert rows[0].line().startswith("·· ")  # not "ok": it has never run


def test_a_network_that_never_once_worked_is_failing_from_its_first_error(engine: Engine) -> None:
    watch = make_watch(engine)
    set_cursor(engine, watch, last_attempt_at=NOW, failures=1, last_error="HTTP 401")

    with session_scope(engine) as session:
        (row,) = describe_health(session=session, sources={}, now=NOW + timedelta(minutes=1))

    assert (row.state, row.flagged) == ("failing", True)
    assert row.detail.startswith("never worked (watch added 1 min ago) · last success never")
    assert row.detail.endswith("last error: HTTP 401")
