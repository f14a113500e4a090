"""The outbox: a card that can't be posted stays queued, with its error, and nothing is lost."""

from __future__ import annotations

import itertools
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.services.cards import load_card
from bot.services.deps import Deps
from bot.services.pipeline import ingest_mentions
from bot.services.poster import BACKOFF_FIRST_S, POST_LEASE, Poster
from bot.services.threads import Placement, place_card
from bot.slack.chat import SlackChat
from bot.store.db import session_scope
from bot.store.models import CardState
from tests.conftest import Clock, make_settings
from tests.factories import NOW, get_card, make_fetched, make_watch
from tests.fakes.slack_api import TEST_TOKEN, FakeSlack

CHANNEL = "C0SUPPORT"
# Before issue 12 a card was given up after this many failed posts.
MAX_OLD_ATTEMPTS = 5


def queue_cards(engine: Engine, count: int) -> list[int]:
    watch = make_watch(engine, channel_id=CHANNEL)
    fetched = [make_fetched(external_id=str(i)) for i in range(count)]
    with session_scope(engine) as session:
        queued = ingest_mentions(fetched, watch=watch, authors={}, session=session, now=NOW)
    return [c.id for c in queued if c.id is not None]


def poster_for(
    engine: Engine,
    base_url: str,
    sleeps: list[float],
    clock: Clock | None = None,
    *,
    kind: type[Poster] = Poster,
    **settings: object,
) -> Poster:
    client = WebClient(token=TEST_TOKEN, base_url=base_url, timeout=5)
    clock = clock or Clock(NOW)

    def sleep(seconds: float) -> None:  # time passes while a poster waits
        sleeps.append(seconds)
        clock.advance(seconds=seconds)

    deps = Deps(make_settings(**settings), engine, SlackChat(client), {}, clock=clock, sleep=sleep)
    return kind(deps)


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_slack_leaves_cards_queued_with_the_reason(sqlite_engine: Engine) -> None:
    (cid,) = queue_cards(sqlite_engine, 1)
    poster = poster_for(sqlite_engine, f"http://127.0.0.1:{unused_port()}/api/", [])

    report = poster.post_pending()

    assert report.posted == []
    row = get_card(sqlite_engine, cid)
    assert row.state == CardState.QUEUED
    assert row.last_post_error is not None and row.last_post_error.startswith("connection")
    assert row.post_attempts == 1


def test_cards_in_one_channel_are_paced_one_per_interval(sqlite_engine: Engine) -> None:
    queue_cards(sqlite_engine, 3)
    sleeps: list[float] = []
    with FakeSlack(token=TEST_TOKEN) as fake:
        poster = poster_for(sqlite_engine, fake.base_url, sleeps, OVERHEARD_POST_INTERVAL_S=1.0)

        report = poster.post_pending()

        assert len(report.posted) == len(fake.messages(CHANNEL)) == 3
    assert len(sleeps) == 2  # before the second and the third card
    assert all(0.5 < s <= 1.0 for s in sleeps)


def test_a_long_retry_after_holds_the_channel_until_it_has_passed(
    sqlite_engine: Engine, clock: Clock
) -> None:
    queue_cards(sqlite_engine, 3)
    sleeps: list[float] = []
    with FakeSlack(token=TEST_TOKEN) as fake:
        fake.fail_next("chat.postMessage", status=429, retry_after=120)
        poster = poster_for(sqlite_engine, fake.base_url, sleeps, clock)

        first = poster.post_pending()
        clock.advance(seconds=60)
        too_soon = poster.post_pending()
        tried_too_soon = len(fake.calls_to("chat.postMessage")) > 1
        clock.advance(seconds=60)
        after = poster.post_pending()

        assert first.posted == [] and first.deferred_channels == {CHANNEL}
        assert too_soon.posted == []
        assert not tried_too_soon
        assert 120 not in sleeps  # a long wait is not slept inline; the cards wait their turn
        assert len(after.posted) == len(fake.messages(CHANNEL)) == 3


def test_a_slack_outage_loses_no_card_and_each_is_posted_once_when_slack_is_back(
    sqlite_engine: Engine, clock: Clock
) -> None:
    cards = queue_cards(sqlite_engine, 3)
    with FakeSlack(token=TEST_TOKEN) as fake:
        fake.fail_next("chat.postMessage", error="service_unavailable", status=503, times=15)
        poster = poster_for(sqlite_engine, fake.base_url, [], clock)

        for _ in range(10):  # 20 s of passes, 2 s apart, while Slack is down
            poster.post_pending()
            clock.advance(seconds=2)
        in_the_outage = len(fake.calls_to("chat.postMessage"))
        for _ in range(120):  # Slack is back; the poster keeps going for up to 10 min
            if len(poster.post_pending().posted) == 0 and len(fake.messages(CHANNEL)) == 3:
                break
            clock.advance(seconds=5)

        assert in_the_outage < 15  # backed off, instead of spending 5 tries each in 8 s
        assert sorted(
            m["metadata"]["event_payload"]["card_id"] for m in fake.messages(CHANNEL)
        ) == (sorted(cards))
    assert {get_card(sqlite_engine, c).state for c in cards} == {CardState.POSTED}


