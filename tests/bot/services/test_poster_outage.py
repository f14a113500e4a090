"""Slack outages: stuck cards are told, a refused token stops posting, workers share a pace."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import Engine

from bot.services.health import STUCK_AFTER, slack_backlog
from bot.services.notices import open_notices
from bot.services.poster import PROBE_EVERY
from bot.store.db import session_scope
from tests.bot.services.test_poster import CHANNEL, poster_for, queue_cards
from tests.conftest import Clock
from tests.factories import NOW
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack


def status_lines(engine: Engine, clock: Clock) -> list[str]:
    with session_scope(engine) as session:
        return slack_backlog(session=session, now=clock.now).lines()


def test_cards_stuck_past_the_threshold_show_in_status_and_reach_admins_once(
    sqlite_engine: Engine,
) -> None:
    queue_cards(sqlite_engine, 12)
    clock = Clock(NOW)
    with FakeSlack(token=TEST_TOKEN) as fake:
        fake.fail_next("chat.postMessage", error="service_unavailable", status=503, times=9999)
        poster = poster_for(sqlite_engine, fake.base_url, [], clock, OVERHEARD_ADMINS="UBOSS")

        poster.post_pending()
        assert status_lines(sqlite_engine, clock) == ["Slack: ok, 12 cards waiting to post"]
        for _ in range(14):  # 14 minutes of a Slack outage
            clock.advance(minutes=1)
            poster.post_pending()

        (line,) = status_lines(sqlite_engine, clock)
        assert line == (
            "Slack: 12 cards waiting to post for 14 min, last error: service_unavailable"
        )
        with session_scope(sqlite_engine) as session:
            assert [n.key for n in open_notices(session=session)] == [f"cards_stuck:{CHANNEL}"]
        dms = [c for c in fake.calls_to("chat.postMessage") if c.args["channel"] == "UBOSS"]
        (dm,) = dms  # sent once, not every pass (Slack being down, it didn't arrive)
        assert "waited more than 10 minutes" in dm.args["text"]
    assert STUCK_AFTER.total_seconds() == 600


def test_a_refused_token_stops_all_posting_loudly_until_a_probe_gets_through(
    sqlite_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    queue_cards(sqlite_engine, 3)
    clock = Clock(NOW)
    with FakeSlack(token=TEST_TOKEN) as fake:
        fake.fail_next("chat.postMessage", status=200, error="token_revoked", times=2)
        poster = poster_for(sqlite_engine, fake.base_url, [], clock)

        first = poster.post_pending()
        for _ in range(10):
            clock.advance(seconds=2)
            with caplog.at_level(logging.ERROR):
                later = poster.post_pending()

        assert first.stopped == later.stopped == "token_revoked"
        assert len(fake.calls_to("chat.postMessage")) == 1  # nothing hammers a dead token
        assert "Slack refuses overheard's token (token_revoked)" in caplog.text
        (line,) = status_lines(sqlite_engine, clock)
        assert line.startswith("Slack: posting stopped since just now: Slack refuses overheard")

        clock.advance(seconds=PROBE_EVERY.total_seconds())
        poster.post_pending()  # the probe: refused again
        assert len(fake.calls_to("chat.postMessage")) == 2
        clock.advance(seconds=PROBE_EVERY.total_seconds())
        probe = poster.post_pending()  # the token works again: one card, then the rest
        rest = poster.post_pending()

        assert (len(probe.posted), len(rest.posted)) == (1, 2)
        assert len(fake.messages(CHANNEL)) == 3
    assert status_lines(sqlite_engine, clock) == ["Slack: ok, 0 cards waiting to post"]


def test_two_workers_keep_one_pace_per_channel_between_them(sqlite_engine: Engine) -> None:
    queue_cards(sqlite_engine, 2)
    clock = Clock(NOW)
    sleeps: dict[str, list[float]] = {"a": [], "b": []}
    with FakeSlack(token=TEST_TOKEN) as fake:
        a, b = (
            poster_for(sqlite_engine, fake.base_url, sleeps[n], clock, OVERHEARD_POST_INTERVAL_S=1)
            for n in "ab"
        )

        assert len(a.post_pending(limit=1).posted) == 1
        assert len(b.post_pending(limit=1).posted) == 1

    assert (sleeps["a"], sleeps["b"]) == ([], [1.0])  # b waited for a's second to pass
