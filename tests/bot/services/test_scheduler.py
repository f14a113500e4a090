"""The worker's clock: one pass reports what it did; the scheduler starts both chores at once."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.services.deps import Deps, utcnow
from bot.services.scheduler import (
    DIGEST_TICK_S,
    FETCH_TICK_S,
    HOME_TICK_S,
    POST_TICK_S,
    SLA_TICK_S,
    WAKE_TICK_S,
    build_scheduler,
    run_once,
)
from bot.slack.chat import SlackChat
from bot.sources.base import FetchResult
from tests.bot.services.test_fetching import ScriptedSource
from tests.conftest import Clock, make_settings
from tests.factories import CHANNEL, make_fetched, make_watch
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

START_TIMEOUT_S = 15


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack(token=TEST_TOKEN) as server:
        yield server


def deps_for(
    engine: Engine,
    fake: FakeSlack,
    source: ScriptedSource,
    clock: Callable[[], datetime] = utcnow,
) -> Deps:
    client = WebClient(token=TEST_TOKEN, base_url=fake.base_url, timeout=5)
    return Deps(
        make_settings(),
        engine,
        SlackChat(client),
        {"hackernews": source},
        clock=clock,
    )


def test_a_pass_counts_new_mentions_and_every_card_it_posted(
    sqlite_engine: Engine, fake: FakeSlack, clock: Clock
) -> None:
    make_watch(sqlite_engine, interval_s=60)
    first, second, third = (make_fetched(external_id=str(i)) for i in range(3))
    source = ScriptedSource(
        FetchResult([first, second], {}), FetchResult([first, second, third], {})
    )
    deps = deps_for(sqlite_engine, fake, source, clock)
    fake.fail_next("chat.postMessage", status=500, error="internal_error", times=2)

    assert run_once(deps) == (2, 0)  # stored, but Slack refused both cards
    clock.advance(seconds=60)
    assert run_once(deps) == (1, 3)  # one new mention; the two held back are posted too
    assert len(fake.messages(CHANNEL)) == 3


def test_a_pass_reminds_a_card_left_unclaimed_past_its_target(
    sqlite_engine: Engine, fake: FakeSlack, clock: Clock
) -> None:
    make_watch(sqlite_engine, interval_s=60)
    deps = deps_for(sqlite_engine, fake, ScriptedSource(FetchResult([make_fetched()], {})), clock)
    run_once(deps)
    (card,) = fake.messages(CHANNEL)

    clock.advance(days=1)  # past every priority's default target
    run_once(deps)
    run_once(deps)

    (reminder,) = fake.thread(CHANNEL, card["ts"])
    assert reminder["text"].startswith("⏰ Waiting 1 d, past the P")


def test_a_started_worker_fetches_and_posts_at_once(sqlite_engine: Engine, fake: FakeSlack) -> None:
    make_watch(sqlite_engine)
    source = ScriptedSource(FetchResult([make_fetched()], {}))
    scheduler = build_scheduler(deps_for(sqlite_engine, fake, source), blocking=False)

    scheduler.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not fake.messages(CHANNEL) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        scheduler.shutdown(wait=True)

    assert len(fake.messages(CHANNEL)) == 1
    assert len(source.cursors_seen) == 1


def test_each_chore_runs_on_its_tick_and_never_overlaps_itself(
    sqlite_engine: Engine, fake: FakeSlack
) -> None:
    deps = deps_for(sqlite_engine, fake, ScriptedSource())

    background = build_scheduler(deps, blocking=False)
    blocking = build_scheduler(deps, blocking=True)

    assert isinstance(background, BackgroundScheduler)
    assert isinstance(blocking, BlockingScheduler)
    jobs = {
        job.id: (job.trigger.interval.total_seconds(), job.max_instances, job.coalesce)
        for job in background.get_jobs()
    }
    assert jobs == {
        "fetch_due": (FETCH_TICK_S, 1, True),
        "post_pending": (POST_TICK_S, 1, True),
        "wake_snoozed": (WAKE_TICK_S, 1, True),
        "remind_overdue": (SLA_TICK_S, 1, True),
        "refresh_homes": (HOME_TICK_S, 1, True),
        "post_due_digests": (DIGEST_TICK_S, 1, True),
    }
