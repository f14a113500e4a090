"""Fetching on schedule: cursors move only with stored data; failures back off and are recorded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import select

from bot.services.deps import Deps
from bot.services.fetching import FetchOutcome, run_due_fetches
from bot.slack.chat import ConsoleChat
from bot.sources.base import FetchedAuthor, FetchResult, RateLimited, SearchSpec, SourceError
from bot.store.db import session_scope
from bot.store.models import Author, Mention, SourceCursor
from tests.conftest import Clock, make_settings
from tests.factories import make_fetched, make_watch


class ScriptedSource:
    """A source that answers each fetch with the next scripted result or error."""

    name = "hackernews"
    missing_settings: tuple[str, ...] = ()

    def __init__(self, *answers: FetchResult | SourceError) -> None:
        self.answers = list(answers)
        self.cursors_seen: list[dict[str, Any]] = []
        self.author_lookups: list[str] = []

    def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        self.cursors_seen.append(cursor)
        answer = self.answers.pop(0)
        if isinstance(answer, SourceError):
            raise answer
        return answer

    def fetch_author(self, handle: str) -> FetchedAuthor | None:
        self.author_lookups.append(handle)
        return FetchedAuthor(handle=handle, karma=157_000)


def deps_with(engine: Engine, source: ScriptedSource, clock: Clock) -> Deps:
    import io

    return Deps(
        make_settings(), engine, ConsoleChat(io.StringIO()), {"hackernews": source}, clock=clock
    )


def mentions(engine: Engine) -> list[Mention]:
    with session_scope(engine) as session:
        return list(session.exec(select(Mention)))


def cursor_row(engine: Engine) -> SourceCursor:
    with session_scope(engine) as session:
        row = session.exec(select(SourceCursor)).one()
        return row


def test_a_failed_fetch_keeps_the_cursor_and_retries_with_backoff(
    engine: Engine, clock: Clock
) -> None:
    make_watch(engine, interval_s=300)
    source = ScriptedSource(
        FetchResult([make_fetched(external_id="1")], {"created_at_i": 100}),
        SourceError("HTTP 503"),
        SourceError("HTTP 503"),
        FetchResult([make_fetched(external_id="2")], {"created_at_i": 200}),
    )
    deps = deps_with(engine, source, clock)

    run_due_fetches(deps)
    clock.advance(seconds=300)
    run_due_fetches(deps)  # fails
    failed = cursor_row(engine)
    assert failed.cursor == {"by_query": {"acme": {"created_at_i": 100}}}
    assert (failed.failures, failed.last_error) == (1, "HTTP 503")
    assert failed.next_due_at == clock.now + timedelta(seconds=300)

    clock.advance(seconds=300)
    run_due_fetches(deps)  # fails again: the wait doubles
    assert cursor_row(engine).next_due_at == clock.now + timedelta(seconds=600)
    clock.advance(seconds=599)
    assert run_due_fetches(deps) == []  # not due yet
    clock.advance(seconds=1)
    run_due_fetches(deps)

    assert source.cursors_seen == [
        {},
        {"created_at_i": 100},
        {"created_at_i": 100},
        {"created_at_i": 100},
    ]
    healthy = cursor_row(engine)
    assert (healthy.cursor, healthy.failures, healthy.last_error) == (
        {"by_query": {"acme": {"created_at_i": 200}}},
        0,
        None,
    )
    assert sorted(m.external_id for m in mentions(engine)) == ["1", "2"]


def test_rate_limited_fetch_waits_as_long_as_the_network_asked(
    engine: Engine, clock: Clock
) -> None:
    make_watch(engine)
    deps = deps_with(engine, ScriptedSource(RateLimited("429", retry_after_s=900)), clock)

    (outcome,) = run_due_fetches(deps)

    assert outcome.error == "429"
    assert cursor_row(engine).next_due_at == clock.now + timedelta(seconds=900)


def test_mentions_seen_again_are_stored_once(engine: Engine, clock: Clock) -> None:
    make_watch(engine, interval_s=60)
    same = make_fetched(external_id="7")
    source = ScriptedSource(
        FetchResult([same, same], {"created_at_i": 1}), FetchResult([same], {"created_at_i": 1})
    )
    deps = deps_with(engine, source, clock)

    first = run_due_fetches(deps)
    clock.advance(seconds=60)
    second = run_due_fetches(deps)

    assert [o.new_mentions for o in first + second] == [1, 0]
    assert len(mentions(engine)) == 1


def test_author_metrics_are_fetched_once_and_scored(engine: Engine, clock: Clock) -> None:
    make_watch(engine, interval_s=60)
    source = ScriptedSource(
        FetchResult([make_fetched(external_id="1"), make_fetched(external_id="2")], {}),
        FetchResult([make_fetched(external_id="3")], {}),
    )
    deps = deps_with(engine, source, clock)

    run_due_fetches(deps)
    clock.advance(seconds=60)
    run_due_fetches(deps)

    assert source.author_lookups == ["kestrel"]  # cached for a day, not asked per mention
    with session_scope(engine) as session:
        author = session.exec(select(Author)).one()
    assert author.karma == 157_000
    assert author.score is not None and author.score >= 60  # 157 k karma, formula 2.0
    assert author.score_breakdown is not None
    assert sum(f["points"] for f in author.score_breakdown["factors"]) == author.score


def test_a_negative_mention_is_labelled_negative(engine: Engine, clock: Clock) -> None:
    make_watch(engine)
    text = "Acme is terrible, the worst outage ever."
    deps = deps_with(engine, ScriptedSource(FetchResult([make_fetched(text=text)], {})), clock)

    run_due_fetches(deps)

    (mention,) = mentions(engine)
    assert mention.sentiment_label == "negative"
    assert mention.sentiment_polarity is not None and mention.sentiment_polarity < 0


def test_network_results_that_do_not_answer_the_query_are_dropped(
    engine: Engine, clock: Clock
) -> None:
    make_watch(engine, query='"acme cloud" -jobs')
    source = ScriptedSource(
        FetchResult(
            [
                make_fetched(external_id="1", text="Acme Cloud is down again"),
                make_fetched(external_id="2", text="Acme Cloud jobs: apply now"),
                make_fetched(external_id="3", text="acmecloud.example was sold"),
            ],
            {},
        )
    )

    run_due_fetches(deps_with(engine, source, clock))

    assert [m.external_id for m in mentions(engine)] == ["1"]


def test_each_alternative_gets_its_own_search_and_cursor(engine: Engine, clock: Clock) -> None:
    make_watch(engine, query="acme OR globex")
    source = ScriptedSource(
        FetchResult([make_fetched(external_id="1", text="acme")], {"mark": 1}),
        FetchResult([make_fetched(external_id="2", text="globex")], {"mark": 2}),
    )

    run_due_fetches(deps_with(engine, source, clock))

    assert cursor_row(engine).cursor == {"by_query": {"acme": {"mark": 1}, "globex": {"mark": 2}}}
    assert sorted(m.external_id for m in mentions(engine)) == ["1", "2"]


def test_one_failing_alternative_keeps_every_cursor_where_it_was(
    engine: Engine, clock: Clock
) -> None:
    make_watch(engine, query="acme OR globex")
    source = ScriptedSource(
        FetchResult([make_fetched(external_id="1", text="acme")], {"mark": 1}),
        SourceError("HTTP 502"),
    )

    run_due_fetches(deps_with(engine, source, clock))

    row = cursor_row(engine)
    assert (row.cursor, row.failures) == ({}, 1)
    assert mentions(engine) == []  # stored next time, with the cursor, never half-way


def test_many_watches_are_fetched_concurrently_and_all_stored(engine: Engine, clock: Clock) -> None:
    for _ in range(12):
        make_watch(engine)

    class Echo(ScriptedSource):
        def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
            import threading

            ident = f"{threading.get_ident()}-{len(self.cursors_seen)}-{id(cursor)}"
            self.cursors_seen.append(cursor)
            return FetchResult([make_fetched(external_id=ident, text="acme")], {"n": 1})

    outcomes = run_due_fetches(deps_with(engine, Echo(), clock))

    assert len(outcomes) == 12 and all(o.error is None for o in outcomes)
    assert len(mentions(engine)) == 12


def test_a_small_customer_charged_twice_is_urgent_and_says_why(
    engine: Engine, clock: Clock
) -> None:
    make_watch(engine)
    text = "@acme you charged me twice this month, I need a refund. Anyone there?"
    author = FetchedAuthor(handle="tiny", followers=3)
    source = ScriptedSource(FetchResult([make_fetched(text=text, author=author)], {}))
    source.fetch_author = lambda handle: None  # type: ignore[method-assign]

    run_due_fetches(deps_with(engine, source, clock))

    (mention,) = mentions(engine)
    assert mention.priority is not None and mention.priority <= 2
    assert any("charged twice" in reason for reason in mention.priority_reasons)


def test_a_one_star_review_reads_negative_whatever_its_words(engine: Engine, clock: Clock) -> None:
    make_watch(engine, sources=["hackernews"])
    review = make_fetched(text="acme: great design, shame it crashes every day", rating=1)

    run_due_fetches(deps_with(engine, ScriptedSource(FetchResult([review], {})), clock))

    (mention,) = mentions(engine)
    assert (mention.sentiment_label, mention.rating) == ("negative", 1)
    assert mention.sentiment_polarity is not None and mention.sentiment_polarity < -0.5


def test_two_workers_share_the_due_fetches_without_fetching_any_twice(
    engine: Engine, clock: Clock
) -> None:
    import threading
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    for _ in range(6):
        make_watch(engine)
    calls: list[str] = []
    lock = threading.Lock()

    class Slow(ScriptedSource):
        def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
            with lock:
                calls.append(spec.query)
                n = len(calls)
            threading.Event().wait(0.05)
            return FetchResult([make_fetched(external_id=f"m{n}", text="acme")], {"n": n})

    source = Slow()
    workers = [replace(deps_with(engine, source, clock), worker_id=name) for name in ("w1", "w2")]
    barrier = threading.Barrier(2)

    def work(deps: Deps) -> list[FetchOutcome]:
        barrier.wait()
        return run_due_fetches(deps)

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = [o for result in pool.map(work, workers) for o in result]

    assert len(calls) == 6  # each watch fetched by exactly one worker
    assert len([o for o in outcomes if not o.skipped]) == 6
    assert len(mentions(engine)) == 6


def test_a_secret_in_a_fetch_error_is_masked_before_it_is_stored(
    engine: Engine, clock: Clock
) -> None:
    make_watch(engine)
    redirect = "redirected to https://api.stackexchange.com/2.3/search?key=s3cr3tKey&site=so"
    deps = deps_with(engine, ScriptedSource(SourceError(redirect)), clock)

    run_due_fetches(deps)

    stored = cursor_row(engine).last_error or ""
    assert "s3cr3tKey" not in stored
    assert "?key=[redacted]&site=so" in stored
