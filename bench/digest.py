"""Benchmark: one channel's daily digest over 1,000,000 mentions, on SQLite and PostgreSQL.

Target (issue 10): under 1 s on each. The mentions (and their cards) are spread evenly over
the 60 days before the digest's day, all in one channel, so the day holds about 16,700 and
the 8 days its comparisons read about 133,000; 10,000 authors with every reach score; most
cards claimed and resolved by one of 20 people, 2 % unclaimed, 2 % claimed and open. Rows are
made by the database itself (a recursive CTE on SQLite, generate_series on PostgreSQL), then
ANALYZE (VACUUM ANALYZE on PostgreSQL, as autovacuum would). The time is computing the
digest (every SQL aggregate it needs), best of 3; it excludes Slack and the chart.

    python -m bench.digest

PostgreSQL is read from OVERHEARD_BENCH_POSTGRES_URL (default: the test server on
127.0.0.1:5432); the benchmark makes a schema of its own there and drops it afterwards. An
unreachable server is reported and skipped.
"""

from __future__ import annotations

import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from bench._results import record
from bot.services.digest import DigestKind, compute_digest, digest_period
from bot.store import migrate
from bot.store.db import make_engine, session_scope

MENTIONS = 1_000_000
AUTHORS = 10_000
DAYS = 60
DAY = date(2026, 11, 25)
CHANNEL = "C0BENCH"
RUNS = 3
TARGET_S = 1.0
POSTGRES_URL = os.environ.get(
    "OVERHEARD_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# Mention n arrives n × STEP_S seconds after the start: DAYS days for MENTIONS mentions.
START = datetime.combine(DAY - timedelta(days=DAYS - 1), datetime.min.time(), tzinfo=UTC)
STEP_S = DAYS * 86_400 / MENTIONS
NETWORKS = ("hackernews", "reddit", "x", "bluesky", "mastodon", "rss", "appstore", "stackexchange")


def _networks_case(column: str) -> str:
    whens = " ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(NETWORKS))
    return f"CASE {column} % {len(NETWORKS)} {whens} END"


def _rows_sql(n: str, at: str, minutes: str) -> tuple[str, str, str]:
    """The SELECT lists for authors, mentions and cards, given how a dialect writes time."""
    authors = f"{n}, 'x', 'a' || {n}, 'a' || {n}, 1 + {n} % 100"
    mentions = (
        f"{n}, {_networks_case(n)}, 'b' || {n}, 1 + {n} % {AUTHORS}, "
        f"'https://example.com/' || {n}, 'acme mention ' || {n}, {at}, {at}, "
        f"CASE {n} % 4 WHEN 0 THEN 'negative' WHEN 1 THEN 'neutral' ELSE 'positive' END, "
        f"CASE {n} % 4 WHEN 0 THEN -0.6 WHEN 1 THEN 0.0 ELSE 0.5 END, '[]'"
    )
    state = (
        f"CASE WHEN {n} % 50 = 0 THEN 'posted' WHEN {n} % 50 = 1 THEN 'claimed' ELSE 'resolved' END"
    )
    claim_at = minutes.format(f"{n} % 120")
    close_at = minutes.format(f"{n} % 120 + {n} % 240")
    claimed = f"CASE WHEN {n} % 50 = 0 THEN NULL ELSE {claim_at} END"
    closed = f"CASE WHEN {n} % 50 IN (0, 1) THEN NULL ELSE {close_at} END"
    who = f"CASE WHEN {n} % 50 = 0 THEN NULL ELSE 'U' || ({n} % 20) END"
    closer = f"CASE WHEN {n} % 50 IN (0, 1) THEN NULL ELSE 'U' || ({n} % 20) END"
    cards = (
        f"{n}, {n}, '{CHANNEL}', {state}, {n} || '.000100', {n} || '.000100', {at}, {at}, "
        f"{who}, {claimed}, {closer}, {closed}, 1, 1, 1"
    )
    return authors, mentions, cards


AUTHOR_COLUMNS = "id, network, external_id, handle, score"
MENTION_COLUMNS = (
    "id, network, external_id, author_id, url, text, created_at, fetched_at, "
    "sentiment_label, sentiment_polarity, priority_reasons"
)
CARD_COLUMNS = (
    "id, mention_id, channel_id, state, message_ts, thread_ts, queued_at, posted_at, "
    "claimed_by, claimed_at, closed_by, closed_at, post_attempts, version, synced_version"
)


def _seed(engine: Engine, rows: str, at: str, minutes: str) -> None:
    """INSERT … SELECT each table's rows from `rows` (a numbered series `n`)."""
    authors, mentions, cards = _rows_sql("n", at, minutes)
    with engine.begin() as conn:
        for table, columns, select, count in (
            ("author", AUTHOR_COLUMNS, authors, AUTHORS),
            ("mention", MENTION_COLUMNS, mentions, MENTIONS),
            ("card", CARD_COLUMNS, cards, MENTIONS),
        ):
            # Every piece is a constant of this module: nothing from outside reaches the SQL.
            sql = rows.format(
                count=count, insert=f"INSERT INTO {table} ({columns}) SELECT {select}"
            )
            conn.execute(text(sql))


def seed_sqlite(engine: Engine) -> None:
    """Make the rows inside SQLite with a recursive CTE."""
    start = int(START.timestamp())
    moment = f"{start} + CAST(n * {STEP_S} AS INTEGER)"
    stamp = "strftime('%Y-%m-%d %H:%M:%S', {}, 'unixepoch') || '.000000'"
    at = stamp.format(moment)
    minutes = stamp.format(f"{moment} + ({{}}) * 60")
    rows = (
        "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {count}) "
        "{insert} FROM seq"
    )
    _seed(engine, rows, at, minutes)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def seed_postgres(engine: Engine) -> None:
    """Make the rows inside PostgreSQL with generate_series."""
    at = f"(TIMESTAMPTZ '{START.isoformat()}' + n * INTERVAL '{STEP_S} seconds')"
    minutes = f"({at} + ({{}}) * INTERVAL '1 minute')"
    _seed(engine, "{insert} FROM generate_series(1, {count}) AS n", at, minutes)
    with engine.connect() as conn:
        # What autovacuum does to a live database after a burst of inserts: statistics, and
        # the visibility map that lets index-only scans skip the table.
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def time_digest(engine: Engine) -> tuple[float, int]:
    """Best of RUNS times to compute the digest of DAY; and the day's mention count."""
    period = digest_period(CHANNEL, DigestKind.DAILY, DAY, "UTC")
    now = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    times, count = [], 0
    for _ in range(RUNS):
        started = time.perf_counter()
        with session_scope(engine) as session:
            digest = compute_digest(period, session=session, now=now, sources={})
        times.append(time.perf_counter() - started)
        count = digest.total.count
    return min(times), count


@contextmanager
def postgres_engine() -> Iterator[Engine | None]:
    """A migrated PostgreSQL schema of its own, or None when the server can't be reached."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:
        admin.dispose()
        print(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.__class__.__name__}; skipped")
        yield None
        return
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def main() -> None:
    """Seed both databases, time the digest on each, print and record the figures."""
    figures: dict[str, object] = {"mentions": MENTIONS, "days": DAYS, "target_s": TARGET_S}
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'bench.db'}")
        try:
            migrate.upgrade(engine)
            started = time.perf_counter()
            seed_sqlite(engine)
            seeded = time.perf_counter() - started
            best, count = time_digest(engine)
        finally:
            engine.dispose()
    print(
        f"SQLite: seeded {MENTIONS:,} mentions in {seeded:.0f} s; digest of a day with "
        f"{count:,} mentions: {best:.3f} s (best of {RUNS})"
    )
    figures.update(digest_1m_sqlite_s=round(best, 3), mentions_on_the_day=count)
    with postgres_engine() as pg:
        if pg is not None:
            started = time.perf_counter()
            seed_postgres(pg)
            seeded = time.perf_counter() - started
            best, count = time_digest(pg)
            print(
                f"PostgreSQL: seeded {MENTIONS:,} mentions in {seeded:.0f} s; digest: "
                f"{best:.3f} s (best of {RUNS}, {count:,} mentions on the day)"
            )
            figures["digest_1m_postgres_s"] = round(best, 3)
    met = all(
        isinstance(v, float) and v < TARGET_S
        for k, v in figures.items()
        if k.startswith("digest_1m_")
    )
    figures["target_met"] = met and "digest_1m_postgres_s" in figures
    record("digest", figures)


if __name__ == "__main__":
    main()