def test_a_card_is_tried_again_later_and_later_and_never_given_up(
    sqlite_engine: Engine, clock: Clock
) -> None:
    (cid,) = queue_cards(sqlite_engine, 1)
    with FakeSlack(token=TEST_TOKEN) as fake:
        fake.fail_next("chat.postMessage", error="internal_error", status=500, times=999)
        poster = poster_for(sqlite_engine, fake.base_url, [], clock)

        tried_at = []
        for _ in range(6 * 60):  # six hours of passes, one a minute
            before = len(fake.calls_to("chat.postMessage"))
            poster.post_pending()
            if len(fake.calls_to("chat.postMessage")) > before:
                tried_at.append(clock.now)
            clock.advance(seconds=60)

    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(tried_at)]
    assert len(tried_at) > MAX_OLD_ATTEMPTS  # still trying after the old limit of 5
    assert gaps[-1] >= 2700  # about an hour apart by now, not every 2 s
    assert max(gaps) <= 3600 + 60  # but never more than an hour (and a pass)
    row = get_card(sqlite_engine, cid)
    assert (row.state, row.last_post_error) == (CardState.QUEUED, "internal_error")


def test_a_rate_limit_spends_no_attempt(sqlite_engine: Engine, clock: Clock) -> None:
    (cid,) = queue_cards(sqlite_engine, 1)
    with FakeSlack(token=TEST_TOKEN) as fake:
        fake.fail_next("chat.postMessage", status=429, retry_after=120, times=10)
        poster = poster_for(sqlite_engine, fake.base_url, [], clock)

        for _ in range(10):
            poster.post_pending()
            clock.advance(seconds=121)

        assert len(fake.calls_to("chat.postMessage")) == 10
        assert get_card(sqlite_engine, cid).post_attempts == 0
        assert get_card(sqlite_engine, cid).retry_at is None  # no backoff: Retry-After decides
        poster.post_pending()
        assert len(fake.messages(CHANNEL)) == 1


def test_two_workers_draining_one_outbox_post_each_card_once(engine: Engine) -> None:
    queue_cards(engine, 12)
    with FakeSlack(token=TEST_TOKEN) as fake:
        posters = [poster_for(engine, fake.base_url, []) for _ in range(2)]
        barrier = threading.Barrier(2)

        def drain(poster: Poster) -> list[int]:
            barrier.wait()
            return poster.post_pending().posted

        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(drain, posters))

        assert sorted(results[0] + results[1]) == sorted(set(results[0] + results[1]))
        assert len(fake.messages(CHANNEL)) == 12  # every card once, none twice


def test_a_card_held_by_a_crashed_poster_is_posted_after_its_lease(
    sqlite_engine: Engine, clock: Clock
) -> None:
    (cid,) = queue_cards(sqlite_engine, 1)
    with FakeSlack(token=TEST_TOKEN) as fake:
        crashed = poster_for(sqlite_engine, fake.base_url, [], clock)
        assert crashed._take(cid, now=clock.now)  # took it, then died before posting
        survivor = poster_for(sqlite_engine, fake.base_url, [], clock)

        assert survivor.post_pending().posted == []
        clock.advance(seconds=POST_LEASE.total_seconds() + 1)
        assert survivor.post_pending().posted == [cid]
        assert len(fake.messages(CHANNEL)) == 1


def test_a_card_posted_just_before_a_crash_is_adopted_not_posted_twice(
    sqlite_engine: Engine, clock: Clock
) -> None:
    (cid,) = queue_cards(sqlite_engine, 1)
    with FakeSlack(token=TEST_TOKEN) as fake:
        crashed = poster_for(sqlite_engine, fake.base_url, [], clock)
        assert crashed._take(cid, now=clock.now)
        with session_scope(sqlite_engine) as session:
            view = load_card(cid, session=session)
        posted_ts = crashed.deps.chat.post_card(view)
        # ...and the database never heard about it.
        clock.advance(seconds=POST_LEASE.total_seconds() + 1)

        survivor = poster_for(sqlite_engine, fake.base_url, [], clock)
        assert survivor.post_pending().posted == [cid]

        assert len(fake.messages(CHANNEL)) == 1
    row = get_card(sqlite_engine, cid)
    assert (row.state, row.message_ts) == (CardState.POSTED, posted_ts)


