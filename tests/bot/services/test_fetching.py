"""Fetching on schedule: cursors move only with stored data; failures back off and are recorded."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from bot.services.deps import Deps
from bot.services.fetching import FETCH_LEASE, FetchOutcome, run_due_fetches
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


def test_one_failing_alternative_keeps_what_the_others_stored_and_their_cursors(
    engine: Engine, clock: Clock
) -> None:
    make_watch(engine, query="acme OR globex")
    source = ScriptedSource(
        FetchResult([make_fetched(external_id="1", text="acme")], {"mark": 1}),
        SourceError("HTTP 502"),
    )

    run_due_fetches(deps_with(engine, source, clock))

    row = cursor_row(engine)
    # The first search's mentions were stored with its cursor; the failed one starts over.
    assert (row.cursor, row.failures) == ({"by_query": {"acme": {"mark": 1}}}, 1)
    assert [m.external_id for m in mentions(engine)] == ["1"]


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


class Broken(ScriptedSource):
    """A source whose parsing trips on a malformed cursor: not a SourceError."""

    def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
        self.cursors_seen.append(cursor)
        raise ValueError("invalid literal for int() with base 10: 'abc'")


def test_any_error_in_a_fetch_is_a_recorded_failure_with_backoff_shown_in_health(
    engine: Engine, clock: Clock
) -> None:
    from bot.services.health import describe_health

    make_watch(engine, interval_s=300)
    source = Broken()
    deps = deps_with(engine, source, clock)

    for _ in range(3):
        (outcome,) = run_due_fetches(deps)
        clock.advance(seconds=3600)

    row = cursor_row(engine)
    assert outcome.error is not None and "ValueError" in outcome.error
    assert row.failures == 3 and row.last_error is not None
    assert row.last_error.startswith("ValueError: invalid literal")
    assert row.lease_owner is None  # given back: the next try needs no lease to run out
    assert row.next_due_at == clock.now - timedelta(seconds=3600) + timedelta(seconds=1200)
    with session_scope(engine) as session:
        (health,) = describe_health(session=session, sources={"hackernews": source}, now=clock.now)
    assert (health.state, health.flagged) == ("failing", True)
    assert "ValueError" in health.detail


def test_resuming_a_watch_ends_its_backoff_so_the_next_tick_fetches_it(
    engine: Engine, clock: Clock
) -> None:
    from bot.services.watches import set_watch_enabled

    watch = make_watch(engine, interval_s=300)
    source = ScriptedSource(
        RateLimited("429", retry_after_s=3600), FetchResult([make_fetched()], {"n": 1})
    )
    deps = deps_with(engine, source, clock)
    run_due_fetches(deps)
    assert run_due_fetches(deps) == []  # held back by the rate limit

    with session_scope(engine) as session:
        assert watch.id is not None
        set_watch_enabled(watch.id, True, session=session)
    (outcome,) = run_due_fetches(deps)

    assert (outcome.new_mentions, outcome.error) == (1, None)


def test_a_worker_dying_mid_fetch_keeps_the_batches_it_stored_and_frees_the_fetch_in_30_s(
    engine: Engine, clock: Clock
) -> None:
    from dataclasses import replace

    make_watch(engine)
    many = [make_fetched(external_id=str(n)) for n in range(60)]
    lookups: list[str] = []

    class DiesOnTheThirtiethAuthor(ScriptedSource):
        def fetch_author(self, handle: str) -> FetchedAuthor | None:
            lookups.append(handle)
            if len(lookups) == 30:
                raise SystemExit("killed")  # the process goes: nothing after this runs
            return FetchedAuthor(handle=handle, karma=10)

    authors = [
        make_fetched(external_id=str(n), author=FetchedAuthor(handle=f"a{n}")) for n in range(60)
    ]
    dying = replace(
        deps_with(engine, DiesOnTheThirtiethAuthor(FetchResult(authors, {"mark": 60})), clock),
        worker_id="dead",
    )
    with pytest.raises(SystemExit):
        run_due_fetches(dying)

    assert len(mentions(engine)) == 25  # the first batch was stored before the crash
    assert cursor_row(engine).cursor == {"by_query": {}}  # moved with the last batch only
    next_worker = replace(
        deps_with(engine, ScriptedSource(FetchResult(many, {"mark": 60})), clock),
        worker_id="next",
    )
    assert run_due_fetches(next_worker) == []  # still leased by the dead worker...
    clock.advance(seconds=FETCH_LEASE.total_seconds() + 1)
    (outcome,) = run_due_fetches(next_worker)  # ...for 30 seconds at most

    assert outcome.new_mentions == 35
    assert len(mentions(engine)) == 60
    assert cursor_row(engine).cursor == {"by_query": {"acme": {"mark": 60}}}


def test_a_running_fetch_renews_its_lease_so_no_other_worker_takes_it(
    engine: Engine, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    from dataclasses import replace

    from bot.services import fetching

    monkeypatch.setattr(fetching, "LEASE_RENEW_S", 0.01)
    make_watch(engine)
    in_fetch, finish = threading.Event(), threading.Event()

    class Slow(ScriptedSource):
        def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
            in_fetch.set()
            finish.wait(timeout=30)
            return FetchResult([make_fetched()], {"n": 1})

    first = replace(deps_with(engine, Slow(), clock), worker_id="first")
    second = replace(deps_with(engine, ScriptedSource(), clock), worker_id="second")
    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(run_due_fetches, first)
        assert in_fetch.wait(timeout=30)
        clock.advance(minutes=5)  # far past the lease it took
        renewed = clock.now + FETCH_LEASE
        for _ in range(3000):
            if cursor_row(engine).lease_expires_at == renewed:
                break
            threading.Event().wait(0.01)
        assert cursor_row(engine).lease_expires_at == renewed
        assert run_due_fetches(second) == []  # the live worker still holds it
        finish.set()
        (outcome,) = running.result(timeout=30)

    assert outcome.new_mentions == 1


def test_a_stopping_worker_gives_its_fetch_back_still_due(engine: Engine, clock: Clock) -> None:
    make_watch(engine)
    deps = deps_with(engine, ScriptedSource(FetchResult([make_fetched()], {"n": 1})), clock)
    deps.stopping.set()

    (outcome,) = run_due_fetches(deps)

    row = cursor_row(engine)
    assert outcome.error is not None and outcome.error.startswith("stopped")
    assert (row.lease_owner, row.failures, row.next_due_at) == (None, 0, None)


def test_a_slow_watch_does_not_hold_back_the_others(engine: Engine, clock: Clock) -> None:
    import threading

    from bot.services.fetching import Fetcher

    make_watch(engine, query="slowco")
    make_watch(engine, query="acme")
    release = threading.Event()

    class OneSlow(ScriptedSource):
        def fetch(self, spec: SearchSpec, cursor: dict[str, Any], *, now: datetime) -> FetchResult:
            if spec.query == "slowco":
                release.wait(timeout=60)
                return FetchResult([make_fetched(external_id="s", text="slowco")], {})
            return FetchResult([make_fetched(external_id="a", text="acme")], {})

    fetcher = Fetcher(deps_with(engine, OneSlow(), clock))
    try:
        started = fetcher.start_due()  # returns at once, the slow fetch still running
        assert len(started) == 2
        for _ in range(3000):
            if [m.external_id for m in mentions(engine)] == ["a"]:
                break
            threading.Event().wait(0.01)
        assert [m.external_id for m in mentions(engine)] == ["a"]
        assert fetcher.start_due() == []  # the slow one is not started twice
    finally:
        release.set()
        fetcher.shutdown()
    assert sorted(m.external_id for m in mentions(engine)) == ["a", "s"]


def test_a_nul_in_an_authors_name_costs_nothing_of_the_fetch(engine: Engine, clock: Clock) -> None:
    make_watch(engine)
    odd = FetchedAuthor(handle="nul\u0000guy")
    source = ScriptedSource(
        FetchResult([make_fetched(external_id="1"), make_fetched(external_id="2", author=odd)], {})
    )

    (outcome,) = run_due_fetches(deps_with(engine, source, clock))

    assert (outcome.new_mentions, outcome.error) == (2, None)
    assert "nulguy" in source.author_lookups
