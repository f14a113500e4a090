"""Thread keys: one spelling per page, one top card per conversation, however cards race."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from bot.services.pipeline import ingest_mentions
from bot.services.threads import (
    KEY_MAX_CHARS,
    TOP_LEVEL,
    WAIT,
    Placement,
    link_key,
    normalise_link,
    place_card,
    thread_keys,
)
from bot.sources.base import FetchedMention
from bot.store.db import session_scope
from bot.store.models import Card, CardState, Mention, ThreadKey
from tests.factories import NOW, make_fetched, make_watch

MAX_ATTEMPTS = 5


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("HTTPS://WWW.Acme.DEV/Blog/Series-B", "https://www.acme.dev/Blog/Series-B"),
        ("https://acme.dev/a#comments", "https://acme.dev/a"),
        (
            "https://acme.dev/a?utm_source=hn&id=3&UTM_Medium=x&utm_campaign=",
            "https://acme.dev/a?id=3",
        ),
        ("https://acme.dev/a?utm_source=rss", "https://acme.dev/a"),
        ("https://acme.dev", "https://acme.dev/"),
        ("https://acme.dev:443/a", "https://acme.dev/a"),
        ("http://acme.dev:80/a", "http://acme.dev/a"),
        ("http://acme.dev:8080/a", "http://acme.dev:8080/a"),
        ("https://user:secret@acme.dev/a", "https://acme.dev/a"),
        ("https://[2001:DB8::1]/a", "https://[2001:db8::1]/a"),
        ("  https://acme.dev/a?q=Acme%20Cloud  ", "https://acme.dev/a?q=Acme%20Cloud"),
        ("https://acme.dev/a?ref=hn&utm=1", "https://acme.dev/a?ref=hn&utm=1"),  # not utm_*
    ],
)
def test_a_link_is_normalised_to_one_spelling(raw: str, normalised: str) -> None:
    assert normalise_link(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "ftp://acme.dev/a",
        "javascript:alert(1)",
        "https://",
        "/relative/path",
        "https://[::1/a",
        "https://acme.dev/" + "a" * 2000,
    ],
)
def test_what_is_not_a_web_page_has_no_link(raw: str | None) -> None:
    assert normalise_link(raw) is None


def test_the_same_article_spelled_two_ways_gets_one_key() -> None:
    from_hn = normalise_link("https://www.acme.dev/blog/series-b")
    from_feed = normalise_link("HTTPS://www.acme.dev/blog/series-b?utm_source=alerts#top")

    assert from_hn is not None and link_key(from_hn) == link_key(from_feed or "")


def test_a_very_long_link_is_keyed_by_its_hash() -> None:
    url = "https://acme.dev/" + "a" * 1500

    key = link_key(url)

    assert len(key) <= KEY_MAX_CHARS
    assert key.startswith("link:sha256:") and key != link_key(url + "b")


def test_a_mention_brings_its_conversation_key_first_then_its_link() -> None:
    comment = Mention(
        network="hackernews",
        external_id="46621907",
        conversation_id="46618752",
        link_url="https://www.acme.dev/blog/series-b",
        url="https://news.ycombinator.com/item?id=46621907",
        text="",
        created_at=NOW,
        fetched_at=NOW,
    )
    toot = Mention(
        network="mastodon",
        external_id="https://fosstodon.example/users/lena/statuses/1",
        url="https://fosstodon.example/@lena/1",
        text="",
        created_at=NOW,
        fetched_at=NOW,
    )

    assert thread_keys(comment) == [
        "hackernews:46618752",
        "link:https://www.acme.dev/blog/series-b",
    ]
    # No conversation known: the post is its own.
    assert thread_keys(toot) == ["mastodon:https://fosstodon.example/users/lena/statuses/1"]


# --- placing cards ---------------------------------------------------------------------------


def queue(engine: Engine, *fetched: FetchedMention) -> list[int]:
    watch = make_watch(engine)
    with session_scope(engine) as session:
        cards = ingest_mentions(list(fetched), watch=watch, authors={}, session=session, now=NOW)
    return [c.id for c in cards if c.id is not None]


def comment(external_id: str, story: str = "500") -> FetchedMention:
    return make_fetched(external_id=external_id, conversation_id=story, parent_id=story)


def place(engine: Engine, card_id: int) -> Placement | None:
    with session_scope(engine) as session:
        return place_card(card_id, session=session, now=NOW, max_attempts=MAX_ATTEMPTS)


def mark_posted(engine: Engine, card_id: int, ts: str) -> None:
    with session_scope(engine) as session:
        card = session.get(Card, card_id)
        assert card is not None
        card.state, card.message_ts, card.thread_ts = CardState.POSTED, ts, ts
        session.add(card)


def keys_of(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return dict(session.exec(select(ThreadKey.key, ThreadKey.card_id)).all())


def test_the_first_card_placed_leads_and_the_next_waits_until_it_is_posted(
    engine: Engine,
) -> None:
    first, second = queue(engine, comment("501"), comment("502"))

    assert place(engine, second) == TOP_LEVEL  # priority may post any of them first
    assert place(engine, first) == WAIT
    mark_posted(engine, second, "1.0001")
    assert place(engine, first) == Placement(thread_ts="1.0001")
    assert keys_of(engine) == {"hackernews:500": second}


def test_a_card_placed_again_after_a_crash_still_leads(engine: Engine) -> None:
    (story,) = queue(engine, make_fetched(external_id="500", conversation_id="500"))

    assert place(engine, story) == TOP_LEVEL
    assert place(engine, story) == TOP_LEVEL  # its keys are its own


def test_a_joining_card_adds_its_link_so_the_same_page_finds_the_thread(
    engine: Engine,
) -> None:
    story, reply = queue(
        engine,
        make_fetched(external_id="500", conversation_id="500"),
        # A comment carries what its story links to.
        make_fetched(external_id="501", conversation_id="500", link_url="https://acme.dev/launch"),
    )
    (feed_entry,) = queue(
        engine,
        make_fetched(
            network="rss",
            external_id="urn:acme:1",
            link_url="https://acme.dev/launch?utm_source=alerts",
        ),
    )
    place(engine, story)
    mark_posted(engine, story, "1.0001")

    assert place(engine, reply) == Placement(thread_ts="1.0001")
    assert place(engine, feed_entry) == Placement(thread_ts="1.0001")
    assert keys_of(engine) == {
        "hackernews:500": story,
        "link:https://acme.dev/launch": story,
        "rss:urn:acme:1": story,
    }


def test_a_top_card_that_gave_up_hands_its_conversation_over(engine: Engine) -> None:
    first, second = queue(engine, comment("501"), comment("502"))
    place(engine, first)
    with session_scope(engine) as session:
        card = session.get(Card, first)
        assert card is not None
        card.post_attempts = MAX_ATTEMPTS  # Slack refused it every time
        session.add(card)

    assert place(engine, second) == TOP_LEVEL  # its replies don't wait forever
    assert keys_of(engine) == {"hackernews:500": second}


def test_a_top_card_being_posted_on_its_last_attempt_is_still_waited_for(
    engine: Engine,
) -> None:
    first, second = queue(engine, comment("501"), comment("502"))
    place(engine, first)
    with session_scope(engine) as session:
        card = session.get(Card, first)
        assert card is not None
        card.post_attempts = MAX_ATTEMPTS
        card.post_lease_until = NOW + timedelta(minutes=1)
        session.add(card)

    assert place(engine, second) == WAIT


def test_a_card_no_longer_queued_is_not_placed(engine: Engine) -> None:
    (story,) = queue(engine, make_fetched(external_id="500", conversation_id="500"))
    mark_posted(engine, story, "1.0001")

    assert place(engine, story) is None


def test_two_workers_placing_one_conversation_at_once_give_it_one_top_card(
    engine: Engine,
) -> None:
    cards = queue(engine, *(comment(str(501 + i)) for i in range(8)))
    barrier = threading.Barrier(len(cards))

    def racing(card_id: int) -> Placement | None:
        barrier.wait()
        return place(engine, card_id)

    with ThreadPoolExecutor(max_workers=len(cards)) as pool:
        placements = list(pool.map(racing, cards))

    assert placements.count(TOP_LEVEL) == 1
    assert placements.count(WAIT) == len(cards) - 1
    leader = cards[placements.index(TOP_LEVEL)]
    assert keys_of(engine) == {"hackernews:500": leader}
    with session_scope(engine) as session:
        threaded = session.exec(select(Card).where(col(Card.thread_ts).is_not(None))).all()
    assert threaded == []  # nothing is given a thread before its top card is posted