def test_a_card_that_failed_once_and_then_crashed_mid_post_is_adopted_not_posted_twice(
    sqlite_engine: Engine, clock: Clock
) -> None:
    (cid,) = queue_cards(sqlite_engine, 1)
    with FakeSlack(token=TEST_TOKEN) as fake:
        poster = poster_for(sqlite_engine, fake.base_url, [], clock)
        fake.fail_next("chat.postMessage", error="internal_error", status=500)
        assert poster.post_pending().posted == []  # a first attempt Slack refused
        assert get_card(sqlite_engine, cid).last_post_error is not None
        clock.advance(hours=1)  # past its backoff
        crashed = poster_for(sqlite_engine, fake.base_url, [], clock)
        assert crashed._take(cid, now=clock.now)
        with session_scope(sqlite_engine) as session:
            view = load_card(cid, session=session)
        posted_ts = crashed.deps.chat.post_card(view)  # Slack has it; the worker dies here
        clock.advance(seconds=POST_LEASE.total_seconds() + 1)

        survivor = poster_for(sqlite_engine, fake.base_url, [], clock)
        assert survivor.post_pending().posted == [cid]

        assert len([m for m in fake.messages(CHANNEL) if m.get("metadata")]) == 1
    assert get_card(sqlite_engine, cid).message_ts == posted_ts


def test_when_history_cannot_be_read_the_card_is_posted_again_rather_than_lost(
    sqlite_engine: Engine, clock: Clock
) -> None:
    (cid,) = queue_cards(sqlite_engine, 1)
    with FakeSlack(token=TEST_TOKEN) as fake:
        crashed = poster_for(sqlite_engine, fake.base_url, [], clock)
        assert crashed._take(cid, now=clock.now)
        clock.advance(seconds=POST_LEASE.total_seconds() + 1)
        fake.fail_next("conversations.history", status=200, error="missing_scope")

        survivor = poster_for(sqlite_engine, fake.base_url, [], clock)

        assert survivor.post_pending().posted == [cid]
        assert len(fake.messages(CHANNEL)) == 1


# --- conversations -------------------------------------------------------------------------


def queue_conversation(engine: Engine, replies: int, *, urgent: str | None = None) -> list[int]:
    """Queue a story and its comments (one of them `urgent` if given); return their card ids."""
    watch = make_watch(engine, channel_id=CHANNEL)
    story = make_fetched(
        external_id="500",
        conversation_id="500",
        title="Show HN: Acme Cloud 2.0",
        text="Acme Cloud 2.0 is out",
        created_at=NOW - timedelta(hours=1),
    )
    comments = [
        make_fetched(
            external_id=str(501 + i),
            conversation_id="500",
            parent_id="500",
            conversation_title="Show HN: Acme Cloud 2.0",
            text=urgent if urgent and i == replies - 1 else f"Acme looks neat, take {i}",
            created_at=NOW - timedelta(minutes=50 - i),
        )
        for i in range(replies)
    ]
    with session_scope(engine) as session:
        queued = ingest_mentions(
            [story, *comments], watch=watch, authors={}, session=session, now=NOW
        )
    return [c.id for c in queued if c.id is not None]


def top_level(fake: FakeSlack) -> list[dict[str, Any]]:
    """Messages that start a thread of their own (broadcast replies are copies, not tops)."""
    return [m for m in fake.messages(CHANNEL) if m.get("thread_ts") in (None, m["ts"])]


class ReversedPoster(Poster):
    """A worker that happens to see the outbox in the opposite order."""

    def pending(self, limit: int) -> list[tuple[int, str]]:
        return list(reversed(super().pending(limit)))


def test_replies_wait_for_their_top_card_without_spending_an_attempt(
    sqlite_engine: Engine, clock: Clock
) -> None:
    story, *replies = queue_conversation(sqlite_engine, 2)
    with FakeSlack(token=TEST_TOKEN) as fake:
        fake.fail_next("chat.postMessage", status=200, error="fatal_error")
        poster = poster_for(sqlite_engine, fake.base_url, [], clock)

        first = poster.post_pending()

        assert first.failed == {story: "fatal_error"}
        assert sorted(first.waiting) == sorted(replies)
        assert [get_card(sqlite_engine, r).post_attempts for r in replies] == [0, 0]

        clock.advance(seconds=BACKOFF_FIRST_S)
        second = poster.post_pending()

        assert second.posted == [story, *replies]
        (top,) = top_level(fake)
        assert len(fake.thread(CHANNEL, top["ts"])) == 2


