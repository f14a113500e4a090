"""Ingesting fetched posts: each stored once with one queued card, authors' metrics kept a day."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event
from sqlmodel import Session, col, func, select

from bot.services.authors import (
    AUTHOR_METRICS_TTL,
    author_needs_metrics,
    find_author,
    upsert_author,
)
from bot.services.cards import events_for
from bot.services.pipeline import ingest_mentions, posting_reason
from bot.services.query import parse_query
from bot.sources.base import FetchedAuthor, FetchedMention
from bot.store.db import session_scope
from bot.store.models import Author, Card, CardState, Mention, Watch
from tests.factories import NOW, make_fetched, make_watch


def ingest(
    engine: Engine,
    watch: Watch,
    fetched: list[FetchedMention],
    *,
    authors: dict[str, FetchedAuthor] | None = None,
    now: datetime = NOW,
) -> list[int]:
    """Ingest in one transaction; return the ids of the cards queued."""
    with session_scope(engine) as session:
        cards = ingest_mentions(
            fetched, watch=watch, authors=authors or {}, session=session, now=now
        )
    return [c.id for c in cards if c.id is not None]


def count(engine: Engine, table: type[Any]) -> int:
    with session_scope(engine) as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


def author(engine: Engine, handle: str = "kestrel") -> Author:
    with session_scope(engine) as session:
        found = find_author("hackernews", FetchedAuthor(handle=handle), session=session)
        assert found is not None
        return found


def test_each_new_post_is_stored_once_with_a_queued_card(engine: Engine) -> None:
    watch = make_watch(engine)
    posts = [make_fetched(external_id="1"), make_fetched(external_id="2")]

    queued = ingest(engine, watch, [posts[0], posts[1], posts[0]])

    assert len(queued) == 2
    assert (count(engine, Mention), count(engine, Card)) == (2, 2)
    with session_scope(engine) as session:
        for card_id in queued:
            card = session.get(Card, card_id)
            assert card is not None and card.state == CardState.QUEUED
            assert card.channel_id == watch.channel_id
            assert [e.kind for e in events_for(card_id, session=session)] == ["queued"]


def test_ingesting_the_same_posts_again_queues_nothing(engine: Engine) -> None:
    watch = make_watch(engine)
    posts = [make_fetched(external_id="1"), make_fetched(external_id="2")]
    ingest(engine, watch, posts)

    again = ingest(engine, watch, [*posts, make_fetched(external_id="3")])

    assert len(again) == 1  # only the post not seen before
    assert (count(engine, Mention), count(engine, Card)) == (3, 3)


def test_the_same_id_on_two_networks_is_two_posts(engine: Engine) -> None:
    watch = make_watch(engine)

    queued = ingest(
        engine,
        watch,
        [make_fetched(external_id="1"), make_fetched(external_id="1", network="reddit")],
    )

    assert len(queued) == 2


def test_a_post_another_worker_stores_first_is_skipped_not_queued_twice(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.services.pipeline")
    watch = make_watch(engine)
    posts = [make_fetched(external_id="1")]
    first = Session(engine, expire_on_commit=False)
    ingest_mentions(posts, watch=watch, authors={}, session=first, now=NOW)  # not committed yet
    second_thread: list[int] = []
    second_writes = threading.Event()

    def before_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.get_ident() in second_thread and statement.startswith(("INSERT", "UPDATE")):
            second_writes.set()

    def second_worker() -> list[int]:
        second_thread.append(threading.get_ident())
        return ingest(engine, watch, posts)

    event.listen(engine, "before_cursor_execute", before_execute)
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            second = pool.submit(second_worker)
            if engine.dialect.name != "sqlite":  # SQLite's BEGIN IMMEDIATE makes it wait
                # The second worker has looked for known posts and found none: the first commits.
                assert second_writes.wait(timeout=30)
            first.commit()
            queued_by_second = second.result(timeout=60)
    finally:
        event.remove(engine, "before_cursor_execute", before_execute)
        first.close()

    assert queued_by_second == []
    assert (count(engine, Mention), count(engine, Card), count(engine, Author)) == (1, 1, 1)
    if engine.dialect.name != "sqlite":
        assert "stored by someone else" in caplog.text  # the race happened, and was lost quietly


def test_a_rolled_back_ingest_leaves_no_mention_or_card_behind(engine: Engine) -> None:
    watch = make_watch(engine)
    ingest(engine, watch, [make_fetched(external_id="1")])  # the author is known from here on

    def ingest_then_fail() -> None:
        with session_scope(engine) as session:
            ingest_mentions(
                [make_fetched(external_id="2")], watch=watch, authors={}, session=session, now=NOW
            )
            raise RuntimeError("moving the cursor failed")

    with pytest.raises(RuntimeError, match="cursor"):
        ingest_then_fail()

    assert (count(engine, Mention), count(engine, Card)) == (1, 1)


def test_an_authors_metrics_are_trusted_for_a_day_after_they_were_fetched(
    sqlite_engine: Engine,
) -> None:
    watch = make_watch(sqlite_engine)
    fresh = FetchedAuthor(handle="kestrel", karma=5_000)
    ingest(sqlite_engine, watch, [make_fetched(external_id="1")], authors={"kestrel": fresh})
    fetched = author(sqlite_engine)

    assert author_needs_metrics(None, now=NOW)
    assert not author_needs_metrics(fetched, now=NOW + AUTHOR_METRICS_TTL)
    assert author_needs_metrics(fetched, now=NOW + AUTHOR_METRICS_TTL + timedelta(seconds=1))


def test_an_author_seen_again_without_a_lookup_keeps_their_numbers_and_their_age(
    sqlite_engine: Engine,
) -> None:
    watch = make_watch(sqlite_engine)
    fresh = FetchedAuthor(handle="kestrel", karma=5_000)
    ingest(sqlite_engine, watch, [make_fetched(external_id="1")], authors={"kestrel": fresh})
    before = author(sqlite_engine)
    later = NOW + timedelta(hours=23)

    ingest(sqlite_engine, watch, [make_fetched(external_id="2")], now=later)

    after = author(sqlite_engine)
    assert (after.karma, after.score) == (5_000, before.score)
    assert after.metrics_fetched_at == NOW  # a post's embedded author is not a lookup
    assert author_needs_metrics(after, now=NOW + AUTHOR_METRICS_TTL + timedelta(seconds=1))


def test_a_new_lookup_refreshes_the_numbers_and_restarts_the_day(sqlite_engine: Engine) -> None:
    later = NOW + AUTHOR_METRICS_TTL + timedelta(hours=1)
    with session_scope(sqlite_engine) as session:
        upsert_author(
            "hackernews",
            FetchedAuthor(handle="kestrel", karma=5_000),
            session=session,
            now=NOW,
            metrics_fresh=True,
        )
        upsert_author(
            "hackernews",
            FetchedAuthor(handle="kestrel", karma=90_000),
            session=session,
            now=later,
            metrics_fresh=True,
        )

    refreshed = author(sqlite_engine)
    assert (refreshed.karma, refreshed.metrics_fetched_at) == (90_000, later)
    assert not author_needs_metrics(refreshed, now=later + timedelta(hours=1))
    assert count(sqlite_engine, Author) == 1


# --- one card per watch's channel --------------------------------------------------------


def cards_of(engine: Engine) -> list[Card]:
    with session_scope(engine) as session:
        return list(session.exec(select(Card).order_by(col(Card.id))))


def test_a_mention_two_watches_match_gets_a_card_in_each_channel_saying_why(
    engine: Engine,
) -> None:
    support = make_watch(engine, query="acme", channel_id="C0SUPPORT")
    incidents = make_watch(engine, query="acme outage OR globex", channel_id="C0INCIDENTS")
    post = make_fetched(text="The Acme outage is in its second hour")

    first = ingest(engine, support, [post])
    second = ingest(engine, incidents, [post])

    assert len(first) == len(second) == 1
    assert count(engine, Mention) == 1  # stored once, shown in both channels
    by_channel = {c.channel_id: c for c in cards_of(engine)}
    assert by_channel["C0SUPPORT"].watch_id == support.id
    assert by_channel["C0SUPPORT"].reason == f"Matched watch #{support.id} `acme` on “acme”"
    assert by_channel["C0INCIDENTS"].watch_id == incidents.id
    assert by_channel["C0INCIDENTS"].reason == (
        f"Matched watch #{incidents.id} `acme outage OR globex` on “acme” “outage”"
    )


def test_the_same_watch_fetching_a_mention_again_queues_nothing(engine: Engine) -> None:
    watch = make_watch(engine, query="acme")
    ingest(engine, watch, [make_fetched()])

    assert ingest(engine, watch, [make_fetched()]) == []
    assert count(engine, Card) == 1


def test_a_second_watch_on_the_same_channel_adds_no_second_card(engine: Engine) -> None:
    first = make_watch(engine, query="acme", channel_id="C0SUPPORT")
    second = make_watch(engine, query="refund", channel_id="C0SUPPORT")
    ingest(engine, first, [make_fetched()])

    assert ingest(engine, second, [make_fetched()]) == []
    (card,) = cards_of(engine)
    assert card.watch_id == first.id


def test_a_card_another_worker_queued_in_the_channel_first_is_not_queued_twice(
    engine: Engine,
) -> None:
    support = make_watch(engine, channel_id="C0SUPPORT")
    incidents = make_watch(engine, channel_id="C0INCIDENTS")
    ingest(engine, support, [make_fetched()])
    with session_scope(engine) as session:
        (mention_id,) = session.exec(select(Mention.id)).all()
        # Another worker queues it in C0INCIDENTS after this one looked for cards there.
        session.add(Card(mention_id=mention_id or 0, channel_id="C0INCIDENTS", queued_at=NOW))

    assert ingest(engine, incidents, [make_fetched()]) == []
    assert count(engine, Card) == 2


def test_a_reason_fits_its_column_whatever_the_query() -> None:
    watch = Watch(id=3, query=" ".join(["acme"] * 30), channel_id="C0", created_at=NOW)
    terms = parse_query('"' + "x" * 480 + '" acme').alternatives[0]

    reason = posting_reason(watch, terms)

    assert len(reason) <= 500 and reason.endswith("…")
    assert posting_reason(watch, None).startswith("From watch #3 `acme acme")


def test_a_reply_keeps_its_conversations_title_and_its_page_normalised(engine: Engine) -> None:
    watch = make_watch(engine)
    reply = make_fetched(
        conversation_id="46618752",
        conversation_title="Acme raises $40M\u202e",
        link_url="HTTPS://www.Acme.dev/blog/series-b?utm_source=hn#top",
    )

    ingest(engine, watch, [reply])

    with session_scope(engine) as session:
        (mention,) = session.exec(select(Mention)).all()
    assert mention.conversation_title == "Acme raises $40M"
    assert mention.link_url == "https://www.acme.dev/blog/series-b"