def test_an_urgent_reply_posted_first_leads_and_its_story_joins_its_thread(
    sqlite_engine: Engine,
) -> None:
    story, _calm, urgent = queue_conversation(
        sqlite_engine, 2, urgent="Acme charged me twice and I need a refund"
    )
    with FakeSlack(token=TEST_TOKEN) as fake:
        report = poster_for(sqlite_engine, fake.base_url, []).post_pending()

        assert report.posted[0] == urgent  # priority first
        (top,) = top_level(fake)
        assert "refund" in json.dumps(top["blocks"])
        assert "Show HN: Acme Cloud 2.0" in json.dumps(top["blocks"])  # titled by its story
        assert len(fake.thread(CHANNEL, top["ts"])) == 2  # the story and the other comment
        assert report.updated == [urgent]  # re-sent once, with its replies counted
        assert "💬 2 replies" in json.dumps(top["blocks"], ensure_ascii=False)
    assert get_card(sqlite_engine, story).thread_ts == top["ts"]


def test_two_workers_posting_one_conversation_give_it_one_top_card(engine: Engine) -> None:
    cards = queue_conversation(engine, 7)
    with FakeSlack(token=TEST_TOKEN) as fake:
        posters = [
            poster_for(engine, fake.base_url, []),
            poster_for(engine, fake.base_url, [], kind=ReversedPoster),
        ]
        barrier = threading.Barrier(2)

        def drain(poster: Poster) -> list[int]:
            barrier.wait()
            return poster.post_pending().posted

        with ThreadPoolExecutor(max_workers=2) as pool:
            posted = [card for result in pool.map(drain, posters) for card in result]
        posted += posters[0].post_pending().posted  # replies that waited for their top card

        assert sorted(posted) == sorted(cards)  # each once
        (top,) = top_level(fake)
        assert len(fake.thread(CHANNEL, top["ts"])) == len(cards) - 1
        assert f"💬 {len(cards) - 1} replies" in json.dumps(top["blocks"], ensure_ascii=False)


def test_a_reply_posted_just_before_a_crash_is_adopted_not_posted_twice_in_its_thread(
    sqlite_engine: Engine, clock: Clock
) -> None:
    (story,) = queue_conversation(sqlite_engine, 0)
    with FakeSlack(token=TEST_TOKEN) as fake:
        crashed = poster_for(sqlite_engine, fake.base_url, [], clock)
        assert crashed.post_pending().posted == [story]
        (top,) = top_level(fake)
        comment = make_fetched(external_id="501", conversation_id="500", parent_id="500")
        with session_scope(sqlite_engine) as session:  # a comment of that story arrives
            (card,) = ingest_mentions(
                [comment], watch=make_watch(sqlite_engine), authors={}, session=session, now=NOW
            )
        reply = card.id or 0
        with session_scope(sqlite_engine) as session:
            placement = place_card(
                reply, session=session, now=clock.now, max_attempts=MAX_OLD_ATTEMPTS
            )
            assert placement == Placement(thread_ts=top["ts"])
        assert crashed._take(reply, now=clock.now)
        with session_scope(sqlite_engine) as session:
            view = load_card(reply, session=session)
        posted_ts = crashed.deps.chat.post_card(view, thread_ts=top["ts"])
        # ...and the database never heard about it.
        clock.advance(seconds=POST_LEASE.total_seconds() + 1)

        survivor = poster_for(sqlite_engine, fake.base_url, [], clock)
        assert survivor.post_pending().posted == [reply]

        assert len(fake.thread(CHANNEL, top["ts"])) == 1
        assert fake.calls_to("conversations.replies")  # looked for it in the thread
    row = get_card(sqlite_engine, reply)
    assert (row.state, row.message_ts, row.thread_ts) == (CardState.POSTED, posted_ts, top["ts"])


def test_a_reply_ahead_of_its_top_card_in_the_queue_follows_it_in_the_same_pass(
    sqlite_engine: Engine, clock: Clock
) -> None:
    (story,) = queue_conversation(sqlite_engine, 0)
    with FakeSlack(token=TEST_TOKEN) as fake:
        fake.fail_next("chat.postMessage", status=200, error="fatal_error")
        poster = poster_for(sqlite_engine, fake.base_url, [], clock)
        assert poster.post_pending().failed == {story: "fatal_error"}  # it leads all the same
        urgent = make_fetched(
            external_id="501",
            conversation_id="500",
            parent_id="500",
            text="Acme charged me twice and I need a refund",
        )
        with session_scope(sqlite_engine) as session:
            (card,) = ingest_mentions(
                [urgent], watch=make_watch(sqlite_engine), authors={}, session=session, now=NOW
            )

        clock.advance(seconds=BACKOFF_FIRST_S)
        report = poster.post_pending()  # the urgent reply comes first, and waits

        assert report.posted == [story, card.id]
        assert report.waiting == []
        (top,) = top_level(fake)
        (reply,) = fake.thread(CHANNEL, top["ts"])
        assert "refund" in json.dumps(reply["blocks"])
        assert len(fake.messages(CHANNEL)) == 2  # the urgent reply is broadcast too
